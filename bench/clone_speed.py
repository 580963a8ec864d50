"""Cloning a 10,000-message thread against re-embedding it.

    python bench/clone_speed.py [--messages 10000]

The thread is imported with --no-embed and given vectors through memcli's
store (real embeddings of a text pool plus noise, as in recall_scale.py);
cloning copies them. Re-embedding is timed on the first 1,000 texts with the
real model and scaled to the thread's size (said so in the output).
"""

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import messages  # noqa: E402

from memcli import Memory, embeddings  # noqa: E402
from memcli.store.vectors import ChunkVector  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=10_000)
    args = ap.parse_args()
    embedder = embeddings.load()
    rows = list(messages(args.messages, per_thread=args.messages, resources=1, seed=9))
    with tempfile.TemporaryDirectory() as tmp:
        mem = Memory(Path(tmp) / "clone.db", embedder=embedder)
        mem.import_stream(io.BytesIO("".join(json.dumps(r) + "\n" for r in rows).encode()), embed=False)
        texts = [r["content"] for r in rows]
        sample = texts[:1000]
        t = time.perf_counter()
        pool = embedder.embed(sample)
        embed_s = (time.perf_counter() - t) * len(texts) / len(sample)
        rng = np.random.default_rng(1)
        stored = mem.store.conn.execute("SELECT rowid FROM messages ORDER BY rowid").fetchall()
        with mem.store.transaction():
            mem.store.vectors.ensure(embedder.name, embedder.dim)
            vecs = pool[rng.integers(0, len(pool), len(stored))]
            mem.store.vectors.add(
                [ChunkVector(r[0], 0, f"h{r[0]}", "user0", v.tobytes()) for r, v in zip(stored, vecs)]
            )
        t = time.perf_counter()
        result = mem.clone_thread("t0", new_thread_id="copy")
        clone_s = time.perf_counter() - t
        assert result.cloned == len(rows)
        mem.close()
    print(f"| {len(rows):,}-message thread | seconds |")
    print("| --- | --- |")
    print(f"| clone (messages, FTS, vectors copied, one transaction) | {clone_s:.2f} |")
    print(f"| re-embedding the same texts (1,000 timed, scaled) | {embed_s:.1f} |")
    print(
        f"| ratio | clone takes {100 * clone_s / embed_s:.1f}% of re-embedding ({embed_s / clone_s:.0f}x faster) |"
    )


if __name__ == "__main__":
    main()
