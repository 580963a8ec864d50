"""Facts memories as a route to the messages they were learned from.

A memory says what a question asks about in fewer words than the dialogue turn
it came from ("Caroline is researching adoption agencies"); ranking a resource's
current memories and replacing each by the messages it cites finds turns the
messages' own ranking misses. Hybrid recall fuses that list with its own by
reciprocal rank (k=60, equal weights, the top 20 of each: flat from k=20 to
100; a weight of 0.5 or 1.5 did worse). With LoCoMo's observations as memories, recall@10 on the
development split went 0.717 -> 0.744 (bench/RESULTS.md, bench/facts_locomo.py).
"""

from memcli.records import Filters
from memcli.scoring import Scored

RRF_K = 60
# how deep each list is fused: LoCoMo recall@10 0.744 fusing the top 10 or 20, 0.697 the top 40
# (deep ranks of one list outvoted the other's best); messages below it keep their order
DEPTH = 20


class MemoryRoutes:
    """For one batch of queries: each resource's current memories and the rowids of the
    messages they cite, read once."""

    def __init__(self, store, model: str | None):
        self.store, self.model = store, model  # model: the embedder that made the query vectors
        self._by_resource: dict[str, tuple[list, dict[str, int]]] = {}

    def ranking(self, query: str, filters: Filters, query_vector: bytes | None) -> list[tuple[int, float]]:
        """(message rowid, score of the best memory citing it), in the memories' order."""
        if filters.resource_id is None:
            return []
        memories, rowids = self._load(filters.resource_id)
        if not memories:
            return []
        import numpy as np

        from memcli.facts.search import rank

        vector = np.frombuffer(query_vector, dtype=np.float32) if query_vector is not None else None
        out: dict[int, float] = {}
        for memory, score in rank(query, memories, vector):
            for source in memory.sources:
                rowid = rowids.get(source)
                if rowid is not None and rowid not in out:
                    out[rowid] = score
        return list(out.items())

    def _load(self, resource_id: str) -> tuple[list, dict[str, int]]:
        if resource_id not in self._by_resource:
            memories = self.store.memories.current(resource_id)
            for memory in memories:
                if memory.embedding_model != self.model:  # another model's vector is never compared
                    memory.embedding = None
            cited = self.store.messages.by_ids(sorted({s for m in memories for s in m.sources}))
            # only the resource's own messages, whatever a memory row says
            rowids = {
                i: m.rowid for i, m in cited.items() if m.resource_id == resource_id and m.rowid is not None
            }
            self._by_resource[resource_id] = (memories, rowids)
        return self._by_resource[resource_id]


def fuse(ranked: list[tuple[int, float]], route: list[tuple[int, float]], parts: dict[int, Scored]):
    """The top DEPTH of the messages' ranking and of the memories' route fused by
    reciprocal rank, then the rest of the messages in their own order; scores relative
    to the best (1.0), as the messages' own are."""
    fused: dict[int, float] = {}
    for place, (rowid, _) in enumerate(ranked[:DEPTH]):
        fused[rowid] = 1.0 / (RRF_K + place + 1)
    for place, (rowid, score) in enumerate(route[:DEPTH]):
        fused[rowid] = fused.get(rowid, 0.0) + 1.0 / (RRF_K + place + 1)
        parts.setdefault(rowid, Scored()).memory = score
    top = max(fused.values())
    head = sorted(((rowid, value / top) for rowid, value in fused.items()), key=lambda kv: -kv[1])
    floor = head[-1][1]
    return head + [(rowid, floor * score) for rowid, score in ranked if rowid not in fused]
