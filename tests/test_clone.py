"""Thread cloning and lineage (Mastra's cloneThread, from the command line)."""

import pytest

from conftest import EXAMPLE, db_snapshot

pytestmark = pytest.mark.both_backends

SOURCE = "t-2024-08-11-trip"


@pytest.fixture
def source(cli, local_model, db_path):
    assert cli("import", str(EXAMPLE)).code == 0
    from memcli.store import open_store
    from memcli.store.observations import ObservationRecord

    store = open_store(db_path)
    rowids = [
        r[0]
        for r in store.conn.execute("SELECT rowid FROM messages WHERE thread_id = ? ORDER BY rowid", [SOURCE])
    ]
    with store.transaction():
        store.observations.append(
            ObservationRecord(
                "thread",
                SOURCE,
                1,
                "observation",
                "* 🔴 (11:09) Marta is vegetarian",
                last_observed_rowid=rowids[3],
                created_at="2024-08-11T12:00:00.000000Z",
            ),
            owner="alice",
        )
    store.close()
    return rowids


FIELDS = ("role", "content", "created_at", "metadata")


def _messages(cli, thread):
    return cli("messages", "list", "-t", thread, "--json").json()


def test_clone_copies_messages_field_by_field(cli, source):
    r = cli("threads", "clone", SOURCE, "--id", "branch", "--json")
    assert r.code == 0, r.err
    data = r.json()
    assert (
        data["thread"]["id"] == "branch" and data["cloned"] == 8 and data["thread"]["cloned_from"] == SOURCE
    )
    original, copy = _messages(cli, SOURCE), _messages(cli, "branch")
    assert [[m[f] for f in FIELDS] for m in copy] == [[m[f] for f in FIELDS] for m in original]
    assert {m["id"] for m in copy}.isdisjoint({m["id"] for m in original})
    assert data["id_map"] == {o["id"]: c["id"] for o, c in zip(original, copy)}
    lineage = data["thread"]["metadata"]["clone"]
    assert lineage["source_thread_id"] == SOURCE and lineage["last_message_id"] == original[-1]["id"]


def test_clone_needs_no_model_and_its_copied_vectors_serve_recall(
    cli, source, db_path, monkeypatch, model_dir
):
    monkeypatch.setenv("MEMCLI_EMBEDDING_MODEL_PATH", "/nonexistent/model")  # no model while cloning
    assert cli("threads", "clone", SOURCE, "--id", "branch").code == 0
    monkeypatch.setenv("MEMCLI_EMBEDDING_MODEL_PATH", str(model_dir))
    from memcli import Memory

    mem = Memory(db_path)
    copied = mem.store.conn.execute(
        "SELECT count(*) FROM chunks c JOIN messages m ON m.rowid = c.message_rowid WHERE m.thread_id = 'branch'"
    ).fetchone()[0]
    assert copied == 8 and mem.stats()["embedded_messages"] == 30
    res = mem.recall(
        "food allergy", thread_id="branch", scope="thread", mode="vector", top_k=2, message_range=0
    )
    assert res.hits and {h.message.thread_id for h in res.hits} == {"branch"}
    assert "peanut" in " ".join(h.message.content for h in res.hits)
    assert mem.store.vectors.orphans() == 0
    mem.close()


def test_observations_come_along_with_the_cursor_remapped(cli, source, db_path):
    data = cli("threads", "clone", SOURCE, "--id", "branch", "--json").json()
    from memcli.store import open_store

    store = open_store(db_path)
    [record] = store.observations.history("thread", "branch")
    assert record.observations.startswith("* 🔴")
    new_rowid = store.conn.execute(
        "SELECT rowid FROM messages WHERE id = ?", [list(data["id_map"].values())[3]]
    ).fetchone()[0]
    assert record.last_observed_rowid == new_rowid
    store.close()


