"""Threads and ownership: memcli threads new|list|show|rename|delete."""

import pytest

from conftest import db_snapshot, sql

pytestmark = pytest.mark.both_backends

WRONG_OWNER = "thread t1 not found or not of resource bob"


@pytest.fixture
def two_threads(cli):
    assert (
        cli("threads", "new", "--id", "t1", "-r", "alice", "--title", "Lisbon", "--meta", "topic=move").code
        == 0
    )
    assert cli("threads", "new", "--id", "t2", "-r", "bob", "--meta", "topic=work", "--meta", "n=2").code == 0
    for text in ("I moved to Lisbon", "The flat is in Alfama"):
        assert cli("add", text, "-t", "t1", "-r", "alice", "--no-embed").code == 0
    assert cli("add", "Standup at nine", "-t", "t2", "-r", "bob", "--no-embed").code == 0


def test_new_prints_id_and_generates_one(cli):
    r = cli("threads", "new", "-r", "alice")
    assert r.code == 0 and r.out.strip().startswith("t_")
    r = cli("threads", "new", "--id", "mine", "-r", "alice", "--json")
    assert r.json()["id"] == "mine" and r.json()["resource_id"] == "alice"


def test_duplicate_thread_id_is_an_error(cli):
    cli("threads", "new", "--id", "x", "-r", "alice")
    r = cli("threads", "new", "--id", "x", "-r", "alice")
    assert r.code == 1 and "already exists" in r.err


def test_list_filters_orders_and_pages(cli, two_threads):
    data = cli("threads", "list", "--all-resources", "--json").json()
    assert data["total"] == 2 and [t["id"] for t in data["threads"]] == ["t2", "t1"]
    by_alice = cli("threads", "list", "-r", "alice", "--json").json()
    assert [t["id"] for t in by_alice["threads"]] == ["t1"]
    assert by_alice["threads"][0]["message_count"] == 2
    assert by_alice["threads"][0]["last_message_at"]
    every = ("threads", "list", "--all-resources")
    assert [t["id"] for t in cli(*every, "--meta", "topic=work", "--json").json()["threads"]] == ["t2"]
    assert cli(*every, "--meta", "n=2", "--json").json()["total"] == 1
    page = cli(*every, "--limit", "1", "--offset", "1", "--asc", "--json").json()
    assert [t["id"] for t in page["threads"]] == ["t2"] and page["has_more"] is False
    tsv = cli("threads", "list", "-r", "alice").out.splitlines()
    assert tsv == [tsv[0]] and tsv[0].split("\t")[:4] == ["t1", "Lisbon", "alice", "2"]


def test_show_pages_messages(cli, two_threads):
    data = cli("threads", "show", "t1", "--json").json()
    assert data["thread"]["title"] == "Lisbon"
    assert [m["content"] for m in data["messages"]] == ["I moved to Lisbon", "The flat is in Alfama"]
    page = cli("threads", "show", "t1", "--limit", "1", "--offset", "1", "--json").json()
    assert [m["content"] for m in page["messages"]] == ["The flat is in Alfama"]


def test_rename(cli, two_threads):
    assert cli("threads", "rename", "t1", "Moving", "-r", "alice").code == 0
    assert cli("threads", "show", "t1", "--json").json()["thread"]["title"] == "Moving"


@pytest.mark.parametrize(
    "args",
    [
        ("threads", "show", "t1", "-r", "bob"),
        ("threads", "rename", "t1", "x", "-r", "bob"),
        ("threads", "delete", "t1", "-r", "bob", "--yes"),
        ("messages", "list", "-t", "t1", "-r", "bob"),
        ("add", "sneaky", "-t", "t1", "-r", "bob", "--no-embed"),
        ("export", "-t", "t1", "-r", "bob"),
        ("recall", "Lisbon", "-t", "t1", "-r", "bob", "--mode", "keyword"),
    ],
)
def test_wrong_owner_is_refused_and_nothing_changes(cli, two_threads, db_path, args):
    before = db_snapshot(db_path)
    r = cli(*args)
    assert r.code == 4
    assert r.err.strip() == f"memcli: error: {WRONG_OWNER}"
    assert r.out == ""
    assert db_snapshot(db_path) == before


def test_unknown_thread_exits_3(cli):
    r = cli("threads", "show", "nope")
    assert r.code == 3 and r.err.strip() == "memcli: error: no thread with id nope"


def test_delete_removes_everything_derived(cli, two_threads, db_path, backend):
    sql(
        db_path,
        "INSERT INTO observations(scope, scope_id, generation, origin, observations, created_at) "
        "VALUES ('thread', 't1', 1, 'observation', '* obs', '2024-01-01')",
    )
    r = cli("threads", "delete", "t1", "-r", "alice", "--yes")
    assert r.code == 0
    assert sql(db_path, "SELECT count(*) FROM messages WHERE thread_id = 't1'") == [(0,)]
    if backend == "sqlite":
        assert sql(db_path, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'Lisbon'") == [(0,)]
    assert cli("recall", "Lisbon", "-r", "alice", "--mode", "keyword", "--json").json() == []
    assert sql(db_path, "SELECT count(*) FROM observations") == [(0,)]
    assert sql(db_path, "SELECT count(*) FROM messages") == [(1,)]


def test_delete_without_yes_in_a_pipe_is_refused(cli, two_threads):
    r = cli("threads", "delete", "t1")
    assert r.code == 2 and "--yes" in r.err


@pytest.mark.sqlite_only  # PostgreSQL's VACUUM keeps the space for reuse
def test_vacuum_gives_space_back_and_optimize_keeps_search(cli, db_path):
    rows = "".join(
        f'{{"content": "filler text number {i} " , "thread_id": "big", "resource_id": "r"}}\n'
        for i in range(3000)
    )
    cli("import", "-", "--no-embed", input=rows)
    cli("add", "keep me findable", "-t", "small", "-r", "r", "--no-embed")
    assert cli("threads", "delete", "big", "--yes").code == 0
    before = db_path.stat().st_size
    assert cli("db", "optimize").code == 0
    assert cli("db", "vacuum").code == 0
    assert db_path.stat().st_size < before
    hits = cli("recall", "findable", "-r", "r", "--mode", "keyword", "--json").json()
    assert hits[0]["content"] == "keep me findable"
