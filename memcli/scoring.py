"""Scores for hybrid recall: keyword and vector scores, their fusion, neighbour shares.

Each candidate keeps the parts of its score (`Scored`), so `recall --explain`
can say why a message came up. Two rules keep real matches first:

- BM25 is scaled by the best match's score, not min-max: the weakest message
  that has the query's words keeps a share of its strength instead of 0.
- A neighbour's share never lifts a message without the query's words above
  one that has them all: for such a message the share is capped just below
  the lowest-scoring message holding every content word of the query (its own
  vector score may still rank it higher). Capping below every message with any
  one of the words cost LoCoMo recall@10 0.026 (bench/RESULTS.md).
"""

from dataclasses import dataclass

BELOW = 1e-6  # how far under the weakest keyword match a shared score may reach


@dataclass
class Scored:
    base: float = 0.0  # the fused score of the message itself
    keyword: float | None = None  # BM25 scaled by the best match (0..1)
    bm25: float | None = None
    vector: float | None = None  # cosine similarity
    neighbour: float = 0.0  # what its neighbours passed on (after any cap)
    decay: float = 1.0
    memory: float | None = None  # the best facts memory citing it (memcli/recall_routes.py)
    score: float = 0.0  # final, before scaling to the best hit

    def explain(self, top: float) -> dict:
        return {
            "keyword": None if self.keyword is None else round(self.keyword, 6),
            "bm25": None if self.bm25 is None else round(self.bm25, 6),
            "vector": None if self.vector is None else round(self.vector, 6),
            "neighbour": round(self.neighbour / top, 6) if top else 0.0,
            "decay": round(self.decay, 6),
            "memory": None if self.memory is None else round(self.memory, 6),
        }


def minmax(ranked: list[tuple[int, float]]) -> dict[int, float]:
    """Scores rescaled to 0..1 within one retriever's candidate list."""
    if not ranked:
        return {}
    values = [score for _, score in ranked]
    low, high = min(values), max(values)
    if high <= low:
        return {rowid: 1.0 for rowid, _ in ranked}
    return {rowid: (score - low) / (high - low) for rowid, score in ranked}


def scaled_to_best(ranked: list[tuple[int, float]]) -> dict[int, float]:
    """BM25 (higher is better, > 0) divided by the best score: absolute strength kept."""
    if not ranked:
        return {}
    best = max(score for _, score in ranked)
    if best <= 0:
        return {rowid: 1.0 for rowid, _ in ranked}
    return {rowid: max(score, 0.0) / best for rowid, score in ranked}


def combine(
    keyword: list[tuple[int, float]], vector: list[tuple[int, float]], keyword_weight: float
) -> dict[int, Scored]:
    """One Scored per candidate. With only one retriever its scaled score is the base;
    with both, a convex combination (RRF measured worse on LoCoMo: bench/RESULTS.md)."""
    k, v = scaled_to_best(keyword), minmax(vector)
    raw_bm25, raw_cos = dict(keyword), dict(vector)
    both = bool(keyword) and bool(vector)
    out = {}
    for rowid in k.keys() | v.keys():
        if both:
            base = keyword_weight * k.get(rowid, 0.0) + (1 - keyword_weight) * v.get(rowid, 0.0)
        else:
            base = k.get(rowid, v.get(rowid, 0.0))
        out[rowid] = Scored(
            base=base, keyword=k.get(rowid), bm25=raw_bm25.get(rowid), vector=raw_cos.get(rowid)
        )
    return out


def spread(
    scored: dict[int, Scored],
    adjacent: dict[int, tuple[int | None, int | None]],
    weight: float,
    matched: set[int],
    far_weight: float = 0.0,
) -> None:
    """Give each turn a share of its neighbours' base scores (in place): `weight` from the
    turns beside it, `far_weight` from the turns two away (`adjacent` then also holds the
    neighbours' own neighbours); capped for turns outside `matched` (those with all the
    query's words; see the module's rules). In a conversation the answer often sits next
    to the turn that names the topic: the turns beside lifted LoCoMo recall@10 from 0.671
    to 0.716, the turns two away (0.2) from 0.717 to 0.734."""
    shares: dict[int, float] = {}
    for rowid, s in list(scored.items()):
        for neighbour in adjacent.get(rowid, (None, None)):
            if neighbour is None:
                continue
            shares[neighbour] = shares.get(neighbour, 0.0) + weight * s.base
            if far_weight:
                for far in adjacent.get(neighbour, (None, None)):
                    if far is not None and far != rowid:
                        shares[far] = shares.get(far, 0.0) + far_weight * s.base
    for rowid in shares:
        scored.setdefault(rowid, Scored())
    for rowid, s in scored.items():
        s.neighbour = shares.get(rowid, 0.0)
        s.score = s.base + s.neighbour
    floor = min((scored[r].score for r in matched if r in scored), default=None)
    if floor is None:
        return
    for rowid, s in scored.items():
        if rowid in matched or s.score < floor:
            continue
        capped = max(s.base, min(s.score, floor - BELOW))
        s.neighbour = max(0.0, capped - s.base)
        s.score = capped
