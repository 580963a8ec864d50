"""Fusion variants on LoCoMo, evaluated from one set of candidate lists.

Imports the development split once (kept in --keep), collects each question's
top-200 BM25 and cosine candidates through memcli's store, then scores fusion
formulas offline in seconds. The numbers in bench/RESULTS.md come from here;
the shipped defaults are in memcli/recall.py (RecallOptions).

    python bench/fusion_sweep.py [--keep /tmp/locomo-dbs]
"""

import argparse
import io
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "bench" / "locomo"
sys.path.insert(0, str(SHARED))

import locomo_recall as lr  # noqa: E402

from memcli import Memory, embeddings  # noqa: E402
from memcli.recall import query_terms  # noqa: E402
from memcli.records import Filters  # noqa: E402
from memcli.scoring import Scored, combine, minmax, spread  # noqa: E402


def fuse(keyword, vector, weight, scaled=True):
    """The fused base score; scaled=False is the old min-max on BM25 too."""
    if scaled:
        return {r: s.base for r, s in combine(keyword, vector, weight).items()}
    k, v = minmax(keyword), minmax(vector)
    return {r: weight * k.get(r, 0.0) + (1 - weight) * v.get(r, 0.0) for r in k.keys() | v.keys()}


def spread_to_neighbours(scores, adjacent, weight, complete=frozenset()):
    """Neighbour shares as memcli/scoring.py gives them (capped below `complete` turns)."""
    scored = {r: Scored(base=v, score=v) for r, v in scores.items()}
    spread(scored, adjacent, weight, set(complete))
    return {r: s.score for r, s in scored.items()}


def collect(data_path: Path, keep: Path):
    embedder = embeddings.load()
    questions = []
    for sample in json.loads(data_path.read_text()):
        keep.mkdir(parents=True, exist_ok=True)
        db = keep / f"{sample['sample_id']}.db"
        fresh = not db.exists()
        mem = Memory(db, embedder=embedder)
        lines = list(lr.turns_of(sample))
        if fresh:
            mem.import_stream(io.BytesIO(("\n".join(json.dumps(x) for x in lines) + "\n").encode()))
        known = {x["metadata"]["dia_id"] for x in lines}
        qs = [(q, lr.gold_of(q, known)) for q in sample["qa"] if q.get("category") in lr.CATEGORY]
        qs = [(q, g) for q, g in qs if g]
        dia = {
            r[0]: json.loads(r[1])["dia_id"]
            for r in mem.store.conn.execute("SELECT rowid, metadata FROM messages")
        }
        adjacent = mem.store.messages.adjacent(list(dia))
        vectors = embedder.embed([q["question"] for q, _ in qs])
        where = Filters(resource_id=sample["sample_id"])
        for (q, gold), vector in zip(qs, vectors):
            keyword = mem.store.keyword.search(query_terms(q["question"]), where, 200)
            questions.append(
                {
                    "category": lr.CATEGORY[q["category"]],
                    "gold": gold,
                    "keyword": keyword,
                    "complete": mem.store.keyword.matching_all(
                        query_terms(q["question"]), [r for r, _ in keyword[:100]]
                    ),
                    "vector": mem.store.vectors.search(np.asarray(vector, np.float32).tobytes(), where, 200),
                    "dia": dia,
                    "adjacent": adjacent,
                }
            )
        mem.close()
    return questions


def rrf(lists, k=60):
    out = defaultdict(float)
    for ranked, weight in lists:
        for rank, (rowid, _) in enumerate(ranked):
            out[rowid] += weight / (k + rank + 1)
    return out


