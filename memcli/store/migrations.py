"""Schema migrations, applied in order through sqlite_utils.Migrations("memcli").

Append new migrations at the end; never edit one that has shipped. The
sqlite_utils import (~0.2 s) is only paid when something is pending: the
common case is answered with one plain query.
"""

from memcli.errors import StoreError

MIGRATION_SET = "memcli"

_STEPS = {}


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


def _applied(conn) -> list[str] | None:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"
    ).fetchone()
    if not exists:
        return None
    rows = conn.execute(
        "SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY rowid",
        [MIGRATION_SET],
    ).fetchall()
    return [r[0] for r in rows]


def known_migrations() -> list[str]:
    return list(_STEPS)


def ensure_schema(conn) -> None:
    """Bring the database up to date; refuse one written by a newer memcli."""
    applied = _applied(conn) or []
    unknown = [name for name in applied if name not in _STEPS]
    if unknown:
        raise StoreError(
            f"this database was written by a newer memcli (migration {unknown[-1]}); "
            "upgrade memcli to use it (pip install -U memcli)"
        )
    if len(applied) == len(_STEPS):
        return
    import sqlite_utils

    migrations = sqlite_utils.Migrations(MIGRATION_SET)
    for name, fn in _STEPS.items():
        migrations(name=name)(fn)
    # sqlite-utils manages its own transactions on the connection it wraps
    db = sqlite_utils.Database(conn)
    migrations.apply(db)
