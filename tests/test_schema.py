"""The blank database: schema, pragmas, permissions, and upgrades."""

import os
import stat

import pytest

from memcli.errors import StoreError
from memcli.store import Store
from memcli.store.connection import connect
from memcli.store.migrations import known_migrations

EXPECTED_COLUMNS = {
    "resources": ["id", "working_memory", "metadata", "created_at", "updated_at"],
    "threads": [
        "id",
        "resource_id",
        "title",
        "metadata",
        "cloned_from",
        "created_at",
        "updated_at",
        "working_memory",
    ],
    "working_memory_history": ["id", "scope", "scope_id", "content", "source", "created_at"],
    "messages": [
        "rowid",
        "id",
        "thread_id",
        "resource_id",
        "role",
        "content",
        "metadata",
        "token_count",
        "created_at",
    ],
    "settings": ["key", "value"],
    "chunks": ["id", "message_rowid", "seq", "content_hash"],
    "observations": [
        "id",
        "scope",
        "scope_id",
        "generation",
        "origin",
        "observations",
        "current_task",
        "suggested_response",
        "token_count",
        "observed_tokens",
        "last_observed_rowid",
        "metadata",
        "created_at",
    ],
}


def test_blank_database_schema(db_path):
    store = Store(db_path)
    conn = store.conn
    for table, columns in EXPECTED_COLUMNS.items():
        assert [r[1] for r in conn.execute(f"PRAGMA table_info({table})")] == columns, table
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger')")}
    assert {
        "messages_thread_time",
        "messages_resource_time",
        "threads_resource",
        "chunks_hash",
        "messages_fts_insert",
        "messages_fts_delete",
        "messages_fts_update",
        "threads_delete_observations",
    } <= names
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'messages_fts'").fetchone()
    applied = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert applied == known_migrations()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    store.close()


def test_file_is_private(db_path):
    Store(db_path).close()
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(db_path.parent).st_mode) == 0o700


def test_reopening_applies_nothing_twice(db_path):
    Store(db_path).close()
    store = Store(db_path)
    count = store.conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
    assert count == len(known_migrations())


def test_database_from_a_newer_memcli_is_refused_untouched(db_path):
    Store(db_path).close()
    conn, _ = connect(db_path)
    conn.execute(
        "INSERT INTO _sqlite_migrations(migration_set, name, applied_at) VALUES ('memcli', 'm999_future', 'x')"
    )
    conn.close()
    before = db_path.read_bytes()
    with pytest.raises(StoreError, match="newer memcli"):
        Store(db_path)
    conn, _ = connect(db_path)
    assert (
        conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == len(known_migrations()) + 1
    )
    conn.close()
    assert len(db_path.read_bytes()) == len(before)


def test_newer_database_cli_message(cli, db_path):
    Store(db_path).close()
    conn, _ = connect(db_path)
    conn.execute(
        "INSERT INTO _sqlite_migrations(migration_set, name, applied_at) VALUES ('memcli', 'm999_future', 'x')"
    )
    conn.close()
    r = cli("threads", "list")
    assert r.code == 1
    assert r.err.strip().count("\n") == 0
    assert "newer memcli" in r.err


def test_sqlite_utils_opens_the_file_and_finds_its_full_text_search(cli, db_path):
    """#18: the README's sqlite-utils commands, run with the real sqlite-utils CLI."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from conftest import EXAMPLE

    assert cli("import", EXAMPLE, "--no-embed").code == 0
    assert cli("embed").code in (0, 1)  # with or without the local model: vec0 may exist
    extension = cli("db", "extension").out.strip()
    tool = Path(sys.executable).with_name("sqlite-utils")
    tables = subprocess.run(
        [tool, "tables", db_path, "--counts", "--load-extension", extension], capture_output=True, text=True
    )
    assert tables.returncode == 0, tables.stderr
    counts = {t["table"]: t["count"] for t in json.loads(tables.stdout)}
    assert counts["messages"] == 22
    found = subprocess.run(
        [tool, "search", db_path, "messages", "Lisbon", "-c", "content", "--load-extension", extension],
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0, found.stderr
    assert any("Lisbon" in row["content"] for row in json.loads(found.stdout))
