"""Import throughput: memcli import with embeddings against raw fastembed on the same texts.

    python bench/ingest.py [--messages 2000] [--no-embed-messages 100000]

All three measured in this one run on the same distinct texts:
  raw fastembed    TextEmbedding.embed(texts) with fastembed's defaults
  memcli embedder  memcli's wrapper (length-sorted batches of 16)
  memcli import    Memory.import_jsonl into a fresh database: validation,
                   token counts, embedding, FTS and vec0 writes, commits
and, separately, `--no-embed` import speed and peak memory for a larger file.
"""

import argparse
import io
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import messages  # noqa: E402

from memcli import Memory, embeddings  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--no-embed-messages", type=int, default=100_000)
    args = ap.parse_args()
    rows = list(messages(args.messages, seed=11))
    texts = [r["content"] for r in rows]
    embedder = embeddings.load()
    raw = embedder._model  # the fastembed TextEmbedding memcli loaded

    t = time.perf_counter()
    list(raw.embed(texts))
    raw_rate = len(texts) / (time.perf_counter() - t)

    t = time.perf_counter()
    embedder.embed(texts)
    wrapped_rate = len(texts) / (time.perf_counter() - t)

    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    with tempfile.TemporaryDirectory() as tmp:
        mem = Memory(Path(tmp) / "ingest.db", embedder=embedder)
        t = time.perf_counter()
        mem.import_jsonl(io.BytesIO(data))
        import_rate = len(rows) / (time.perf_counter() - t)
        mem.close()

        big = "".join(json.dumps(r) + "\n" for r in messages(args.no_embed_messages, seed=3)).encode()
        path = Path(tmp) / "big.jsonl"
        path.write_bytes(big)
        del big
        mem = Memory(Path(tmp) / "big.db")
        t = time.perf_counter()
        with path.open("rb") as stream:
            mem.import_jsonl(stream, embed=False)
        plain_rate = args.no_embed_messages / (time.perf_counter() - t)
        db_bytes = (Path(tmp) / "big.db").stat().st_size
        mem.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"{len(texts):,} distinct texts, mean {sum(map(len, texts)) / len(texts):.0f} characters\n")
    print("| what | messages/s | × raw fastembed |")
    print("| --- | --- | --- |")
    print(f"| raw fastembed (defaults) | {raw_rate:.0f} | 1.00 |")
    print(f"| memcli embedder (sorted batches of 16) | {wrapped_rate:.0f} | {wrapped_rate / raw_rate:.2f} |")
    print(f"| memcli import with embeddings | {import_rate:.0f} | {import_rate / raw_rate:.2f} |")
    print(f"| memcli import --no-embed ({args.no_embed_messages:,} messages) | {plain_rate:.0f} | |")
    print(
        f"\npeak RSS of this process: {peak_mb:.0f} MB; --no-embed database: {db_bytes / args.no_embed_messages:.0f} bytes/message"
    )


if __name__ == "__main__":
    main()
