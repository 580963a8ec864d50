"""The schema's steps, in order: each a function of a sqlite_utils Database.

Append new steps at the end; never edit one that has shipped. The runner is
memcli/store/migrations.py.
"""

_STEPS: dict = {}


def _step(fn):
    _STEPS[fn.__name__] = fn
    return fn


def _run_script(db, script: str) -> None:
    """Run statements one by one: executescript would COMMIT the migration's transaction."""
    from memcli.store.connection import sqlite_module

    complete = sqlite_module().complete_statement
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if complete(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement in migration: {statement[:60]}")


@_step
def m001_core(db):
    _run_script(
        db,
        """
        CREATE TABLE resources (
            id TEXT PRIMARY KEY,
            working_memory TEXT,
            metadata TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE threads (
            id TEXT PRIMARY KEY,
            resource_id TEXT NOT NULL REFERENCES resources(id),
            title TEXT,
            metadata TEXT NOT NULL DEFAULT '{}',
            cloned_from TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX threads_resource ON threads(resource_id, created_at);
        CREATE TABLE messages (
            rowid INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            thread_id TEXT NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
            resource_id TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
            content TEXT NOT NULL,
            metadata TEXT NOT NULL DEFAULT '{}',
            token_count INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE INDEX messages_thread_time ON messages(thread_id, created_at, rowid);
        CREATE INDEX messages_resource_time ON messages(resource_id, created_at);
        CREATE VIRTUAL TABLE messages_fts USING fts5(
            content, content='messages', content_rowid='rowid',
            tokenize='porter unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content);
        END;
        CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content)
            VALUES ('delete', old.rowid, old.content);
        END;
        CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content)
            VALUES ('delete', old.rowid, old.content);
            INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content);
        END;
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            message_rowid INTEGER NOT NULL REFERENCES messages(rowid) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            content_hash TEXT NOT NULL,
            UNIQUE (message_rowid, seq)
        );
        CREATE INDEX chunks_hash ON chunks(content_hash);
        CREATE TABLE observations (
            id INTEGER PRIMARY KEY,
            scope TEXT NOT NULL CHECK (scope IN ('thread', 'resource')),
            scope_id TEXT NOT NULL,
            generation INTEGER NOT NULL,
            origin TEXT NOT NULL CHECK (origin IN ('observation', 'reflection')),
            observations TEXT NOT NULL,
            current_task TEXT,
            suggested_response TEXT,
            token_count INTEGER NOT NULL DEFAULT 0,
            observed_tokens INTEGER NOT NULL DEFAULT 0,
            last_observed_rowid INTEGER,
            metadata TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            UNIQUE (scope, scope_id, generation)
        );
        -- a thread's observations go with it, in the same transaction
        CREATE TRIGGER threads_delete_observations AFTER DELETE ON threads BEGIN
            DELETE FROM observations WHERE scope = 'thread' AND scope_id = old.id;
        END;
        """,
    )


@_step
def m002_working_memory(db):
    _run_script(
        db,
        """
        ALTER TABLE threads ADD COLUMN working_memory TEXT;
        CREATE TABLE working_memory_history (
            id INTEGER PRIMARY KEY,
            scope TEXT NOT NULL CHECK (scope IN ('thread', 'resource')),
            scope_id TEXT NOT NULL,
            content TEXT,
            source TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX working_memory_history_scope ON working_memory_history(scope, scope_id, id);
        CREATE TRIGGER threads_delete_working_memory AFTER DELETE ON threads BEGIN
            DELETE FROM working_memory_history WHERE scope = 'thread' AND scope_id = old.id;
        END;
        """,
    )


@_step
def m003_search_indexes(db):
    """Compact vector copies for search, and the resource in the FTS index.

    The codes are filled from the vec0 floats by Store right after this
    migration (numpy work, not SQL). The FTS table gains the resource id as
    a second column so a scoped keyword query only ranks that resource's
    matches (it ranked every resource's before: 4x slower at 100k).
    """
    _run_script(
        db,
        """
        CREATE TABLE vector_codes (
            id INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: segments refer to it
            chunk_id INTEGER NOT NULL UNIQUE REFERENCES chunks(id) ON DELETE CASCADE,
            message_rowid INTEGER NOT NULL,
            resource_id TEXT NOT NULL,
            code BLOB NOT NULL -- int8, scaled so the largest component is 127
        );
        CREATE INDEX vector_codes_resource ON vector_codes(resource_id, id);
        CREATE INDEX vector_codes_message ON vector_codes(message_rowid);
        CREATE TABLE vector_partitions (
            resource_id TEXT PRIMARY KEY,
            packed_upto INTEGER NOT NULL DEFAULT 0, -- codes with a higher id are not in a segment yet
            stale INTEGER NOT NULL DEFAULT 0 -- packed codes deleted since
        );
        CREATE TABLE vector_segments (
            resource_id TEXT NOT NULL,
            first_id INTEGER NOT NULL,
            ids BLOB NOT NULL, -- vector_codes ids, int64 little-endian
            bits BLOB NOT NULL, -- their sign bits, the same order
            PRIMARY KEY (resource_id, first_id)
        );
        CREATE TRIGGER vector_codes_delete AFTER DELETE ON vector_codes BEGIN
            UPDATE vector_partitions SET stale = stale + 1
            WHERE resource_id = old.resource_id AND old.id <= packed_upto;
        END;
        DROP TRIGGER messages_fts_insert;
        DROP TRIGGER messages_fts_delete;
        DROP TRIGGER messages_fts_update;
        DROP TABLE messages_fts;
        CREATE VIRTUAL TABLE messages_fts USING fts5(
            content, resource_id, content='messages', content_rowid='rowid',
            tokenize='porter unicode61 remove_diacritics 2'
        );
        -- bulk inserts index their batch in one statement instead (store/messages.py)
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
        WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'fts_deferred') BEGIN
            INSERT INTO messages_fts(rowid, content, resource_id)
            VALUES (new.rowid, new.content, new.resource_id);
        END;
        CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content, resource_id)
            VALUES ('delete', old.rowid, old.content, old.resource_id);
        END;
        CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, resource_id ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content, resource_id)
            VALUES ('delete', old.rowid, old.content, old.resource_id);
            INSERT INTO messages_fts(rowid, content, resource_id)
            VALUES (new.rowid, new.content, new.resource_id);
        END;
        INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
        INSERT INTO settings(key, value) VALUES ('vector_codes_pending', '1');
        """,
    )


@_step
def m004_shared_vectors(db):
    """Floats in one vec0 table without a resource partition, and a message-id counter.

    A vec0 partition reserves a whole chunk (1,024 vectors, 1.5 MB at 384
    dims) for each resource, so 200 users with one message each took 317 MB.
    Search reads the resource from the codes, so the floats need no partition.
    The counter keeps message rowids from ever being reused after a delete:
    the observer's cursor is a rowid and must never skip a new message.
    A database whose m003 upgrade was killed gets its codes derived again.
    """
    conn = db.conn
    conn.execute(
        "INSERT INTO settings(key, value) SELECT 'message_rowid_high', coalesce(max(rowid), 0) FROM messages"
    )
    old = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'vec_chunks'").fetchone()
    if old is None:
        return
    dim = int(conn.execute("SELECT value FROM settings WHERE key = 'embedding_dim'").fetchone()[0])
    conn.execute(f"CREATE VIRTUAL TABLE vec_floats USING vec0(embedding float[{dim}] distance_metric=cosine)")
    conn.execute("INSERT INTO vec_floats(rowid, embedding) SELECT rowid, embedding FROM vec_chunks")
    conn.execute("DROP TRIGGER IF EXISTS chunks_delete_vector")
    conn.execute("DROP TABLE vec_chunks")
    conn.execute(
        "CREATE TRIGGER chunks_delete_vector AFTER DELETE ON chunks BEGIN "
        "DELETE FROM vec_floats WHERE rowid = old.id; END"
    )
    chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    codes = conn.execute("SELECT count(*) FROM vector_codes").fetchone()[0]
    if chunks != codes:
        conn.execute("INSERT OR REPLACE INTO settings(key, value) VALUES ('vector_codes_pending', '1')")


@_step
def m005_memories(db):
    """Facts memory (Mem0-style): a memory id per fact, every change a new version.

    Bi-temporal like Graphiti's edges: valid_from/valid_to say when the fact
    was true, created_at/superseded_at when memcli learned and replaced it.
    Sources tie each version to the messages it came from (and their threads,
    so deleting a thread can forget what only it said). The extraction cursor
    is per thread and goes with the thread.
    """
    _run_script(
        db,
        """
        CREATE TABLE memories (
            id TEXT PRIMARY KEY,
            resource_id TEXT NOT NULL,
            thread_id TEXT,
            created_at TEXT NOT NULL,
            ended_at TEXT -- set by DELETE: no current version, history kept
        );
        CREATE INDEX memories_resource ON memories(resource_id, ended_at);
        CREATE TABLE memory_versions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            memory_id TEXT NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            event TEXT NOT NULL CHECK (event IN ('ADD', 'UPDATE', 'DELETE')),
            text TEXT NOT NULL,
            category TEXT,
            valid_from TEXT,
            valid_to TEXT,
            expires_at TEXT,
            created_at TEXT NOT NULL,
            superseded_at TEXT,
            actor TEXT NOT NULL,
            embedding BLOB,
            UNIQUE (memory_id, version)
        );
        CREATE INDEX memory_versions_current ON memory_versions(memory_id, superseded_at);
        CREATE TABLE memory_sources (
            version_id INTEGER NOT NULL REFERENCES memory_versions(id) ON DELETE CASCADE,
            message_id TEXT NOT NULL,
            thread_id TEXT NOT NULL,
            PRIMARY KEY (version_id, message_id)
        );
        CREATE INDEX memory_sources_thread ON memory_sources(thread_id);
        CREATE TABLE memory_cursors (
            thread_id TEXT PRIMARY KEY REFERENCES threads(id) ON DELETE CASCADE,
            last_rowid INTEGER NOT NULL
        );
        -- a thread's deletion forgets the memories that cite only its messages
        CREATE TRIGGER threads_delete_memories AFTER DELETE ON threads BEGIN
            DELETE FROM memories WHERE id IN (
                SELECT v.memory_id FROM memory_versions v JOIN memory_sources s ON s.version_id = v.id
                WHERE s.thread_id = old.id
            ) AND NOT EXISTS (
                SELECT 1 FROM memory_versions v JOIN memory_sources s ON s.version_id = v.id
                WHERE v.memory_id = memories.id AND s.thread_id != old.id
            );
            DELETE FROM memories WHERE thread_id = old.id;
        END;
        CREATE TRIGGER resources_delete_memories AFTER DELETE ON resources BEGIN
            DELETE FROM memories WHERE resource_id = old.id;
        END;
        """,
    )


@_step
def m006_fts_for_sqlite_tools(db):
    """The same full-text index, declared content="messages" (double quotes): that is
    how sqlite-utils and datasette recognise an FTS table and offer search on messages.
    The index is rebuilt once from the messages table."""
    _run_script(
        db,
        """
        DROP TRIGGER messages_fts_insert;
        DROP TRIGGER messages_fts_delete;
        DROP TRIGGER messages_fts_update;
        DROP TABLE messages_fts;
        CREATE VIRTUAL TABLE messages_fts USING fts5(
            content, resource_id, content="messages", content_rowid="rowid",
            tokenize="porter unicode61 remove_diacritics 2"
        );
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
        WHEN NOT EXISTS (SELECT 1 FROM settings WHERE key = 'fts_deferred') BEGIN
            INSERT INTO messages_fts(rowid, content, resource_id)
            VALUES (new.rowid, new.content, new.resource_id);
        END;
        CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content, resource_id)
            VALUES ('delete', old.rowid, old.content, old.resource_id);
        END;
        CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, resource_id ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content, resource_id)
            VALUES ('delete', old.rowid, old.content, old.resource_id);
            INSERT INTO messages_fts(rowid, content, resource_id)
            VALUES (new.rowid, new.content, new.resource_id);
        END;
        INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
        """,
    )


@_step
def m007_pending_embeddings(db):
    """Messages whose vectors are left to the next command that loads the model anyway
    (`memcli add` would otherwise spend 1.3 s loading it for one message)."""
    _run_script(
        db,
        """
        CREATE TABLE pending_embeddings (
            message_rowid INTEGER PRIMARY KEY REFERENCES messages(rowid) ON DELETE CASCADE
        );
        """,
    )


@_step
def m008_memory_embedding_model(db):
    """Each memory vector records the model that made it, so a search never compares
    vectors of two models (`embed --rebuild` with another model left the old ones).
    Vectors already stored are taken to be the recorded model's when their size fits."""
    _run_script(
        db,
        """
        ALTER TABLE memory_versions ADD COLUMN embedding_model TEXT;
        UPDATE memory_versions SET embedding_model = (SELECT value FROM settings WHERE key = 'embedding_model')
        WHERE embedding IS NOT NULL
          AND length(embedding) = 4 * coalesce((SELECT CAST(value AS INTEGER) FROM settings
                                                WHERE key = 'embedding_dim'), -1);
        """,
    )


@_step
def m009_observation_buffers(db):
    """Observations made ahead of the threshold by a background observer, kept aside until
    they are activated into the log (Mastra 1.31's buffering). Each covers messages after the
    log's cursor, up to last_rowid; a thread's go with it."""
    _run_script(
        db,
        """
        CREATE TABLE observation_buffers (
            id INTEGER PRIMARY KEY,
            scope TEXT NOT NULL CHECK (scope IN ('thread', 'resource')),
            scope_id TEXT NOT NULL,
            observations TEXT NOT NULL,
            current_task TEXT,
            suggested_response TEXT,
            first_rowid INTEGER NOT NULL,
            last_rowid INTEGER NOT NULL,
            token_count INTEGER NOT NULL DEFAULT 0,
            observed_tokens INTEGER NOT NULL DEFAULT 0,
            metadata TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            UNIQUE (scope, scope_id, last_rowid)
        );
        CREATE TRIGGER threads_delete_observation_buffers AFTER DELETE ON threads BEGIN
            DELETE FROM observation_buffers WHERE scope = 'thread' AND scope_id = old.id;
        END;
        """,
    )
