"""Searching message vectors: Hamming over packed sign bits, cosine rescoring on int8 codes.

Mixed into `VectorIndex` (store/vectors.py, which writes what this reads).
A search reads the resource's segments (48 bytes a vector), ranks by
Hamming distance, rescores the best few hundred by cosine on their codes,
and scores the newest codes (fewer than SEGMENT, not packed yet) exactly.
"""

from typing import Any

from memcli.records import Filters
from memcli.store.batching import in_slices
from memcli.store.filters import where_clause

SEGMENT = 256  # codes packed per segment row; also the most a search scores one by one
# Rescored after the Hamming pass: the most of CANDIDATES, OVERSAMPLE times the
# messages wanted, and 1/SHARE of the resource (400 of 100k gave recall@10 0.949
# against exact search, 1% gives 0.980; bench/RESULTS.md).
CANDIDATES = 400
OVERSAMPLE = 4
SHARE = 100
CACHE_VECTORS = 2_000_000  # segments kept in memory across searches: ~110 MB at 384 dims
WARM_EXACT = 50_000  # warm() holds a resource's codes as floats up to this many (~77 MB)


class VectorSearch:
    # provided by VectorIndex, which mixes this in beside Table
    _cache: dict[str, tuple]
    _exact: dict[str, tuple]
    conn: Any

    def _rows(self, sql: str, params: Any = ()) -> list[tuple]:
        raise NotImplementedError

    def exists(self) -> bool:
        raise NotImplementedError

    def warm(self, resource_id: str | None) -> None:
        """Prepare a resource (or every resource) for many searches (recall --batch).

        Its segments are cached; a resource of at most WARM_EXACT vectors also
        keeps its codes as normalised floats, so each search is one matrix
        product over all of them, valid while the database is unchanged.
        """
        import numpy as np

        for rid in self._partitions(resource_id):
            self._cached_segments(rid, self._partition_state(rid))
            rows = self._rows(
                "SELECT message_rowid, code FROM vector_codes WHERE resource_id = ? LIMIT ?",
                [rid, WARM_EXACT + 1],
            )
            if len(rows) > WARM_EXACT or not rows:
                continue
            rowids, matrix = self._as_arrays(rows, 0, 1)
            matrix = matrix.astype(np.float32)
            matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)
            self._exact[rid] = (self._db_version(), rowids, matrix)

    def _db_version(self) -> tuple[int, int]:
        """Changes by other connections (data_version) and by ours (total_changes)."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0], self.conn.total_changes

    @staticmethod
    def _as_arrays(rows, rowid_at: int, code_at: int):
        """(message rowids, int8 code matrix) from result rows."""
        import numpy as np

        rowids = np.fromiter((r[rowid_at] for r in rows), dtype=np.int64, count=len(rows))
        codes = np.frombuffer(b"".join(r[code_at] for r in rows), dtype=np.int8).reshape(len(rows), -1)
        return rowids, codes

    def _partition_state(self, resource_id: str) -> tuple[int, int]:
        """(packed_upto, stale): segments are immutable, so this names their content."""
        rows = self._rows(
            "SELECT packed_upto, stale FROM vector_partitions WHERE resource_id = ?", [resource_id]
        )
        return rows[0] if rows else (0, 0)

    def _cached_segments(self, resource_id: str, state: tuple[int, int]):
        """A resource's segments, kept in memory while its partition state is unchanged.

        A long-lived process (chat, mcp, --batch) reads them once; a new
        process reads them on its first search (bench/RESULTS.md has both).
        """
        cached = self._cache.pop(resource_id, None)
        if cached is None or cached[0] != state:
            cached = (state, *self._segments(resource_id))
        self._cache[resource_id] = cached  # most recently used last
        while len(self._cache) > 1 and sum(len(c[1]) for c in self._cache.values()) > CACHE_VECTORS:
            self._cache.pop(next(iter(self._cache)))
        return cached[1], cached[2]

    def _partitions(self, resource_id: str | None) -> list[str]:
        if resource_id is not None:
            return [resource_id]
        return [r[0] for r in self._rows("SELECT resource_id FROM vector_partitions")]

    def _segments(self, resource_id: str):
        """(packed code ids, sign bits by word) of one resource."""
        import numpy as np

        from memcli.store import quantized

        rows = self._rows(
            "SELECT ids, bits FROM vector_segments WHERE resource_id = ? ORDER BY first_id", [resource_id]
        )
        if not rows:
            return np.empty(0, np.int64), None
        ids = np.frombuffer(b"".join(r[0] for r in rows), dtype=np.int64)
        bits = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.uint8).reshape(len(ids), -1)
        return ids, quantized.by_word(bits)

    def _search_partition(self, query, query_bits, resource_id: str, want: int):
        """(message rowids, similarities) of the candidates in one resource."""
        import numpy as np

        from memcli.store import quantized

        exact = self._exact.get(resource_id)
        if exact is not None and exact[0] == self._db_version():
            return exact[1], exact[2] @ (query / (float(np.linalg.norm(query)) or 1.0))
        upto, stale = state = self._partition_state(resource_id)
        ids, words = self._cached_segments(resource_id, state)
        n = max(CANDIDATES, OVERSAMPLE * want, len(ids) // SHARE) + stale
        if n >= len(ids):  # a small resource: every code is a candidate, read them in one go
            return self._score(
                self._rows(
                    "SELECT id, message_rowid, code FROM vector_codes WHERE resource_id = ?", [resource_id]
                ),
                query,
            )
        rows = []
        picked = np.sort(ids[quantized.smallest(quantized.hamming(words, query_bits), n)])
        for chunk, marks in in_slices([int(i) for i in picked]):
            rows += self._rows(
                f"SELECT id, message_rowid, code FROM vector_codes WHERE id IN ({marks})", chunk
            )
        # codes not packed yet: fewer than SEGMENT after any write, scored exactly
        rows += self._rows(
            "SELECT id, message_rowid, code FROM vector_codes WHERE resource_id = ? AND id > ?",
            [resource_id, upto],
        )
        return self._score(rows, query)

    def _score(self, rows, query):
        """(message rowids, cosine similarities) of (id, message rowid, code) rows, as arrays."""
        import numpy as np

        from memcli.store import quantized

        if not rows:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        rowids, code_rows = self._as_arrays(rows, 1, 2)
        return rowids, quantized.cosine(code_rows, query)

    def search(self, query: bytes, filters: Filters, k: int) -> list[tuple[int, float]]:
        """(message rowid, cosine similarity) best first, one entry per message.

        Scoped to a resource (or to all), the segments answer; a narrower
        filter (thread, dates, roles) scores the matching codes exactly,
        which is both correct and cheap since the set is small.
        """
        if not self.exists():
            return []
        import numpy as np

        from memcli.store import quantized

        q = np.frombuffer(query, dtype=np.float32)
        if filters.narrower_than_resource():
            clause, params = where_clause(filters)
            scored = self._score(
                self._rows(
                    "SELECT c.id, c.message_rowid, c.code FROM messages m "
                    f"JOIN vector_codes c ON c.message_rowid = m.rowid WHERE {clause}",
                    params,
                ),
                q,
            )
        else:
            query_bits = quantized.sign_bits(quantized.codes(q))
            parts = [
                self._search_partition(q, query_bits, resource_id, k)
                for resource_id in self._partitions(filters.resource_id)
            ]
            scored = (
                np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.int64),
                np.concatenate([p[1] for p in parts]) if parts else np.empty(0, np.float32),
            )
        rowids, sims = scored
        # a message has one entry per chunk: keep enough rows for k distinct messages
        top = quantized.smallest(-sims, k * 3)
        top = top[np.argsort(-sims[top], kind="stable")]
        best: dict[int, float] = {}
        for rowid, similarity in zip(rowids[top].tolist(), sims[top].tolist()):
            if rowid not in best:
                best[rowid] = similarity
                if len(best) == k:
                    break
        return list(best.items())
