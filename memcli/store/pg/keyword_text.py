"""What PostgreSQL indexes of a message for keyword search, made to agree with SQLite.

FTS5 (unicode61, remove_diacritics 2) folds "São" to "sao"; PostgreSQL's parser
does not, and the unaccent extension is not everywhere (the PyPI servers lack
it). So both the indexed text and a query's terms go through `folded()`: text
with anything beyond ASCII is decomposed (NFD), its combining marks removed
and the rest recomposed (NFC); ASCII text is left alone (a regex test, 2 us a
row; a translate() of every accented Latin letter took 250 us a row).

A tsvector cannot exceed 1 MB, so one long message made a whole `db copy`
fail. The index covers a message's first INDEXED_CHARS characters (the whole
message is stored; recall by meaning still reads its chunks).
"""

INDEXED_CHARS = 100_000  # worst case (4-byte lexemes, 2-byte positions) stays under 1 MB

# Folded, length-capped keyword text (p005); the statistics are recounted after it.
P005 = f"""
CREATE FUNCTION folded(text) RETURNS text IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
RETURN CASE WHEN $1 ~ '[^[:ascii:]]'
    THEN normalize(regexp_replace(normalize($1, NFD), '[\\u0300-\\u036f]', '', 'g'), NFC)
    ELSE $1 END;
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
