"""Import throughput: memcli import with embeddings against raw fastembed on the same texts.

    python bench/ingest.py [--messages 2000] [--no-embed-messages 100000,1000000]

All three measured in this one run on the same distinct texts:
  raw fastembed    TextEmbedding.embed(texts) with fastembed's defaults
  memcli embedder  memcli's wrapper (length-sorted batches of 16)
  memcli import    Memory.import_jsonl into a fresh database: validation,
                   token counts, embedding, FTS and vec0 writes, commits
and, separately, `memcli import --no-embed` as a whole process on larger files:
speed, peak RSS (the file is streamed, never held whole) and bytes per message.
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import messages  # noqa: E402

from memcli import Memory, embeddings  # noqa: E402


def _import_process(tmp: Path, n: int) -> tuple[int, float, float, int]:
    """(lines, seconds, peak RSS MB, database bytes) of one `memcli import --no-embed` process."""
    path = tmp / f"lines-{n}.jsonl"
    with path.open("w") as out:  # written line by line: the bench itself stays small
        for r in messages(n, seed=3):
            out.write(json.dumps(r) + "\n")
    db = tmp / f"plain-{n}.db"
    env = {**os.environ, "MEMCLI_DB": str(db), "MEMCLI_HOME": str(tmp)}
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "memcli", "import", str(path), "--no-embed"], env=env)
    # VmHWM of the child's own address space: wait4's ru_maxrss would also count
    # the pages this (much larger) bench process had when it forked the child.
    peak_kb = 0
    while proc.poll() is None:
        peak_kb = max(peak_kb, _hwm_kb(proc.pid))
        time.sleep(0.02)
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"memcli import failed with status {proc.returncode}")
    path.unlink()
    return n, seconds, peak_kb / 1024, db.stat().st_size


def _hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument(
        "--no-embed-messages",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[100_000],
        help="comma-separated sizes, e.g. 100000,1000000",
    )
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
        mem.import_stream(io.BytesIO(data))
        import_rate = len(rows) / (time.perf_counter() - t)
        mem.close()

        plain = [_import_process(Path(tmp), n) for n in args.no_embed_messages]

    print(f"{len(texts):,} distinct texts, mean {sum(map(len, texts)) / len(texts):.0f} characters\n")
    print("| what | messages/s | × raw fastembed |")
    print("| --- | --- | --- |")
    print(f"| raw fastembed (defaults) | {raw_rate:.0f} | 1.00 |")
    print(f"| memcli embedder (sorted batches of 16) | {wrapped_rate:.0f} | {wrapped_rate / raw_rate:.2f} |")
    print(f"| memcli import with embeddings | {import_rate:.0f} | {import_rate / raw_rate:.2f} |")
    print("\n`memcli import FILE --no-embed` as a whole process, fresh database:\n")
    print("| lines | seconds | messages/s | peak RSS MB | database bytes/message |")
    print("| --- | --- | --- | --- | --- |")
    for n, seconds, rss_mb, db_bytes in plain:
        print(f"| {n:,} | {seconds:.1f} | {n / seconds:,.0f} | {rss_mb:.0f} | {db_bytes / n:.0f} |")


if __name__ == "__main__":
    main()
