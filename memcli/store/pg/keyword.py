"""Keyword search on PostgreSQL: the GIN-indexed tsvector finds the messages, and
BM25 ranks them with the same formula and constants FTS5's bm25() uses, so
the fusion in memcli/recall.py sees scores of the same shape on both stores.

Per-lexeme document counts and the average length come from `term_docs` and
`keyword_totals`, kept per resource by statement triggers (pg/parallel_writes.py):
a search within one resource weighs its terms by that resource's messages alone,
so another user's writes never move its ranking; a search over every resource
sums them.
"""

from memcli.records import Filters
from memcli.store import keyword
from memcli.store.filters import where_clause
from memcli.store.keyword import KeywordIndex
from memcli.store.keyword_scope import K1, B, idf


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


# u.lexeme as a one-lexeme tsquery, quoted as _quoted() does it
_LEXEME_QUERY = r"""('''' || replace(replace(u.lexeme, '\', '\\'), '''', '''''') || '''')::tsquery"""


class PgQuery:
    """A tsquery, the BM25 weight (idf) of each lexeme in it, and the average length."""

    def __init__(self, tsquery: str, idf: dict[str, float], average: float):
        self.tsquery, self.idf, self.average = tsquery, idf, average


class PgKeywordIndex(KeywordIndex):
    def _lexemes(self, terms: list[str], scope: Filters) -> dict[str, list[tuple[str, int, int]]]:
        """term -> [(lexeme, position, documents of the scope holding it)] in the order written."""
        resource_id = scope.resource_id
        if scope.thread_id is not None:  # counted in the thread's messages (index on thread_id)
            clause, scope_params = where_clause(scope)
            docs = (
                "LEFT JOIN LATERAL (SELECT count(*) AS docs FROM messages m "
                f"WHERE {clause} AND m.terms @@ {_LEXEME_QUERY}) d ON true"
            )
            params = [terms, *scope_params]
        elif resource_id is not None:
            docs, params = (
                "LEFT JOIN term_docs d ON d.resource_id = ? AND d.lexeme = u.lexeme",
                [terms, resource_id],
            )
        else:  # every resource's counts, summed
            docs = "LEFT JOIN LATERAL (SELECT sum(docs) AS docs FROM term_docs WHERE lexeme = u.lexeme) d ON true"
            params = [terms]
        rows = self.conn.execute(
            "SELECT t.term, u.lexeme, u.positions[1], coalesce(d.docs, 0) "
            "FROM unnest(?::text[]) AS t(term) "
            f"CROSS JOIN LATERAL unnest(keyword_text(t.term)) AS u {docs} "
            "ORDER BY t.term, u.positions[1]",
            params,
        ).fetchall()
        out: dict[str, list] = {t: [] for t in terms}
        for term, lexeme, position, count in rows:
            out[term].append((lexeme, position or 1, count))
        return out

    def _totals(self, scope: Filters) -> tuple[int, float]:
        if scope.thread_id is not None:
            clause, params = where_clause(scope)
            sql = f"SELECT count(*), coalesce(sum(term_count), 0) FROM messages m WHERE {clause}"
        else:
            where, params = (
                ("WHERE resource_id = ?", [scope.resource_id]) if scope.resource_id is not None else ("", [])
            )
            sql = f"SELECT coalesce(sum(docs), 0), coalesce(sum(tokens), 0) FROM keyword_totals {where}"
        docs, tokens = self.conn.execute(sql, params).fetchone()
        return docs, (tokens / docs if docs else 1.0)

    def _common(self, terms: list[str], scope: Filters) -> set[str]:
        if self._totals(scope)[0] <= keyword.COMMON_TERM_MESSAGES:
            return set()
        return {
            term
            for term, lexemes in self._lexemes(terms, scope).items()
            if lexemes and min(docs for _, _, docs in lexemes) > keyword.COMMON_TERM_MESSAGES
        }

    def _query(self, terms: list[str], scope: Filters, joiner: str = "OR") -> PgQuery | None:  # type: ignore[override]
        total, average = self._totals(scope)
        phrases, weights = [], {}
        for lexemes in self._lexemes(terms, scope).values():
            if not lexemes:  # nothing the parser keeps (punctuation, underscores)
                continue
            phrases.append("(" + _phrase([(lex, pos) for lex, pos, _ in lexemes]) + ")")
            for lexeme, _, docs in lexemes:
                # the two counts are read apart: a writer in between may make docs > total
                weights[lexeme] = idf(total, docs)
        if not phrases:
            return None
        return PgQuery((" | " if joiner == "OR" else " & ").join(phrases), weights, average)

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
        match = self._query(terms, Filters(), "AND") if terms else None
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
            "INSERT INTO term_docs(resource_id, lexeme, docs) SELECT m.resource_id, u.lexeme, count(*) "
            "FROM messages m, unnest(m.terms) u GROUP BY 1, 2"
        )
        self.conn.execute("DELETE FROM keyword_totals")
        self.conn.execute(
            "INSERT INTO keyword_totals(resource_id, docs, tokens) "
            "SELECT resource_id, count(*), coalesce(sum(term_count), 0) FROM messages GROUP BY 1"
        )

    def optimize(self) -> None:
        """Nothing to merge: the store's VACUUM ANALYZE tidies the GIN index."""
