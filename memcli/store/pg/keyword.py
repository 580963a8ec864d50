"""Keyword search on PostgreSQL: the GIN-indexed tsvector finds the messages, and
BM25 ranks them with the same formula and constants FTS5's bm25() uses, so
the fusion in memcli/recall.py sees scores of the same shape on both stores.

Per-lexeme document counts and the average length come from `term_docs` and
`keyword_totals`, kept by statement triggers (pg/schema.py).
"""

import math

from memcli.records import Filters
from memcli.store import keyword
from memcli.store.filters import where_clause
from memcli.store.keyword import KeywordIndex

K1, B = 1.2, 0.75  # FTS5's bm25() constants


def _quoted(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _phrase(lexemes: list[tuple[str, int]]) -> str:
    """A term's lexemes (with positions) as a tsquery phrase: FTS5 matches a
    quoted term with several tokens as a phrase too."""
    out, last = _quoted(lexemes[0][0]), lexemes[0][1]
    for lexeme, position in lexemes[1:]:
        out += f" <{max(position - last, 1)}> {_quoted(lexeme)}"
        last = position
    return out


class PgQuery:
    """A tsquery, the BM25 weight (idf) of each lexeme in it, and the average length."""

    def __init__(self, tsquery: str, idf: dict[str, float], average: float):
        self.tsquery, self.idf, self.average = tsquery, idf, average


class PgKeywordIndex(KeywordIndex):
    def _lexemes(self, terms: list[str]) -> dict[str, list[tuple[str, int, int]]]:
        """term -> [(lexeme, position, documents holding it)] in the order written."""
        rows = self.conn.execute(
            "SELECT t.term, u.lexeme, u.positions[1], coalesce(d.docs, 0) "
            "FROM unnest(?::text[]) AS t(term) "
            "CROSS JOIN LATERAL unnest(to_tsvector('memcli_text', t.term)) AS u "
            "LEFT JOIN term_docs d ON d.lexeme = u.lexeme ORDER BY t.term, u.positions[1]",
            [terms],
        ).fetchall()
        out: dict[str, list] = {t: [] for t in terms}
        for term, lexeme, position, docs in rows:
            out[term].append((lexeme, position or 1, docs))
        return out

    def _totals(self) -> tuple[int, float]:
        docs, tokens = self.conn.execute("SELECT docs, tokens FROM keyword_totals").fetchone()
        return docs, (tokens / docs if docs else 1.0)

    def _common(self, terms: list[str]) -> set[str]:
        if self._totals()[0] <= keyword.COMMON_TERM_MESSAGES:
            return set()
        return {
            term
            for term, lexemes in self._lexemes(terms).items()
            if lexemes and min(docs for _, _, docs in lexemes) > keyword.COMMON_TERM_MESSAGES
        }

    def _query(self, terms: list[str], resource_id: str | None, joiner: str = "OR") -> PgQuery | None:  # type: ignore[override]
        total, average = self._totals()
        phrases, idf = [], {}
        for lexemes in self._lexemes(terms).values():
            if not lexemes:  # nothing the parser keeps (punctuation, underscores)
                continue
            phrases.append("(" + _phrase([(lex, pos) for lex, pos, _ in lexemes]) + ")")
            for lexeme, _, docs in lexemes:
                # FTS5: log((N - n + 0.5) / (n + 0.5)), never below a tiny positive weight
                # (the two counts are read apart: a writer in between may make docs > total)
                idf[lexeme] = max(math.log(max(total - docs + 0.5, 1e-9) / (docs + 0.5)), 1e-6)
        if not phrases:
            return None
        return PgQuery((" | " if joiner == "OR" else " & ").join(phrases), idf, average)

    def _ranked(self, match: PgQuery | None, filters: Filters, k: int) -> list[tuple[int, float]]:  # type: ignore[override]
        if match is None:
            return []
        clause, params = where_clause(filters)
        lexemes = list(match.idf)
        # each message's frequencies of the query's lexemes only: setweight marks them, ts_filter
        # keeps them (half the time of unnesting every lexeme of every matching message)
        rows = self.conn.execute(
            f"SELECT m.rowid, (SELECT sum(q.idf * cardinality(x.positions) * {K1 + 1} / "
            f"(cardinality(x.positions) + {K1} * ({1 - B} + {B} * m.term_count / ?::float8))) "
            "FROM unnest(ts_filter(setweight(m.terms, 'A', ?::text[]), '{a}')) x "
            "JOIN unnest(?::text[], ?::float8[]) AS q(lexeme, idf) ON q.lexeme = x.lexeme) AS score "
            f"FROM messages m WHERE m.terms @@ ?::tsquery AND {clause} ORDER BY score DESC, m.rowid LIMIT ?",
            [match.average, lexemes, lexemes, list(match.idf.values()), match.tsquery, *params, k],
        ).fetchall()
        return [(r[0], float(r[1])) for r in rows]

    def matching_all(self, terms: list[str], rowids: list[int]) -> set[int]:
        match = self._query(terms, None, "AND") if terms else None
        if match is None or not rowids:
            return set()
        rows = self.conn.execute(
            "SELECT rowid FROM messages WHERE terms @@ ?::tsquery AND rowid = ANY(?)", [match.tsquery, rowids]
        )
        return {r[0] for r in rows}

    def rebuild(self) -> None:
        """Recount the BM25 statistics from the messages (the index itself is kept by PostgreSQL)."""
        self.conn.execute("DELETE FROM term_docs")
        self.conn.execute(
            "INSERT INTO term_docs(lexeme, docs) SELECT u.lexeme, count(*) FROM messages m, unnest(m.terms) u "
            "GROUP BY u.lexeme"
        )
        self.conn.execute(
            "UPDATE keyword_totals SET docs = (SELECT count(*) FROM messages), "
            "tokens = (SELECT coalesce(sum(term_count), 0) FROM messages)"
        )

    def optimize(self) -> None:
        """Nothing to merge: the store's VACUUM ANALYZE tidies the GIN index."""