def recall_at(questions, score, k=10):
    per = defaultdict(list)
    for q in questions:
        scores = score(q)
        top = sorted(scores, key=lambda r: -scores[r])[:k]
        found = len(q["gold"] & {q["dia"][r] for r in top}) / len(q["gold"])
        per["all"].append(found)
        per[q["category"]].append(found)
    return {name: round(sum(v) / len(v), 3) for name, v in per.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(SHARED / "locomo_dev.json"))
    ap.add_argument("--keep", default="/tmp/memcli-locomo-dbs")
    args = ap.parse_args()
    qs = collect(Path(args.data), Path(args.keep))
    variants = {
        "BM25 (stopwords removed)": lambda q: dict(q["keyword"][:100]),
        "cosine": lambda q: dict(q["vector"][:100]),
        "RRF k=60, equal weights": lambda q: rrf([(q["keyword"][:60], 1), (q["vector"][:60], 1)]),
        "RRF k=60, vector weight 0.3": lambda q: rrf([(q["keyword"][:60], 1), (q["vector"][:60], 0.3)]),
    }
    for a in (0.4, 0.5, 0.6):
        variants[f"min-max fusion, keyword weight {a}"] = lambda q, a=a: fuse(
            q["keyword"][:100], q["vector"][:100], a, scaled=False
        )
        variants[f"BM25 / best + min-max cosine, keyword weight {a}"] = lambda q, a=a: fuse(
            q["keyword"][:100], q["vector"][:100], a
        )
    for beta in (0.1, 0.2, 0.3, 0.4, 0.5):
        variants[f"min-max 0.5 + neighbours {beta}"] = lambda q, b=beta: spread_to_neighbours(
            fuse(q["keyword"][:100], q["vector"][:100], 0.5, scaled=False), q["adjacent"], b
        )
        variants[f"shipped: BM25/best 0.5 + neighbours {beta}, capped"] = lambda q, b=beta: (
            spread_to_neighbours(
                fuse(q["keyword"][:100], q["vector"][:100], 0.5), q["adjacent"], b, q["complete"]
            )
        )
    variants["cap below any keyword match (rejected)"] = lambda q: spread_to_neighbours(
        fuse(q["keyword"][:100], q["vector"][:100], 0.5),
        q["adjacent"],
        0.3,
        {r for r, _ in q["keyword"][:100]},
    )
    for pool in (50, 150, 200):
        variants[f"shipped, candidate pool {pool}"] = lambda q, n=pool: spread_to_neighbours(
            fuse(q["keyword"][:n], q["vector"][:n], 0.5), q["adjacent"], 0.3, q["complete"]
        )
    for a in (0.55, 0.6):
        variants[f"shipped with keyword weight {a}"] = lambda q, a=a: spread_to_neighbours(
            fuse(q["keyword"][:100], q["vector"][:100], a), q["adjacent"], 0.3, q["complete"]
        )

    def two_hops(q, near=0.3, far=0.1):
        once = spread_to_neighbours(
            fuse(q["keyword"][:100], q["vector"][:100], 0.5), q["adjacent"], near, q["complete"]
        )
        base = fuse(q["keyword"][:100], q["vector"][:100], 0.5)
        out = dict(once)
        for rowid, score in base.items():  # the turns two away get a smaller share
            before, after = q["adjacent"].get(rowid, (None, None))
            for first, step in ((before, 0), (after, 1)):
                second = q["adjacent"].get(first, (None, None))[step] if first is not None else None
                if second is not None:
                    out[second] = out.get(second, 0.0) + far * score
        return out

    variants["shipped + 0.1 to turns two away"] = two_hops
    variants["shipped + 0.05 to turns two away"] = lambda q: two_hops(q, far=0.05)
    variants["BM25 + neighbours 0.3"] = lambda q: spread_to_neighbours(
        fuse(q["keyword"][:100], [], 0.5), q["adjacent"], 0.3, q["complete"]
    )
    variants["cosine + neighbours 0.3"] = lambda q: spread_to_neighbours(
        minmax(q["vector"][:100]), q["adjacent"], 0.3
    )
    print("| variant | recall@10 | single-hop | multi-hop | temporal | open-domain |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, fn in variants.items():
        r = recall_at(qs, fn)
        print(
            f"| {name} | {r['all']} | {r['single-hop']} | {r['multi-hop']} | {r['temporal']} | {r['open-domain']} |"
        )


if __name__ == "__main__":
    main()
