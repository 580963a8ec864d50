"""`memcli recall --batch`: 1,000 queries over a 10,000-message database.

    python bench/batch_recall.py [--messages 10000] [--queries 1000]

Builds the database through `memcli import` (real embeddings), then times
the whole `memcli recall --batch - --json` process and, in-process, the
split between query embedding and search.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import locomo_questions, messages  # noqa: E402

from memcli import Memory, embeddings  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--db", help="reuse or keep the database here")
    args = ap.parse_args()
    memcli = [sys.executable, "-m", "memcli"]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.db or Path(tmp) / "batch.db")
        env = dict(os.environ, MEMCLI_DB=str(db))
        if not db.exists():
            lines = "".join(json.dumps(m) + "\n" for m in messages(args.messages, resources=1, seed=5))
            t = time.perf_counter()
            subprocess.run([*memcli, "import", "-"], input=lines.encode(), env=env, check=True)
            print(
                f"import with embeddings: {args.messages / (time.perf_counter() - t):.0f} messages/s",
                file=sys.stderr,
            )
        pool = locomo_questions()
        questions = [pool[i % len(pool)] + ("" if i < len(pool) else f" ({i})") for i in range(args.queries)]
        batch = "".join(
            json.dumps({"query": q, "resource_id": "user0", "top_k": 10}) + "\n" for q in questions
        )
        t = time.perf_counter()
        out = subprocess.run(
            [*memcli, "recall", "--batch", "-", "--message-range", "0", "--json"],
            input=batch.encode(),
            env=env,
            check=True,
            capture_output=True,
        ).stdout
        wall = time.perf_counter() - t
        assert len(out.splitlines()) == len(questions)

        embedder = embeddings.load()
        mem = Memory(db, embedder=embedder)
        t = time.perf_counter()
        vectors = embedder.embed(questions)
        embed_s = time.perf_counter() - t
        t = time.perf_counter()
        mem.recall_many(
            [{"query": q, "resource_id": "user0", "top_k": 10} for q in questions], message_range=0
        )
        total_s = time.perf_counter() - t
        search_s = total_s - embed_s  # recall_many embeds once more inside
        del vectors
    print(f"| {args.queries:,} queries over {args.messages:,} messages | value |")
    print("| --- | --- |")
    print(f"| whole `memcli recall --batch` process | {wall:.1f} s ({args.queries / wall:.0f} queries/s) |")
    print(f"| in-process: query embedding | {embed_s:.1f} s ({100 * embed_s / total_s:.0f}%) |")
    print(f"| in-process: search, fusion, neighbours | {search_s:.1f} s ({100 * search_s / total_s:.0f}%) |")


if __name__ == "__main__":
    main()
