"""BM25 within one resource (or one thread) on SQLite.

FTS5's bm25() weighs terms by the whole file: with every user in one file, one
user's writes moved another's ranking. FTS5 gives SQL no per-row term
frequencies, so they are read back out of bm25() itself: for one term, with the
content column weighted 1 and then 2,

    s1 = idf * f(k1+1) / (f + K),   s2 = idf * 2f(k1+1) / (2f + K)

so r = s2/s1 = 2(f+K)/(2f+K) gives f = K(2-r) / 2(r-1), where K depends only on
the row's length (FTS5's docsize table) and the file's average length (its
averages record). The frequencies are exact integers; idf and the average length
are then taken from the scope's own messages. Same formula and constants as
bm25() and as PostgreSQL's ranking (store/pg/keyword.py).
"""

import math

from memcli.records import Filters
from memcli.store.filters import where_clause

K1, B = 1.2, 0.75  # FTS5's bm25() constants

# FTS5 keeps the row count and per-column token totals in this record of its data table
_AVERAGES_ROWID = 1


def varints(blob: bytes) -> list[int]:
    """The SQLite varints FTS5 writes in its docsize and averages records."""
    out, value = [], 0
    for byte in blob:
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            out.append(value)
            value = 0
    return out


def idf(scope_docs: int, term_docs: int) -> float:
    """FTS5's idf, never below a tiny positive weight."""
    return max(math.log(max(scope_docs - term_docs + 0.5, 1e-9) / (term_docs + 0.5)), 1e-6)


class Scope:
    """One scope's messages as FTS5 sees them: rowids (sorted), content and whole-row
    lengths in tokens. Read once and kept until the file changes."""

    def __init__(self, rows: list[tuple[int, bytes]]):
        import numpy as np

        rows.sort()
        self.rowids = np.fromiter((r for r, _ in rows), dtype=np.int64, count=len(rows))
        sizes = [varints(blob) for _, blob in rows]
        self.content = np.fromiter((s[0] if s else 0 for s in sizes), dtype=np.float64, count=len(rows))
        self.whole = np.fromiter((sum(s) for s in sizes), dtype=np.float64, count=len(rows))
        self.average = float(self.content.mean()) if len(rows) and self.content.sum() else 1.0

    def positions(self, rowids):
        """Each rowid's place in the scope, and which of them are in it at all."""
        import numpy as np

        if not len(self.rowids):
            return np.zeros(len(rowids), dtype=np.int64), np.zeros(len(rowids), dtype=bool)
        place = np.minimum(np.searchsorted(self.rowids, rowids), len(self.rowids) - 1)
        return place, self.rowids[place] == rowids


class ScopedBM25:
    """Ranks FTS5 matches by BM25 over the messages one scope holds."""

    def __init__(self, conn, cache: dict):
        # cache: (resource, thread) -> (file version, Scope); kept by the caller across searches
        self.conn, self._cache = conn, cache

    def rank(self, matches: dict[str, str], joiner: str, filters: Filters, k: int) -> list[tuple[int, float]]:
        """matches: term -> its FTS5 query within the scope; (rowid, score) best first."""
        import numpy as np

        scope = self._scope(Filters(resource_id=filters.resource_id, thread_id=filters.thread_id))
        file_average = self._file_average()
        scores = np.zeros(len(scope.rowids))
        holding = np.zeros(len(scope.rowids), dtype=np.int64)  # how many of the terms each holds
        for match in matches.values():
            rows = self.conn.execute(
                "SELECT rowid, bm25(messages_fts, 1.0, 0.0), bm25(messages_fts, 2.0, 0.0) "
                "FROM messages_fts WHERE messages_fts MATCH ?",
                [match],
            ).fetchall()
            if not rows:
                continue
            found = np.array(rows, dtype=np.float64).reshape(-1, 3)
            place, inside = scope.positions(found[:, 0].astype(np.int64))
            place, found = place[inside], found[inside]  # the FTS prefilter is not exact
            if not len(place):
                continue
            k_file = K1 * (1 - B + B * scope.whole[place] / file_average)
            f = _frequencies(found[:, 1], found[:, 2], k_file)
            weight = idf(len(scope.rowids), len(place))
            scores[place] += (
                weight * f * (K1 + 1) / (f + K1 * (1 - B + B * scope.content[place] / scope.average))
            )
            holding[place] += 1
        wanted = holding >= (len(matches) if joiner == "AND" else 1)
        if filters.since or filters.until or filters.roles:
            wanted &= self._accepted(scope, filters, wanted)
        chosen = np.flatnonzero(wanted)
        best = chosen[np.lexsort((scope.rowids[chosen], -scores[chosen]))][:k]
        return [(int(scope.rowids[i]), float(scores[i])) for i in best]

    def _accepted(self, scope: Scope, filters: Filters, wanted):
        """Which scope rows the rest of the filters (dates, roles) let through."""
        import numpy as np

        from memcli.store.batching import in_slices

        clause, params = where_clause(filters)
        ok: list[int] = []
        for part, marks in in_slices([int(r) for r in scope.rowids[wanted]]):
            ok += [
                r[0]
                for r in self.conn.execute(
                    f"SELECT m.rowid FROM messages m WHERE m.rowid IN ({marks}) AND {clause}",
                    [*part, *params],
                )
            ]
        return np.isin(scope.rowids, np.array(ok, dtype=np.int64))

    def _file_average(self) -> float:
        """The average row length bm25() used (all columns)."""
        if self.conn.in_transaction:
            # FTS5 writes its totals at a savepoint or commit: uncommitted rows would be missing
            self.conn.execute("SAVEPOINT keyword_totals")
            self.conn.execute("RELEASE keyword_totals")
        row = self.conn.execute(
            "SELECT block FROM messages_fts_data WHERE id = ?", [_AVERAGES_ROWID]
        ).fetchone()
        totals = varints(row[0]) if row else []
        return sum(totals[1:]) / totals[0] if totals and totals[0] else 1.0

    def size(self, scope: Filters) -> int:
        return len(self._scope(scope).rowids)

    def _scope(self, scope: Filters) -> Scope:
        """The scope's rows, read again only when the file has changed."""
        version = (
            id(self.conn),
            self.conn.total_changes,
            self.conn.execute("PRAGMA data_version").fetchone()[0],
        )
        key = (scope.resource_id, scope.thread_id)
        cached = self._cache.get(key)
        if cached is None or cached[0] != version:
            clause, params = where_clause(scope)
            rows = self.conn.execute(
                f"SELECT m.rowid, d.sz FROM messages m JOIN messages_fts_docsize d ON d.id = m.rowid WHERE {clause}",
                params,
            ).fetchall()
            if len(self._cache) > 64:
                self._cache.clear()
            cached = self._cache[key] = (version, Scope([(r[0], r[1]) for r in rows]))
        return cached[1]


def _frequencies(s1, s2, k):
    """How often the term occurs in each row, from its bm25() at content weights 1 and 2."""
    import numpy as np

    r = s2 / s1
    # r <= 1 only for frequencies far beyond any real message
    f = np.where(r > 1.0, k * (2 - r) / (2 * np.maximum(r - 1, 1e-12)), 1_000_000.0)
    return np.maximum(np.rint(f), 1.0)
