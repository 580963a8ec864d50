"""Hybrid retrieval: vector KNN and FTS5 BM25, fused, then widened by message range.

Only the store's narrow interface is used here (keyword search, vector
search, messages by rowid, neighbours), so a different backend does not
change this module.
"""

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from memcli.records import Filters, Message
from memcli.scoring import Scored, combine, spread
from memcli.store.vectors import VECTORS_INCOMPLETE
from memcli.terms import query_terms
from memcli.timefmt import parse

MODES = ("hybrid", "vector", "keyword")


@dataclass
class RecallOptions:
    top_k: int = 4
    message_range: int = 1
    mode: str = "hybrid"
    threshold: float | None = None
    half_life_days: float | None = None
    # Tuned on the LoCoMo development split; see bench/RESULTS.md for the sweep.
    candidates: int = 100  # per retriever, before fusion
    keyword_weight: float = 0.5  # the vector weight is 1 - this
    neighbour_weight: float = 0.3  # share of a turn's score passed to the turns beside it
    far_neighbour_weight: float = 0.2  # ...and to the turns two away (0.15-0.3 measured flat)
    explain: bool = False  # each hit says where its score came from
    memory_route: bool = True  # hybrid: also the messages facts memories cite (recall_routes.py)


@dataclass
class Hit:
    message: Message
    score: float | None
    context_of: str | None = None  # id of the hit this message surrounds
    explain: dict | None = None  # the parts of the score, with --explain

    def to_dict(self) -> dict:
        out = self.message.to_dict()
        out["score"] = None if self.score is None else round(self.score, 6)
        if self.context_of is not None:
            out["context"] = True
            out["context_of"] = self.context_of
        if self.explain is not None:
            out["explain"] = self.explain
        return out


@dataclass
class RecallResult:
    query: str
    hits: list[Hit]
    mode: str  # the mode actually used (hybrid may fall back to keyword)
    notices: list[str] = field(default_factory=list)


def _decay(created_at: str, half_life_days: float, now: datetime) -> float:
    age_days = max(0.0, (now - parse(created_at)).total_seconds() / 86400)
    return math.pow(0.5, age_days / half_life_days)


