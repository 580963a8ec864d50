"""FTS5 keyword search (BM25) over message content."""

import re

from memcli.records import Filters
from memcli.store.filters import where_clause


def quoted(text: str) -> str:
    """An FTS5 string: user text never reaches FTS5's query syntax."""
    return '"' + text.replace('"', '""') + '"'


def fts_query(terms: list[str], resource_id: str | None = None) -> str:
    """OR of the terms in the content column, within one resource's messages if given.

    The resource clause is a prefilter (the tokenizer may fold two ids into
    one phrase): the SQL filter on messages.resource_id stays the exact test.
    """
    words = "content : (" + " OR ".join(quoted(t) for t in terms) + ")"
    if resource_id is None or not _WORD.search(resource_id):
        return words
    return f"resource_id : {quoted(resource_id)} AND {words}"


_WORD = re.compile(r"\w", re.UNICODE)

# bm25() weights per FTS column: the resource id only filters, never scores
_RANK = "bm25(messages_fts, 1.0, 0.0)"


class KeywordIndex:
    def __init__(self, conn):
        self.conn = conn

    def search(self, terms: list[str], filters: Filters, k: int) -> list[tuple[int, float]]:
        """(message rowid, BM25 score where higher is better), best first."""
        if not terms:
            return []
        clause, params = where_clause(filters)
        rows = self.conn.execute(
            f"SELECT m.rowid, -{_RANK} AS score FROM messages_fts "
            # CROSS JOIN pins the FTS match as the outer loop; otherwise the planner
            # walks every message of the resource and runs the MATCH per row (50x slower).
            "CROSS JOIN messages m ON m.rowid = messages_fts.rowid "
            f"WHERE messages_fts MATCH ? AND {clause} ORDER BY {_RANK} LIMIT ?",
            [fts_query(terms, filters.resource_id), *params, k],
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def rebuild(self) -> None:
        self.conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")

    def optimize(self) -> None:
        self.conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
