"""The PostgreSQL schema, versioned like SQLite's: named steps applied once, in
order, recorded in memcli.migrations. Append new steps; never edit a shipped one.

Everything lives in the `memcli` schema, so a database shared with other
programs is never touched outside it. The tables mirror SQLite's (same
names, same columns, same timestamps as ISO text) so the same SQL serves
both; what differs:

- full-text search is a generated tsvector column (`messages.terms`) with a
  GIN index, under the `memcli_text` configuration: PostgreSQL's default
  parser and an English Snowball stemmer without stop words (FTS5 here is
  porter + unicode61 without stop words). BM25 needs document counts per
  lexeme and the average length, which FTS5 keeps by itself: statement
  triggers keep them in `term_docs` and `keyword_totals`.
- vectors are pgvector columns in `vec_floats` (created with the model's
  dimension on first use, with an HNSW index), not codes and segments.
- SQLite triggers become foreign keys with ON DELETE CASCADE where they can.
"""

from memcli.errors import StoreError
from memcli.store.migrations import refuse_newer
from memcli.store.pg.connection import SCHEMA
from memcli.store.pg.keyword_text import P005
from memcli.store.pg.parallel_writes import P004

# one lock id for memcli's write transactions in a database (pg_advisory_xact_lock)
WRITE_LOCK = 0x6D656D636C69  # "memcli"

