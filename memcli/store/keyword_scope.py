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


class ScopedBM25:
    """Ranks FTS5 matches by BM25 over the messages one scope holds."""

    def __init__(self, conn, cache: dict):
        # cache: scope -> (file version, messages, total content tokens); kept by the caller
        self.conn, self._cache = conn, cache

    def rank(self, matches: dict[str, str], joiner: str, filters: Filters, k: int) -> list[tuple[int, float]]:
        """matches: term -> its FTS5 query within the scope; (rowid, score) best first."""
        scope = Filters(resource_id=filters.resource_id, thread_id=filters.thread_id)
        in_scope, scope_params = where_clause(scope)
        accepted, accepted_params = where_clause(filters)
        file_average = self._file_average()
        docs, average = self._scope_totals(scope, in_scope, scope_params)
        scores: dict[int, float] = {}
        holding: list[set[int]] = []
        for match in matches.values():
            rows = self.conn.execute(
                f"SELECT m.rowid, bm25(messages_fts, 1.0, 0.0), bm25(messages_fts, 2.0, 0.0), d.sz, ({accepted}) "
                "FROM messages_fts CROSS JOIN messages m ON m.rowid = messages_fts.rowid "
                "JOIN messages_fts_docsize d ON d.id = m.rowid "
                f"WHERE messages_fts MATCH ? AND {in_scope}",
                [*accepted_params, match, *scope_params],
            ).fetchall()
            weight = idf(docs, len(rows))
            holding.append({r[0] for r in rows})
            for rowid, s1, s2, size, ok in rows:
                if not ok:
                    continue
                lengths = varints(size)
                f = _frequency(s1, s2, K1 * (1 - B + B * sum(lengths) / file_average))
                scores[rowid] = scores.get(rowid, 0.0) + weight * f * (K1 + 1) / (
                    f + K1 * (1 - B + B * lengths[0] / average)
                )
        if joiner == "AND":
            every = set.intersection(*holding) if holding else set()
            scores = {r: s for r, s in scores.items() if r in every}
        return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]

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

    def _scope_totals(self, scope: Filters, in_scope: str, params: list) -> tuple[int, float]:
        """Messages in the scope and their average length in content tokens."""
        version = (
            id(self.conn),
            self.conn.total_changes,
            self.conn.execute("PRAGMA data_version").fetchone()[0],
        )
        key = (scope.resource_id, scope.thread_id)
        cached = self._cache.get(key)
        if cached is None or cached[0] != version:
            sizes = self.conn.execute(
                f"SELECT d.sz FROM messages m JOIN messages_fts_docsize d ON d.id = m.rowid WHERE {in_scope}",
                params,
            ).fetchall()
            if len(self._cache) > 256:
                self._cache.clear()
            cached = self._cache[key] = (version, len(sizes), sum(varints(s[0])[0] for s in sizes))
        _, docs, tokens = cached
        return docs, (tokens / docs if docs and tokens else 1.0)


def _frequency(s1: float, s2: float, k: float) -> int:
    """How often the term occurs in the row, from its bm25() at content weights 1 and 2."""
    r = s2 / s1
    if r <= 1.0:  # only for frequencies far beyond any real message
        return 1_000_000
    return max(round(k * (2 - r) / (2 * (r - 1))), 1)
