"""What PostgreSQL indexes of a message for keyword search, made to agree with SQLite.

FTS5 (unicode61, remove_diacritics 2) folds "São" to "sao"; PostgreSQL's parser
does not, and the unaccent extension is not everywhere (the PyPI servers lack
it). So both the indexed text and a query's terms go through `folded()`, a
translate() of every Latin letter with diacritics to its base letter, built
here from Unicode's own decompositions.

A tsvector cannot exceed 1 MB, so one long message made a whole `db copy`
fail. The index covers a message's first INDEXED_CHARS characters (the whole
message is stored; recall by meaning still reads its chunks).
"""

import unicodedata

INDEXED_CHARS = 100_000  # worst case (4-byte lexemes, 2-byte positions) stays under 1 MB


def _latin_folds() -> tuple[str, str]:
    accented, plain = [], []
    for start, end in ((0x00C0, 0x024F), (0x1E00, 0x1EFF)):
        for code in range(start, end + 1):
            ch = chr(code)
            parts = unicodedata.normalize("NFD", ch)
            base, marks = parts[0], parts[1:]
            if marks and base.isascii() and base.isalpha() and all(unicodedata.combining(c) for c in marks):
                accented.append(ch)
                plain.append(base)
    return "".join(accented), "".join(plain)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_FROM, _TO = _latin_folds()

# Folded, length-capped keyword text (p005); the statistics are recounted after it.
P005 = f"""
CREATE FUNCTION folded(text) RETURNS text IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
RETURN translate($1, {_literal(_FROM)}, {_literal(_TO)});
CREATE FUNCTION keyword_text(text) RETURNS tsvector IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
RETURN to_tsvector('memcli.memcli_text', memcli.folded(left($1, {INDEXED_CHARS})));
ALTER TABLE messages DROP COLUMN term_count, DROP COLUMN terms;
ALTER TABLE messages
    ADD COLUMN terms tsvector GENERATED ALWAYS AS (memcli.keyword_text(content)) STORED,
    ADD COLUMN term_count integer GENERATED ALWAYS AS (memcli.tsvector_tokens(memcli.keyword_text(content))) STORED;
CREATE INDEX messages_terms ON messages USING gin (terms);
DELETE FROM term_docs;
INSERT INTO term_docs(resource_id, lexeme, docs)
    SELECT m.resource_id, u.lexeme, count(*) FROM messages m, unnest(m.terms) u GROUP BY 1, 2;
DELETE FROM keyword_totals;
INSERT INTO keyword_totals(resource_id, docs, tokens)
    SELECT resource_id, count(*), coalesce(sum(term_count), 0) FROM messages GROUP BY 1;
"""
