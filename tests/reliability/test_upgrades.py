"""A database from an earlier schema migrates forward with nothing lost."""

import shutil
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "schema-m001.db"


def test_old_database_migrates_forward(cli, db_path):
    db_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIXTURE, db_path)
    r = cli("messages", "list", "-t", "t1", "--json")
    assert r.code == 0, r.err
    assert "upgrading the database" in r.err  # a slow one-time step is announced
    assert [m["id"] for m in r.json()] == [f"old-{i}" for i in range(5)]
    assert "upgrading" not in cli("messages", "list", "-t", "t1").err
    assert r.json()[0]["metadata"] == {"v": 1}
    assert "Alice" in cli("memory", "show", "-r", "alice").out
    assert "Lisbon" in cli("observations", "show", "-t", "t1").out
    hits = cli("recall", "Lisbon", "-r", "alice", "--mode", "keyword", "--json").json()
    assert hits and hits[0]["id"].startswith("old-")
    from memcli.store import Store
    from memcli.store.migrations import known_migrations

    store = Store(db_path)
    applied = [r[0] for r in store.conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert applied == known_migrations()
    store.close()