P001 = r"""
CREATE TEXT SEARCH DICTIONARY memcli_stem (TEMPLATE = snowball, Language = english);
CREATE TEXT SEARCH CONFIGURATION memcli_text (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION memcli_text
    ALTER MAPPING FOR asciiword, word, hword_asciipart, hword_part WITH memcli_stem;
-- FTS5 indexes the parts of a hyphenated word, not the whole
ALTER TEXT SEARCH CONFIGURATION memcli_text DROP MAPPING FOR asciihword, hword;

CREATE FUNCTION tsvector_tokens(tsvector) RETURNS integer IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE sql AS $$ SELECT coalesce(sum(cardinality(positions)), 0)::integer FROM unnest($1) $$;

CREATE TABLE settings (key text COLLATE "C" PRIMARY KEY, value text NOT NULL);

CREATE TABLE resources (
    id text COLLATE "C" PRIMARY KEY,
    working_memory text,
    metadata text NOT NULL DEFAULT '{}',
    created_at text COLLATE "C" NOT NULL,
    updated_at text COLLATE "C" NOT NULL
);

CREATE TABLE threads (
    id text COLLATE "C" PRIMARY KEY,
    resource_id text COLLATE "C" NOT NULL REFERENCES resources(id),
    title text,
    metadata text NOT NULL DEFAULT '{}',
    cloned_from text,
    created_at text COLLATE "C" NOT NULL,
    updated_at text COLLATE "C" NOT NULL,
    working_memory text
);
CREATE INDEX threads_resource ON threads(resource_id, created_at);

CREATE TABLE messages (
    rowid bigint PRIMARY KEY,
    id text COLLATE "C" NOT NULL UNIQUE,
    thread_id text COLLATE "C" NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    resource_id text COLLATE "C" NOT NULL,
    role text NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    content text NOT NULL,
    metadata text NOT NULL DEFAULT '{}',
    token_count integer NOT NULL DEFAULT 0,
    created_at text COLLATE "C" NOT NULL,
    terms tsvector GENERATED ALWAYS AS (to_tsvector('memcli.memcli_text', content)) STORED,
    term_count integer GENERATED ALWAYS AS
        (memcli.tsvector_tokens(to_tsvector('memcli.memcli_text', content))) STORED
);
CREATE INDEX messages_thread_time ON messages(thread_id, created_at, rowid);
CREATE INDEX messages_resource_time ON messages(resource_id, created_at);
CREATE INDEX messages_terms ON messages USING gin (terms);

CREATE TABLE term_docs (lexeme text COLLATE "C" PRIMARY KEY, docs bigint NOT NULL);
CREATE TABLE keyword_totals (one boolean PRIMARY KEY DEFAULT true CHECK (one),
                             docs bigint NOT NULL, tokens bigint NOT NULL);
INSERT INTO keyword_totals VALUES (true, 0, 0);

CREATE FUNCTION keyword_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE memcli.term_docs d SET docs = d.docs - r.n
        FROM (SELECT u.lexeme, count(*) AS n FROM removed, unnest(removed.terms) u GROUP BY u.lexeme) r
        WHERE d.lexeme = r.lexeme;
        DELETE FROM memcli.term_docs WHERE docs <= 0;
        UPDATE memcli.keyword_totals SET docs = docs - (SELECT count(*) FROM removed),
            tokens = tokens - (SELECT coalesce(sum(term_count), 0) FROM removed);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO memcli.term_docs AS d (lexeme, docs)
        SELECT u.lexeme, count(*) FROM added, unnest(added.terms) u GROUP BY u.lexeme
        ON CONFLICT (lexeme) DO UPDATE SET docs = d.docs + excluded.docs;
        UPDATE memcli.keyword_totals SET docs = docs + (SELECT count(*) FROM added),
            tokens = tokens + (SELECT coalesce(sum(term_count), 0) FROM added);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER messages_stats_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION keyword_stats();
CREATE TRIGGER messages_stats_update AFTER UPDATE ON messages
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION keyword_stats();
CREATE TRIGGER messages_stats_delete AFTER DELETE ON messages
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION keyword_stats();

CREATE TABLE chunks (
    id bigserial PRIMARY KEY,
    message_rowid bigint NOT NULL REFERENCES messages(rowid) ON DELETE CASCADE,
    seq integer NOT NULL,
    content_hash text NOT NULL,
    UNIQUE (message_rowid, seq)
);
CREATE INDEX chunks_hash ON chunks(content_hash);

CREATE TABLE pending_embeddings (
    message_rowid bigint PRIMARY KEY REFERENCES messages(rowid) ON DELETE CASCADE
);

CREATE TABLE observations (
    id bigserial PRIMARY KEY,
    scope text NOT NULL CHECK (scope IN ('thread', 'resource')),
    scope_id text COLLATE "C" NOT NULL,
    generation integer NOT NULL,
    origin text NOT NULL CHECK (origin IN ('observation', 'reflection')),
    observations text NOT NULL,
    current_task text,
    suggested_response text,
    token_count integer NOT NULL DEFAULT 0,
    observed_tokens integer NOT NULL DEFAULT 0,
    last_observed_rowid bigint,
    metadata text NOT NULL DEFAULT '{}',
    created_at text COLLATE "C" NOT NULL,
    UNIQUE (scope, scope_id, generation)
);

CREATE TABLE working_memory_history (
    id bigserial PRIMARY KEY,
    scope text NOT NULL CHECK (scope IN ('thread', 'resource')),
    scope_id text COLLATE "C" NOT NULL,
    content text,
    source text NOT NULL,
    created_at text COLLATE "C" NOT NULL
);
CREATE INDEX working_memory_history_scope ON working_memory_history(scope, scope_id, id);

CREATE TABLE memories (
    id text COLLATE "C" PRIMARY KEY,
    resource_id text COLLATE "C" NOT NULL,
    thread_id text COLLATE "C",
    created_at text COLLATE "C" NOT NULL,
    ended_at text COLLATE "C"
);
CREATE INDEX memories_resource ON memories(resource_id, ended_at);
CREATE TABLE memory_versions (
    id bigserial PRIMARY KEY,
    memory_id text COLLATE "C" NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
    version integer NOT NULL,
    event text NOT NULL CHECK (event IN ('ADD', 'UPDATE', 'DELETE')),
    text text NOT NULL,
    category text,
    valid_from text COLLATE "C",
    valid_to text COLLATE "C",
    expires_at text COLLATE "C",
    created_at text COLLATE "C" NOT NULL,
    superseded_at text COLLATE "C",
    actor text NOT NULL,
    embedding bytea,
    UNIQUE (memory_id, version)
);
CREATE INDEX memory_versions_current ON memory_versions(memory_id, superseded_at);
CREATE TABLE memory_sources (
    rowid bigserial UNIQUE,  -- insertion order, as SQLite's rowid gives it
    version_id bigint NOT NULL REFERENCES memory_versions(id) ON DELETE CASCADE,
    message_id text COLLATE "C" NOT NULL,
    thread_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (version_id, message_id)
);
CREATE INDEX memory_sources_thread ON memory_sources(thread_id);
CREATE TABLE memory_cursors (
    thread_id text COLLATE "C" PRIMARY KEY REFERENCES threads(id) ON DELETE CASCADE,
    last_rowid bigint NOT NULL
);

-- what SQLite's triggers do when a thread or resource goes
CREATE FUNCTION thread_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM memcli.observations WHERE scope = 'thread' AND scope_id = OLD.id;
    DELETE FROM memcli.working_memory_history WHERE scope = 'thread' AND scope_id = OLD.id;
    DELETE FROM memcli.memories WHERE id IN (
        SELECT v.memory_id FROM memcli.memory_versions v JOIN memcli.memory_sources s ON s.version_id = v.id
        WHERE s.thread_id = OLD.id
    ) AND NOT EXISTS (
        SELECT 1 FROM memcli.memory_versions v JOIN memcli.memory_sources s ON s.version_id = v.id
        WHERE v.memory_id = memories.id AND s.thread_id != OLD.id
    );
    DELETE FROM memcli.memories WHERE thread_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER threads_deleted AFTER DELETE ON threads FOR EACH ROW EXECUTE FUNCTION thread_deleted();
CREATE FUNCTION resource_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM memcli.memories WHERE resource_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER resources_deleted AFTER DELETE ON resources FOR EACH ROW EXECUTE FUNCTION resource_deleted();
"""

