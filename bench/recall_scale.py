"""Warm recall over many messages: memcli's stages against numpy brute force.

    python bench/recall_scale.py --messages 100000 [--queries 200]

Builds a database of N synthetic messages (bench/corpus.py) with
`--no-embed`, then gives each message a vector: the real embedding of one of
a pool of 4,000 distinct texts plus seeded noise (renormalised), written
through memcli's own vector store. Queries are real LoCoMo questions,
embedded once up front (query embedding is excluded from all timings).

Reports p50/p95 of: memcli's vector stage (sqlite-vec KNN in the resource's
partition), memcli's whole hybrid recall (keyword + vector + fusion +
neighbours, Memory's Recaller), numpy brute-force cosine over the same
resource's vectors, and sqlite-vec over the whole table; the ratios are
measured in this one run.
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
from memcli.recall import RecallOptions  # noqa: E402
from memcli.records import Filters  # noqa: E402
from memcli.store.vectors import ChunkVector  # noqa: E402


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def build(db: Path, n: int, embedder, resources: int) -> Memory:
    mem = Memory(db, embedder=embedder)
    lines = "".join(json.dumps(m) + "\n" for m in messages(n, resources=resources)).encode()
    t = time.perf_counter()
    mem.import_jsonl(io.BytesIO(lines), embed=False, batch_size=5000)
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


def measure(n: int, queries: int, resources: int, db: Path | None, embedder) -> dict:
    """p50/p95 seconds per stage for one database size."""
    with tempfile.TemporaryDirectory() as tmp:
        db = db or Path(tmp) / "scale.db"
        mem = Memory(db, embedder=embedder) if db.exists() else build(db, n, embedder, resources)
        count = mem.store.conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        questions = locomo_questions()[:queries]
        qvecs = embedder.embed(questions)
        resource = "user0"
        # numpy floor: the resource's vectors in memory, brute-force cosine
        rows = mem.store.conn.execute(
            "SELECT c.message_rowid, v.embedding FROM vec_chunks v JOIN chunks c ON c.id = v.rowid "
            "WHERE v.resource_id = ?",
            [resource],
        ).fetchall()
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        all_rows = mem.store.conn.execute("SELECT embedding FROM vec_chunks").fetchall()
        full = np.frombuffer(b"".join(r[0] for r in all_rows), dtype=np.float32).reshape(len(all_rows), -1)
        timings = {
            k: [] for k in ("numpy (resource)", "numpy (all)", "memcli vector stage", "memcli hybrid recall")
        }
        where = Filters(resource_id=resource)
        options = RecallOptions(top_k=10, message_range=0)
        for q, vec in zip(questions, qvecs):
            qb = np.asarray(vec, np.float32).tobytes()
            t = time.perf_counter()
            np.argpartition(-(matrix @ vec), 10)[:10]
            timings["numpy (resource)"].append(time.perf_counter() - t)
            t = time.perf_counter()
            np.argpartition(-(full @ vec), 10)[:10]
            timings["numpy (all)"].append(time.perf_counter() - t)
            t = time.perf_counter()
            mem.store.vectors.search(qb, where, 100)
            timings["memcli vector stage"].append(time.perf_counter() - t)
            t = time.perf_counter()
            mem.recaller.recall(q, where, options, qb)
            timings["memcli hybrid recall"].append(time.perf_counter() - t)
        mem.close()
    return {
        "messages": count,
        "resource_vectors": len(rows),
        "queries": len(questions),
        "stages": {k: {"p50": statistics.median(v), "p95": pct(v, 95)} for k, v in timings.items()},
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
    floor = result["stages"]["numpy (resource)"]["p50"]
    print(
        f"\n{result['messages']:,} messages, {args.resources} resources ({result['resource_vectors']:,} vectors "
        f"in the queried one), {result['queries']} queries, 384 dims\n"
    )
    print("| stage | p50 ms | p95 ms | × numpy (resource) p50 |")
    print("| --- | --- | --- | --- |")
    for name, v in result["stages"].items():
        print(f"| {name} | {v['p50'] * 1000:.2f} | {v['p95'] * 1000:.2f} | {v['p50'] / floor:.1f} |")


if __name__ == "__main__":
    main()
