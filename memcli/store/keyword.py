"""FTS5 keyword search (BM25) over message content."""

from memcli.records import Filters
from memcli.store.filters import where_clause


def fts_query(terms: list[str]) -> str:
    """OR of quoted terms: user text never reaches FTS5's query syntax."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


class KeywordIndex:
    def __init__(self, conn):
        self.conn = conn

    def search(self, terms: list[str], filters: Filters, k: int) -> list[tuple[int, float]]:
        """(message rowid, BM25 score where higher is better), best first."""
        if not terms:
            return []
        clause, params = where_clause(filters)
        rows = self.conn.execute(
            "SELECT m.rowid, -bm25(messages_fts) AS score FROM messages_fts "
            # CROSS JOIN pins the FTS match as the outer loop; otherwise the planner
            # walks every message of the resource and runs the MATCH per row (50x slower).
            "CROSS JOIN messages m ON m.rowid = messages_fts.rowid "
            f"WHERE messages_fts MATCH ? AND {clause} ORDER BY bm25(messages_fts) LIMIT ?",
            [fts_query(terms), *params, k],
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def rebuild(self) -> None:
        self.conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")

    def optimize(self) -> None:
        self.conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