# Each memory vector records the model that made it (see SQLite's m008).
P002 = """
ALTER TABLE memory_versions ADD COLUMN embedding_model text;
UPDATE memory_versions SET embedding_model = (SELECT value FROM settings WHERE key = 'embedding_model')
WHERE embedding IS NOT NULL
  AND length(embedding) = 4 * coalesce((SELECT value::int FROM settings WHERE key = 'embedding_dim'), -1);
"""

# Observations buffered ahead of the threshold (see SQLite's m009).
P003 = """
CREATE TABLE observation_buffers (
    id bigserial PRIMARY KEY,
    scope text NOT NULL CHECK (scope IN ('thread', 'resource')),
    scope_id text COLLATE "C" NOT NULL,
    observations text NOT NULL,
    current_task text,
    suggested_response text,
    first_rowid bigint NOT NULL,
    last_rowid bigint NOT NULL,
    token_count integer NOT NULL DEFAULT 0,
    observed_tokens integer NOT NULL DEFAULT 0,
    metadata text NOT NULL DEFAULT '{}',
    created_at text COLLATE "C" NOT NULL,
    UNIQUE (scope, scope_id, last_rowid)
);
CREATE FUNCTION thread_buffers_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM memcli.observation_buffers WHERE scope = 'thread' AND scope_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER threads_buffers_deleted AFTER DELETE ON threads FOR EACH ROW EXECUTE FUNCTION thread_buffers_deleted();
"""

STEPS = {
    "p001_schema": P001,
    "p002_memory_embedding_model": P002,
    "p003_observation_buffers": P003,
    "p004_parallel_writers": P004,
    "p005_folded_keyword_text": P005,
}


def applied(conn) -> list[str] | None:
    """Migrations recorded in this database; None if memcli's schema is not there."""
    exists = conn.execute("SELECT to_regclass(?) IS NOT NULL", [f"{SCHEMA}.migrations"]).fetchone()[0]
    if not exists:
        return None
    return [r[0] for r in conn.execute(f"SELECT name FROM {SCHEMA}.migrations ORDER BY applied_at, name")]


def _check_ours(conn) -> None:
    """Refuse a `memcli` schema that another program made (memcli writes only to its own)."""
    tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = ?", [SCHEMA]).fetchone()[0]
    if tables and applied(conn) is None:
        raise StoreError(
            f"this database has a schema named {SCHEMA!r} that memcli did not create; "
            "memcli only writes to its own tables (use another database)"
        )


def _ensure_vector_extension(conn) -> None:
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone():
        return
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except Exception as exc:  # psycopg's error types: not installed, not allowed
        reason = str(exc).strip().splitlines()[0]
        raise StoreError(
            f"the pgvector extension is not available in this database ({reason}); "
            "install pgvector on the server and run CREATE EXTENSION vector as its owner"
        ) from None


def ensure_schema(conn, notice=None) -> list[str]:
    """Create or upgrade memcli's schema (one transaction, writers locked out);
    refuse a database written by a newer memcli. Returns the steps applied."""
    done = applied(conn)
    refuse_newer(done or [], STEPS)
    if done is not None and len(done) == len(STEPS):
        return []
    _check_ours(conn)
    if done and notice is not None:
        notice(
            f"upgrading the PostgreSQL schema for this memcli ({', '.join(s for s in STEPS if s not in done)})"
        )
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(?)", [WRITE_LOCK])
        # under the lock: two first opens at once would race on CREATE EXTENSION IF NOT EXISTS
        _ensure_vector_extension(conn)
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        conn.execute(f"SET LOCAL search_path TO {SCHEMA}, public")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.migrations (name text PRIMARY KEY, applied_at text NOT NULL)"
        )
        done = applied(conn) or []  # another process may have done it meanwhile
        refuse_newer(done, STEPS)
        now_applied = []
        for name, sql in STEPS.items():
            if name in done:
                continue
            conn.script(sql)
            conn.execute(
                f"INSERT INTO {SCHEMA}.migrations(name, applied_at) VALUES (?, "
                "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))",
                [name],
            )
            now_applied.append(name)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return now_applied
