"""Cold `memcli recall "..." --json` as a whole process, split into its parts.

    python bench/cold_recall.py --db /tmp/scale100k.db [--runs 7]

The database comes from `bench/recall_scale.py --db PATH`. Parts, medians of
--runs: interpreter start (`python -c pass`), memcli's imports, the ONNX
model load, one query embedding, and the search itself (in-process, warm
page cache); the unavoidable part is interpreter + model load + embedding.
"""

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from startup import compile_bytecode, median_seconds  # noqa: E402


def wall(cmd, env, runs):
    return median_seconds(cmd, runs, env, check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    env = dict(os.environ, MEMCLI_DB=args.db)
    py = sys.executable
    compile_bytecode()
    query = "What did Caroline research about adoption agencies?"
    whole = wall([py, "-m", "memcli", "recall", query, "-r", "user0", "--json"], env, args.runs)
    interp = wall([py, "-c", "pass"], env, args.runs)
    imports = (
        wall([py, "-c", "import memcli.cli.main, memcli.recall, memcli.embeddings"], env, args.runs) - interp
    )
    probe = (
        "import time, statistics\n"
        "t=time.perf_counter(); from memcli import embeddings; e=embeddings.load(); load=time.perf_counter()-t\n"
        f"t=time.perf_counter(); v=e.embed([{query!r}]); emb=time.perf_counter()-t\n"
        "from memcli import Memory\n"
        "m=Memory(embedder=e)\n"
        f"t=time.perf_counter(); m.recall({query!r}, resource_id='user0'); first=time.perf_counter()-t - emb\n"
        "print(load, emb, first)\n"
    )
    parts = [
        list(
            map(
                float,
                subprocess.run(
                    [py, "-c", probe], env=env, capture_output=True, text=True, check=True
                ).stdout.split(),
            )
        )
        for _ in range(args.runs)
    ]
    load, emb, search = (statistics.median(p[i] for p in parts) for i in range(3))
    unavoidable = interp + load + emb
    print(f"| part of `memcli recall --json` ({args.db}) | p50 ms |")
    print("| --- | --- |")
    print(f"| interpreter start | {interp * 1000:.0f} |")
    print(f"| imports (typer, rich, memcli, numpy) | {imports * 1000:.0f} |")
    print(f"| ONNX model load (fastembed) | {load * 1000:.0f} |")
    print(f"| query embedding | {emb * 1000:.0f} |")
    print(f"| search (keyword + vector + fusion + neighbours) | {search * 1000:.0f} |")
    print(f"| **whole process** | **{whole * 1000:.0f}** |")
    print(f"| unavoidable (interpreter + model + embedding) | {unavoidable * 1000:.0f} |")
    print(f"| ratio whole / unavoidable | {whole / unavoidable:.2f} |")


if __name__ == "__main__":
    main()
