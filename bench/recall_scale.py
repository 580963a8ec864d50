"""Warm recall over many messages: memcli's stages against numpy and sqlite-vec.

    python bench/recall_scale.py --messages 100000 [--queries 200] [--db PATH]

Builds a database of N synthetic messages (bench/corpus.py) with
`--no-embed`, then gives each message a vector: the real embedding of one of
a pool of 4,000 distinct texts plus seeded noise (renormalised), written
through memcli's own vector store. Queries are real LoCoMo questions,
embedded once up front (query embedding is excluded from all timings).

Reports p50/p95 of numpy brute force over the queried resource's vectors
and over all of them, sqlite-vec's vec0 KNN in the resource's partition,
memcli's vector stage (sign-bit segments + int8 rescoring) as a new
process's first search (segments read from SQLite) and with its segments
cached, its keyword stage and its whole hybrid recall (segments read from
SQLite); and the
vector stage's recall@10/@100 against exact float search. One run, so the
ratios compare like with like.
"""

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import locomo_questions, locomo_turns, messages  # noqa: E402

from memcli import Memory, embeddings  # noqa: E402
from memcli.recall import RecallOptions, query_terms  # noqa: E402
from memcli.records import Filters  # noqa: E402
from memcli.store.vectors import ChunkVector  # noqa: E402


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def build(db: Path, n: int, embedder, resources: int) -> Memory:
    mem = Memory(db, embedder=embedder)
    lines = "".join(json.dumps(m) + "\n" for m in messages(n, resources=resources)).encode()
    t = time.perf_counter()
    mem.import_stream(io.BytesIO(lines), embed=False)
    print(f"imported {n:,} messages (--no-embed) in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    pool_texts = locomo_turns()[:4000]
    pool = embedder.embed(pool_texts)
    rng = np.random.default_rng(7)
    rows = mem.store.conn.execute("SELECT rowid, resource_id FROM messages ORDER BY rowid").fetchall()
    t = time.perf_counter()
    with mem.store.transaction():
        mem.store.vectors.ensure(embedder.name, embedder.dim)
        for start in range(0, len(rows), 10000):
            part = rows[start : start + 10000]
            base = pool[rng.integers(0, len(pool), len(part))]
            vecs = base + rng.normal(0, 0.02, base.shape).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            mem.store.vectors.add(
                [
                    ChunkVector(rowid, 0, f"h{rowid}", resource, vec.astype(np.float32).tobytes())
                    for (rowid, resource), vec in zip(part, vecs)
                ]
            )
    print(f"wrote {len(rows):,} vectors in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    return mem


def _floats(conn, where: str = "", params=()) -> tuple[np.ndarray, np.ndarray]:
    """(message rowids, float32 matrix) straight from the vec0 table, for the numpy floor."""
    rowids, blobs = [], []
    cur = conn.cursor()
    cur.row_factory = None
    for rowid, blob in cur.execute(
        "SELECT c.message_rowid, v.embedding FROM vec_floats v JOIN chunks c ON c.id = v.rowid "
        f"JOIN messages m ON m.rowid = c.message_rowid {where}",
        params,
    ):
        rowids.append(rowid)
        blobs.append(blob)
    matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)
    return np.array(rowids, dtype=np.int64), matrix


def _top(matrix: np.ndarray, vec: np.ndarray, k: int) -> np.ndarray:
    sims = matrix @ vec
    top = np.argpartition(-sims, k)[:k]
    return top[np.argsort(-sims[top])]


STAGES = (
    "numpy (resource)",
    "numpy (all)",
    "sqlite-vec vec0 KNN (whole table)",
    "memcli vector stage",
    "memcli vector stage, segments cached",
    "memcli keyword stage",
    "memcli hybrid recall",
)


def measure(n: int, queries: int, resources: int, db: Path | None, embedder, vec0_queries: int = 20) -> dict:
    """p50/p95 seconds per stage for one database size, and recall against exact search.

    The numpy floors hold the float32 vectors in memory (as a process that
    keeps them would); memcli reads its segments from SQLite on every query.
    sqlite-vec's own KNN runs on the first `vec0_queries` queries only (it
    is the slow line).
    """
    with tempfile.TemporaryDirectory() as tmp:
        db = db or Path(tmp) / "scale.db"
        mem = Memory(db, embedder=embedder) if db.exists() else build(db, n, embedder, resources)
        conn = mem.store.conn
        count = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        questions = locomo_questions()[:queries]
        qvecs = np.asarray(embedder.embed(questions), dtype=np.float32)
        resource = "user0"
        own_rowids, own = _floats(conn, "WHERE m.resource_id = ?", [resource])
        _, everything = _floats(conn)
        timings = {k: [] for k in STAGES}
        found10, found100 = [], []
        where = Filters(resource_id=resource)
        options = RecallOptions(top_k=10, message_range=0)
        for i, (q, vec) in enumerate(zip(questions, qvecs)):
            qb = vec.tobytes()
            t = time.perf_counter()
            exact = _top(own, vec, 100)
            timings["numpy (resource)"].append(time.perf_counter() - t)
            t = time.perf_counter()
            _top(everything, vec, 100)
            timings["numpy (all)"].append(time.perf_counter() - t)
            if i < vec0_queries:
                t = time.perf_counter()
                conn.execute(
                    "SELECT rowid, distance FROM vec_floats WHERE embedding MATCH ? AND k = 100",
                    [qb],
                ).fetchall()
                timings["sqlite-vec vec0 KNN (whole table)"].append(time.perf_counter() - t)
            # as the first search of a new process: segments read from SQLite
            mem.store.vectors._cache.clear()
            t = time.perf_counter()
            got = mem.store.vectors.search(qb, where, 100)
            timings["memcli vector stage"].append(time.perf_counter() - t)
            # as a long-lived process (chat, mcp, --batch): segments already in memory
            t = time.perf_counter()
            mem.store.vectors.search(qb, where, 100)
            timings["memcli vector stage, segments cached"].append(time.perf_counter() - t)
            t = time.perf_counter()
            mem.store.keyword.search(query_terms(q), where, 100)
            timings["memcli keyword stage"].append(time.perf_counter() - t)
            mem.store.vectors._cache.clear()
            t = time.perf_counter()
            mem._recall_engine.recall(q, where, options, qb)
            timings["memcli hybrid recall"].append(time.perf_counter() - t)
            truth = own_rowids[exact]
            got_ids = [r for r, _ in got]
            found10.append(len(set(got_ids[:10]) & set(truth[:10].tolist())) / 10)
            found100.append(len(set(got_ids) & set(truth.tolist())) / 100)
        mem.close()
    return {
        "messages": count,
        "resource_vectors": len(own_rowids),
        "queries": len(questions),
        "recall@10": float(np.mean(found10)),
        "recall@100": float(np.mean(found100)),
        "stages": {k: {"p50": statistics.median(v), "p95": pct(v, 95)} for k, v in timings.items() if v},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--resources", type=int, default=10)
    ap.add_argument("--db", help="reuse or keep the database here")
    args = ap.parse_args()
    embedder = embeddings.load()
    result = measure(
        args.messages, args.queries, args.resources, Path(args.db) if args.db else None, embedder
    )
    print_table(result, args.resources)


def print_table(result: dict, resources: int = 10) -> None:
    own = result["stages"]["numpy (resource)"]["p50"]
    everything = result["stages"]["numpy (all)"]["p50"]
    print(
        f"\n{result['messages']:,} messages, {resources} resources ({result['resource_vectors']:,} vectors "
        f"in the queried one), {result['queries']} queries, 384 dims; memcli vector stage recall against "
        f"exact float search: @10 {result['recall@10']:.3f}, @100 {result['recall@100']:.3f}\n"
    )
    print("| stage | p50 ms | p95 ms | × numpy (all) p50 | × numpy (resource) p50 |")
    print("| --- | --- | --- | --- | --- |")
    for name, v in result["stages"].items():
        print(
            f"| {name} | {v['p50'] * 1000:.2f} | {v['p95'] * 1000:.2f} | {v['p50'] / everything:.2f} "
            f"| {v['p50'] / own:.2f} |"
        )


if __name__ == "__main__":
    main()
