"""Recall latency against database size: memcli against numpy and sqlite-vec, one run.

    python bench/plot_scale.py --out bench/out/scale-quick.png   # 10k, 30k, 100k (just bench)
    python bench/plot_scale.py --sizes 10000,30000,100000,300000,1000000 --keep /tmp  # bench/scale.png (just bench-full)

Writes the plot (--out, default bench/scale.png) and prints a table per size.
Each size uses bench/recall_scale.py's data and measurement.
"""

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from recall_scale import measure, print_table  # noqa: E402

from memcli import embeddings  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,30000,100000")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--out", default=str(HERE / "scale.png"))
    ap.add_argument("--keep", help="keep each size's database here (scale-N.db) and reuse it next time")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    embedder = embeddings.load()
    results = []
    for n in sizes:
        db = Path(args.keep) / f"scale-{n}.db" if args.keep else None
        results.append(measure(n, args.queries, 10, db, embedder))
        print_table(results[-1])
    stages = list(results[0]["stages"])
    print()
    print("| messages | " + " | ".join(f"{s} p50 ms" for s in stages) + " |")
    print("| --- |" + " --- |" * len(stages))
    for r in results:
        print(
            f"| {r['messages']:,} | "
            + " | ".join(f"{r['stages'][s]['p50'] * 1000:.2f}" for s in stages)
            + " |"
        )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for stage in stages:
        ax.plot(sizes, [r["stages"][stage]["p50"] * 1000 for r in results], marker="o", label=stage)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("messages in the database (10 resources; one searched)")
    ax.set_ylabel("p50 latency per query (ms)")
    ax.set_title("memcli recall vs numpy brute force (384-dim, 2 cores)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
