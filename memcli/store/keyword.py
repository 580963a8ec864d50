"""FTS5 keyword search (BM25) over message content."""

import re

from memcli.records import Filters
from memcli.store.base import Table
from memcli.store.filters import where_clause
from memcli.store.keyword_scope import ScopedBM25


def quoted(text: str) -> str:
    """An FTS5 string: user text never reaches FTS5's query syntax."""
    return '"' + text.replace('"', '""') + '"'


def fts_query(terms: list[str], resource_id: str | None = None, joiner: str = "OR") -> str:
    """The terms (OR, or AND) in the content column, within one resource's messages if given.

    The resource clause is a prefilter (the tokenizer may fold two ids into
    one phrase): the SQL filter on messages.resource_id stays the exact test.
    """
    words = "content : (" + f" {joiner} ".join(quoted(t) for t in terms) + ")"
    if resource_id is None or not _WORD.search(resource_id):
        return words
    return f"resource_id : {quoted(resource_id)} AND {words}"


_WORD = re.compile(r"\w", re.UNICODE)

# bm25() weights per FTS column: the resource id only filters, never scores
_RANK = "bm25(messages_fts, 1.0, 0.0)"

# Ranking costs ~4 us per matching message, so a term found in hundreds of
# thousands of messages made one query take 80 ms at 1M. Like Lucene's
# common-terms query: when a query also has rarer terms, terms in more
# messages than this only widen the match and are left out; when all are
# that common, they must all match. Stores below this size never change.
COMMON_TERM_MESSAGES = 20_000


class KeywordQuery:
    """Terms to match, joined by OR or AND, within a scope (a resource, a thread, or all)."""

    def __init__(self, terms: list[str], scope: Filters, joiner: str = "OR"):
        self.terms, self.scope, self.joiner = list(dict.fromkeys(terms)), scope, joiner

    def fts(self, terms: list[str] | None = None) -> str:
        return fts_query(self.terms if terms is None else terms, self.scope.resource_id, self.joiner)


class KeywordIndex(Table):
    def __init__(self, connections):
        super().__init__(connections)
        self._scopes: dict = {}  # each scope's rows, kept by keyword_scope.ScopedBM25

    def search(self, terms: list[str], filters: Filters, k: int) -> list[tuple[int, float]]:
        """(message rowid, BM25 score where higher is better), best first.

        Within a resource (or a thread) the scores use that scope's messages alone:
        another user's writes never change them."""
        if not terms:
            return []
        scope = Filters(resource_id=filters.resource_id, thread_id=filters.thread_id)
        common = self._common(terms, scope)
        if not common:
            return self._ranked(self._query(terms, scope), filters, k)
        rare = [t for t in terms if t not in common]
        if rare:
            return self._ranked(self._query(rare, scope), filters, k)
        hits = self._ranked(self._query(terms, scope, "AND"), filters, k)
        return hits if len(hits) >= k else self._ranked(self._query(terms, scope), filters, k)

    @staticmethod
    def _query(terms: list[str], scope: Filters, joiner: str = "OR"):
        """What _ranked() matches."""
        return KeywordQuery(terms, scope, joiner)

    def _common(self, terms: list[str], scope: Filters) -> set[str]:
        """Terms in more than COMMON_TERM_MESSAGES of the scope's messages (counting stops there)."""
        most = self.conn.execute("SELECT coalesce(max(rowid), 0) FROM messages").fetchone()[0]
        if most <= COMMON_TERM_MESSAGES:  # no term can be that common: skip the counts
            return set()
        scoped = scope.resource_id is not None or scope.thread_id is not None
        if scoped and ScopedBM25(self.conn, self._scopes).size(scope) <= COMMON_TERM_MESSAGES:
            return set()
        # counted through FTS5's resource prefilter alone: a threshold, not a score
        return {
            t
            for t in terms
            if self.conn.execute(
                "SELECT count(*) FROM (SELECT 1 FROM messages_fts WHERE messages_fts MATCH ? LIMIT ?)",
                [fts_query([t], scope.resource_id), COMMON_TERM_MESSAGES + 1],
            ).fetchone()[0]
            > COMMON_TERM_MESSAGES
        }

    def _ranked(self, match: KeywordQuery, filters: Filters, k: int) -> list[tuple[int, float]]:
        if match.scope.resource_id is not None or match.scope.thread_id is not None:
            per_term = {t: match.fts([t]) for t in match.terms}
            return ScopedBM25(self.conn, self._scopes).rank(per_term, match.joiner, filters, k)
        clause, params = where_clause(filters)
        rows = self.conn.execute(
            f"SELECT m.rowid, -{_RANK} AS score FROM messages_fts "
            # CROSS JOIN pins the FTS match as the outer loop; otherwise the planner
            # walks every message of the resource and runs the MATCH per row (50x slower).
            "CROSS JOIN messages m ON m.rowid = messages_fts.rowid "
            f"WHERE messages_fts MATCH ? AND {clause} ORDER BY {_RANK} LIMIT ?",
            [match.fts(), *params, k],
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def matching_all(self, terms: list[str], rowids: list[int]) -> set[int]:
        """Which of these messages contain every one of the terms (as FTS5 matches them)."""
        from memcli.store.batching import in_slices

        found: set[int] = set()
        if not terms:
            return found
        match = fts_query(terms, None, "AND")
        for part, marks in in_slices(rowids):
            found |= {
                r[0]
                for r in self.conn.execute(
                    f"SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? AND rowid IN ({marks})",
                    [match, *part],
                )
            }
        return found

    def rebuild(self) -> None:
        self.conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")

    def optimize(self) -> None:
        self.conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