class Recaller:
    def __init__(self, store):
        self.store = store

    def search(
        self,
        query: str,
        filters: Filters,
        options: RecallOptions,
        query_vector: bytes | None,
        routes=None,
    ) -> tuple[list[tuple[int, float]], str, dict[int, Scored]]:
        """Ranked (rowid, score) of primary hits, the mode used, and each score's parts.
        routes: a recall_routes.MemoryRoutes, for hybrid recall's route through facts memories."""
        mode = options.mode
        if mode in ("hybrid", "vector") and query_vector is None:
            if mode == "vector":
                return [], mode, {}
            mode = "keyword"
        n = max(options.candidates, options.top_k)
        keyword = []
        if mode in ("hybrid", "keyword"):
            keyword = self.store.keyword.search(query_terms(query), filters, n)
        vector = []
        if mode in ("hybrid", "vector"):
            vector = self.store.vectors.search(query_vector, filters, n)
        scored = combine(keyword, vector, options.keyword_weight)
        for s in scored.values():
            s.score = s.base
        if options.neighbour_weight and scored:
            adjacent = self.store.messages.adjacent(list(scored))
            if options.far_neighbour_weight:  # the neighbours' own neighbours too
                near = {n for pair in adjacent.values() for n in pair if n is not None and n not in adjacent}
                adjacent.update(self.store.messages.adjacent(sorted(near)))
            # the turns that have every content word of the query: no neighbour's share
            # may lift a turn without them above these (memcli/scoring.py)
            complete = self.store.keyword.matching_all(query_terms(query), [r for r, _ in keyword])
            spread(scored, adjacent, options.neighbour_weight, complete, options.far_neighbour_weight)
        top = max((s.score for s in scored.values()), default=1.0) or 1.0
        # scores are relative to the query's best match (1.0)
        ranked = sorted(((rowid, s.score / top) for rowid, s in scored.items()), key=lambda kv: -kv[1])
        # asked for hybrid (a missing model leaves keywords): memories rank by words then
        if routes is not None and options.mode == "hybrid" and options.memory_route:
            from memcli.recall_routes import fuse

            route = routes.ranking(query, filters, query_vector)
            if route:
                ranked = fuse(ranked, route, scored)
        return ranked, mode, scored

    def recall(
        self,
        query: str,
        filters: Filters,
        options: RecallOptions,
        query_vector: bytes | None = None,
        notices: list[str] | None = None,
        routes=None,
    ) -> RecallResult:
        notices = notices if notices is not None else []
        ranked, mode, parts = self.search(query, filters, options, query_vector, routes)
        if not ranked:
            return RecallResult(query, [], mode, notices)
        if options.half_life_days:
            ranked = self._decayed(ranked, options.half_life_days, parts)
        top = max((s.score for s in parts.values()), default=1.0) or 1.0
        primary = []
        # Read messages a page at a time: usually only the first page is needed.
        page = max(2 * options.top_k, 16)
        for start in range(0, len(ranked), page):
            part = ranked[start : start + page]
            messages = self.store.messages.by_rowids([rowid for rowid, _ in part])
            for rowid, score in part:
                # neighbours reached by spreading were not filtered in SQL
                if not filters.accepts(messages[rowid]):
                    continue
                if options.threshold is not None and score < options.threshold:
                    continue
                why = parts[rowid].explain(top) if options.explain else None
                primary.append(Hit(messages[rowid], score, explain=why))
                if len(primary) == options.top_k:
                    break
            if len(primary) == options.top_k:
                break
        return RecallResult(query, self._with_context(primary, options.message_range), mode, notices)

    def _decayed(self, ranked, half_life_days: float, parts: dict[int, Scored]) -> list[tuple[int, float]]:
        now = datetime.now(UTC)
        created = {r: m.created_at for r, m in self.store.messages.by_rowids([r for r, _ in ranked]).items()}
        for rowid, _ in ranked:
            parts[rowid].decay = _decay(created[rowid], half_life_days, now)
        return sorted(((rowid, s * parts[rowid].decay) for rowid, s in ranked), key=lambda kv: -kv[1])

    def _with_context(self, primary: list[Hit], message_range: int) -> list[Hit]:
        """Each hit followed by its neighbours (in time order); no message appears twice."""
        if message_range <= 0:
            return primary
        seen = {h.message.id for h in primary}
        out: list[Hit] = []
        for hit in primary:
            # the hit first, so `.[0]` of the JSON is always the best match
            out.append(hit)
            before, after = self.store.messages.neighbours(hit.message, message_range, message_range)
            for m in before + after:
                if m.id not in seen:
                    seen.add(m.id)
                    out.append(Hit(m, None, context_of=hit.message.id))
        return out


def run_queries(
    recaller: Recaller,
    store,
    queries: list[str],
    filters: list[Filters],
    options: list[RecallOptions],
    embedder_or_notice,
) -> list[RecallResult]:
    """Answer many queries with one model load and one embedding batch.

    embedder_or_notice(notices) gives the embedder, or None after adding why not.
    """
    from memcli.recall_routes import MemoryRoutes

    notices: list[str] = []
    vectors: list[bytes | None] = [None] * len(queries)
    semantic = any(o.mode in ("hybrid", "vector") for o in options)
    embedder = None
    if semantic and (store.vectors.exists() or store.vectors.pending(1)):
        embedder = embedder_or_notice(notices)
        if embedder is not None:
            import numpy as np

            embedded = embedder.embed(queries)
            vectors = [np.ascontiguousarray(v, dtype=np.float32).tobytes() for v in embedded]
    elif semantic:
        notices.append("no message has been embedded yet: run `memcli embed` for semantic recall")
    if semantic and store.get_setting(VECTORS_INCOMPLETE):
        notices.append(
            "some messages have no vectors (an `embed --rebuild` did not finish): "
            "semantic recall misses them until `memcli embed` runs"
        )
    if len(queries) >= 8 and vectors[0] is not None:
        for resource in {f.resource_id for f in filters if not f.thread_id}:
            store.vectors.warm(resource)
    routes = MemoryRoutes(store, embedder.name if embedder is not None else None)
    return [
        recaller.recall(q, f, o, v, list(notices), routes)
        for q, f, o, v in zip(queries, filters, options, vectors)
    ]
