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


def test_an_interrupted_code_rebuild_is_finished_on_the_next_open(db_path, local_model, monkeypatch):
    """#14.5: the rebuild of search codes stopped mid-way (kill -9 in the field) is
    redone when the file is next opened, so vector recall finds everything."""
    from memcli import Memory
    from memcli.store import vectors
    from memcli.store.migrations import REINDEX_PENDING

    with Memory(db_path) as mem:
        for i in range(20):
            mem.add_message(f"note {i} about Lisbon trams", f"t{i % 2}", "alice")
        # what an upgrade that needs codes leaves behind before it derives them
        with mem.store.transaction():
            mem.store.conn.execute("DELETE FROM vector_codes")
            mem.store.set_setting(REINDEX_PENDING, "1")
    calls = []
    real = vectors.VectorIndex.reindex

    def dies_part_way(self, progress=None):
        calls.append(1)
        self.conn.execute("DELETE FROM vector_segments")
        raise KeyboardInterrupt  # the process dies mid-rebuild: its transaction is lost

    monkeypatch.setattr(vectors.VectorIndex, "reindex", dies_part_way)
    try:
        Memory(db_path)
    except KeyboardInterrupt:
        pass
    assert calls == [1]
    monkeypatch.setattr(vectors.VectorIndex, "reindex", real)
    with Memory(db_path) as mem:
        assert mem.store.vectors.missing_codes() == 0
        assert mem.store.get_setting(REINDEX_PENDING) is None
        hits = mem.recall("Lisbon trams", resource_id="alice", mode="vector", top_k=20, message_range=0).hits
        assert len(hits) == 20
