"""In-process LoCoMo recall for trying retrieval ideas quickly.

Same data, turn format and scoring as ../shared/bench/locomo/locomo_recall.py
(imported from there), but through memcli.Memory so one model load serves
every conversation. The official numbers come from the CLI script.

    python bench/locomo_tune.py [--mode hybrid] [--vw 1.0 --kw 1.0]
"""

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "bench" / "locomo"
sys.path.insert(0, str(SHARED))

import locomo_recall as lr  # noqa: E402

from memcli import Memory, embeddings  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(SHARED / "locomo_dev.json"))
    ap.add_argument("--mode", default="hybrid")
    ap.add_argument("--k", default="1,5,10,20")
    ap.add_argument("--nw", type=float, default=None, help="share of a score spread to neighbouring turns")
    ap.add_argument("--kw", type=float, default=None, help="keyword weight in fusion (vector: 1 - this)")
    ap.add_argument("--cand", type=int, default=None, help="candidates per retriever")
    ap.add_argument("--keep", help="folder to keep (and reuse) the imported databases in")
    args = ap.parse_args()
    tuning = {
        name: value
        for name, value in (
            ("neighbour_weight", args.nw),
            ("keyword_weight", args.kw),
            ("candidates", args.cand),
        )
        if value is not None
    }
    if tuning:
        import functools

        import memcli.memory

        memcli.memory.RecallOptions = functools.partial(memcli.memory.RecallOptions, **tuning)
    ks = [int(k) for k in args.k.split(",")]
    samples = json.loads(Path(args.data).read_text())
    embedder = embeddings.load()
    scores = {name: {k: [] for k in ks} for name in ["all", *lr.CATEGORY.values()]}
    t_import = t_recall = 0.0
    nq = 0
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or scratch
        Path(tmp).mkdir(parents=True, exist_ok=True)
        for sample in samples:
            mem = Memory(Path(tmp) / f"{sample['sample_id']}.db", embedder=embedder)
            lines = list(lr.turns_of(sample))
            known = {x["metadata"]["dia_id"] for x in lines}
            data = ("\n".join(json.dumps(x) for x in lines) + "\n").encode()
            t = time.perf_counter()
            mem.import_stream(io.BytesIO(data))
            t_import += time.perf_counter() - t
            qs = [(q, lr.gold_of(q, known)) for q in sample["qa"] if q.get("category") in lr.CATEGORY]
            qs = [(q, g) for q, g in qs if g]
            t = time.perf_counter()
            results = mem.recall_many(
                [
                    {"query": q["question"], "resource_id": sample["sample_id"], "top_k": max(ks)}
                    for q, _ in qs
                ],
                message_range=0,
                mode=args.mode,
            )
            t_recall += time.perf_counter() - t
            nq += len(qs)
            for (q, gold), res in zip(qs, results):
                ranked = []
                for h in res.hits:
                    dia = h.message.metadata["dia_id"]
                    if dia not in ranked:
                        ranked.append(dia)
                for k in ks:
                    r = len(gold & set(ranked[:k])) / len(gold)
                    scores["all"][k].append(r)
                    scores[lr.CATEGORY[q["category"]]][k].append(r)
            mem.close()
    mean = lambda xs: round(sum(xs) / len(xs), 3)  # noqa: E731
    print(json.dumps({n: {f"@{k}": mean(v[k]) for k in ks} for n, v in scores.items()}))
    print(f"import {t_import:.1f}s, recall {1000 * t_recall / nq:.1f} ms/query")


if __name__ == "__main__":
    main()