@pytest.mark.parametrize(
    "args,expected",
    [
        (["--last", "3"], [5, 6, 7]),
        (["--since", "2024-08-11T11:10:00Z"], [3, 4, 5, 6, 7]),
        (["--until", "2024-08-11T11:03:59Z"], []),
        (["--since", "2024-08-11T11:07:00Z", "--until", "2024-08-11T11:11:00Z"], [1, 2, 3]),
        (["--since", "2024-08-11T11:07:00Z", "--last", "1"], [7]),
    ],
)
def test_filters_select_exactly(cli, source, args, expected):
    original = _messages(cli, SOURCE)
    r = cli("threads", "clone", SOURCE, "--id", "branch", *args, "--json")
    assert r.code == 0, r.err
    assert [m["content"] for m in _messages(cli, "branch")] == [original[i]["content"] for i in expected]


def test_filter_by_message_ids(cli, source):
    original = _messages(cli, SOURCE)
    ids = f"{original[6]['id']},{original[0]['id']}"
    cli("threads", "clone", SOURCE, "--id", "branch", "--messages", ids)
    assert [m["content"] for m in _messages(cli, "branch")] == [
        original[0]["content"],
        original[6]["content"],
    ]
    r = cli("threads", "clone", SOURCE, "--id", "other", "--messages", "ex-001")
    assert r.code == 1 and "not in the source thread" in r.err


def test_lineage_over_three_generations_and_deleted_source(cli, source):
    cli("threads", "clone", SOURCE, "--id", "g1")
    cli("threads", "clone", "g1", "--id", "g2")
    cli("threads", "clone", "g2", "--id", "g3")
    cli("threads", "clone", "g1", "--id", "g2b")
    chain = cli("threads", "lineage", "g3", "--json").json()
    assert [c["id"] for c in chain] == [SOURCE, "g1", "g2", "g3"]
    clones = cli("threads", "list", "-r", "alice", "--clones-of", "g1", "--json").json()["threads"]
    assert sorted(t["id"] for t in clones) == ["g2", "g2b"]
    assert cli("threads", "delete", SOURCE, "--yes").code == 0
    chain = cli("threads", "lineage", "g3", "--json").json()
    assert chain[0] == {"id": SOURCE, "deleted": True} and len(_messages(cli, "g1")) == 8
    assert "(deleted)" in cli("threads", "lineage", "g3").out


def test_clone_into_another_resource(cli, source):
    refused = cli("threads", "clone", SOURCE, "--id", "for-bob", "-r", "bob")
    assert refused.code == 4 and "alice" not in refused.err  # the source's owner must be named
    r = cli("threads", "clone", SOURCE, "--id", "for-bob", "-r", "bob", "--from-resource", "alice", "--json")
    assert r.code == 0 and r.json()["thread"]["resource_id"] == "bob"
    assert {m["resource_id"] for m in _messages(cli, "for-bob")} == {"bob"}
    hits = cli("recall", "peanut", "-r", "bob", "--json").json()
    assert hits and all(h["resource_id"] == "bob" for h in hits)


def test_wrong_owner_of_the_source_is_refused(cli, source, db_path):
    before = db_snapshot(db_path)
    r = cli("threads", "clone", SOURCE, "--from-resource", "mallory", "-r", "mallory")
    assert r.code == 4
    assert r.err.strip() == (f"memcli: error: thread {SOURCE} not found or not of resource mallory")
    assert db_snapshot(db_path) == before


def test_failure_part_way_leaves_nothing(cli, source, db_path, monkeypatch):
    from memcli import Memory
    from memcli.store.vectors import VectorIndex

    before = db_snapshot(db_path)

    def boom(self, *a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(VectorIndex, "copy", boom)
    mem = Memory(db_path)
    with pytest.raises(RuntimeError):
        mem.clone_thread(SOURCE, new_thread_id="half")
    mem.close()
    assert db_snapshot(db_path) == before


def test_existing_target_id_is_refused(cli, source):
    cli("threads", "new", "--id", "taken", "-r", "alice")
    r = cli("threads", "clone", SOURCE, "--id", "taken")
    assert r.code == 1 and "already exists" in r.err


def test_show_marks_a_clone(cli, source):
    cli("threads", "clone", SOURCE, "--id", "branch")
    assert cli("threads", "show", "branch", "--json").json()["thread"]["cloned_from"] == SOURCE
