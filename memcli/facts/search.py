"""Ranking memories for a query: cosine on their embeddings, keyword overlap, optional decay.

A resource holds hundreds of memories, not millions, so a scan in numpy is
both exact and fast. Without an embedding model the keyword part ranks
alone, and only memories sharing a content word with the query are returned.
"""

import math
from datetime import UTC, datetime

from memcli.store.memories import MemoryVersion
from memcli.terms import query_terms
from memcli.timefmt import parse

KEYWORD_WEIGHT = 0.3  # the rest is the cosine similarity


def _words(text: str) -> set[str]:
    return set(query_terms(text))


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def keyword_score(query: str, text: str) -> float:
    """Share of the query's content words found in the text (a crude stem: plural s)."""
    wanted = {_stem(w) for w in _words(query)}
    if not wanted:
        return 0.0
    have = {_stem(w) for w in _words(text)}
    return len(wanted & have) / len(wanted)


def rank(
    query: str,
    memories: list[MemoryVersion],
    query_vector=None,
    *,
    half_life_days: float | None = None,
    moment: datetime | None = None,
) -> list[tuple[MemoryVersion, float]]:
    """(memory, score) best first; expired memories are left out."""
    import numpy as np

    moment = moment or datetime.now(UTC)
    live = [m for m in memories if not (m.expires_at and parse(m.expires_at) <= moment)]
    cosines = [0.0] * len(live)
    embedded = [i for i, m in enumerate(live) if m.embedding] if query_vector is not None else []
    if embedded:  # one matrix product for all of them
        matrix = np.frombuffer(b"".join(live[i].embedding for i in embedded), dtype=np.float32)  # type: ignore[misc]
        matrix = matrix.reshape(len(embedded), -1)
        q = np.asarray(query_vector, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(q) or 1.0)
        for i, value in zip(embedded, (matrix @ q) / np.maximum(norms, 1e-9)):
            cosines[i] = float(value)
    has_vector = set(embedded)
    scored = []
    for i, m in enumerate(live):
        kw = keyword_score(query, m.text)
        if i in has_vector:
            score = (1 - KEYWORD_WEIGHT) * max(cosines[i], 0.0) + KEYWORD_WEIGHT * kw
        elif kw == 0:
            continue
        else:
            score = kw
        if half_life_days:
            age = max(0.0, (moment - parse(m.created_at)).total_seconds() / 86400)
            score *= math.pow(0.5, age / half_life_days)
        scored.append((m, score))
    scored.sort(key=lambda pair: -pair[1])
    return scored
