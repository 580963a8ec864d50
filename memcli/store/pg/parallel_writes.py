"""What lets writers of different resources commit in parallel on PostgreSQL.

A write that names its resources (`PgStore.transaction(resources=...)`) takes
the database's memcli lock shared and one lock per resource exclusive; every
other write takes the database lock exclusive, as before. So two writers of
one resource still queue (an owner check and the write it guards stay
atomic, a thread's rowids grow in commit order), while writers of different
resources share no lock and, after P004, no row: message rowids come from a
sequence instead of max(rowid) + 1 and a settings row, and the BM25
statistics are kept per resource (a user's ranking depends on that user's
messages alone, and no two resources update the same statistics row).
"""

import hashlib

# the two-int form of pg_advisory_xact_lock is a key space apart from WRITE_LOCK's bigint
RESOURCE_LOCKS = 0x6D656D63  # "memc": the first key of every resource lock


def resource_lock_keys(resources) -> list[int]:
    """Each resource's second lock key, sorted: every writer takes them in one order, so
    two writers of overlapping resources queue instead of deadlocking (a collision of
    two resources on one key only makes them queue)."""
    return sorted(
        {
            int.from_bytes(hashlib.blake2b(r.encode(), digest_size=4).digest(), "big", signed=True)
            for r in resources
        }
    )


# Per-resource BM25 statistics and a rowid sequence (see the docstring above).
P004 = """
CREATE SEQUENCE message_rowids;
SELECT setval('memcli.message_rowids', 1 + greatest(
    (SELECT coalesce(max(rowid), 0) FROM messages),
    (SELECT coalesce(max(value::bigint), 0) FROM settings WHERE key = 'message_rowid_high')), false);
DELETE FROM settings WHERE key = 'message_rowid_high';

DROP TABLE term_docs;
DROP TABLE keyword_totals;
CREATE TABLE term_docs (resource_id text COLLATE "C" NOT NULL, lexeme text COLLATE "C" NOT NULL,
                        docs bigint NOT NULL, PRIMARY KEY (resource_id, lexeme));
CREATE TABLE keyword_totals (resource_id text COLLATE "C" PRIMARY KEY,
                             docs bigint NOT NULL, tokens bigint NOT NULL);
CREATE INDEX term_docs_lexeme ON term_docs(lexeme);  -- a search over every resource sums them
INSERT INTO term_docs(resource_id, lexeme, docs)
    SELECT m.resource_id, u.lexeme, count(*) FROM messages m, unnest(m.terms) u GROUP BY 1, 2;
INSERT INTO keyword_totals(resource_id, docs, tokens)
    SELECT resource_id, count(*), coalesce(sum(term_count), 0) FROM messages GROUP BY 1;

-- the statement triggers of p001 call this function by name: replacing it is enough
CREATE OR REPLACE FUNCTION keyword_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE memcli.term_docs d SET docs = d.docs - r.n
        FROM (SELECT removed.resource_id, u.lexeme, count(*) AS n
              FROM removed, unnest(removed.terms) u GROUP BY 1, 2) r
        WHERE d.resource_id = r.resource_id AND d.lexeme = r.lexeme;
        DELETE FROM memcli.term_docs d WHERE d.docs <= 0
            AND d.resource_id IN (SELECT DISTINCT resource_id FROM removed);
        UPDATE memcli.keyword_totals t SET docs = t.docs - r.n, tokens = t.tokens - r.tokens
        FROM (SELECT resource_id, count(*) AS n, coalesce(sum(term_count), 0) AS tokens
              FROM removed GROUP BY 1) r
        WHERE t.resource_id = r.resource_id;
        DELETE FROM memcli.keyword_totals t WHERE t.docs <= 0
            AND t.resource_id IN (SELECT DISTINCT resource_id FROM removed);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO memcli.term_docs AS d (resource_id, lexeme, docs)
        SELECT added.resource_id, u.lexeme, count(*) FROM added, unnest(added.terms) u GROUP BY 1, 2
        ON CONFLICT (resource_id, lexeme) DO UPDATE SET docs = d.docs + excluded.docs;
        INSERT INTO memcli.keyword_totals AS t (resource_id, docs, tokens)
        SELECT resource_id, count(*), coalesce(sum(term_count), 0) FROM added GROUP BY 1
        ON CONFLICT (resource_id) DO UPDATE SET docs = t.docs + excluded.docs, tokens = t.tokens + excluded.tokens;
    END IF;
    RETURN NULL;
END $$;
"""
