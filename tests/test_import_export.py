"""memcli import / export: the JSONL contract, idempotence, and bad input."""

import json

import pytest

from memcli.store.pg.connection import NUL_REFUSED

from conftest import EXAMPLE, db_snapshot, jsonl

pytestmark = pytest.mark.both_backends

LINES = [
    {
        "id": "m-17",
        "resource_id": "alice",
        "thread_id": "t-2023-05-08",
        "role": "user",
        "content": "I moved to Lisbon last spring.",
        "created_at": "2023-05-08T13:56:00Z",
        "metadata": {"source": "chat", "nested": {"a": [1, 2, {"b": None}]}},
    },
    {
        "id": "m-18",
        "resource_id": "alice",
        "thread_id": "t-2023-05-08",
        "role": "assistant",
        "content": "Lisbon in spring — lovely. ✨ Ünïcödé and a\ttab",
        "created_at": "2023-05-08T13:56:30.250000Z",
        "metadata": {},
    },
]


def test_export_import_round_trip_into_a_second_database(proc, tmp_path):
    first = {}  # the test's database: a file, or PostgreSQL on that backend
    second = {"MEMCLI_DB": str(tmp_path / "two.db")}
    assert proc("import", str(EXAMPLE), "--no-embed", env=first).code == 0
    assert proc("import", "-", "--no-embed", input=jsonl(LINES), env=first).code == 0
    exported = proc("export", "--format", "jsonl", "--all-resources", env=first)
    assert exported.code == 0
    assert proc("import", "-", "--no-embed", input=exported.out, env=second).code == 0
    again = proc("export", "--format", "jsonl", "--all-resources", env=second)
    assert again.out == exported.out
    rows = [json.loads(line) for line in again.out.splitlines()]
    source = [json.loads(line) for line in EXAMPLE.read_text().splitlines()] + LINES
    assert sorted(rows, key=lambda r: r["id"]) == sorted(source, key=lambda r: r["id"])


def test_reimport_changes_nothing(cli, db_path):
    assert cli("import", "-", "--no-embed", input=jsonl(LINES)).code == 0
    before = db_snapshot(db_path)
    r = cli("import", "-", "--no-embed", "--json", input=jsonl(LINES))
    assert r.code == 0 and r.json()["unchanged"] == 2 and r.json()["written"] == 0
    assert db_snapshot(db_path) == before


def test_defaults_from_flags_and_generated_ids(cli):
    r = cli(
        "import", "-", "--thread", "t9", "--resource", "zoe", "--no-embed", input=jsonl([{"content": "hi"}])
    )
    assert r.code == 0
    [m] = cli("messages", "list", "-t", "t9", "--json").json()
    assert m["resource_id"] == "zoe" and m["role"] == "user" and m["id"].startswith("m_")


BAD = [
    (b'{"content": "ok", "thread_id": "t", "resource_id": "r"}\n{"content": \n', "line 2: malformed JSON"),
    (
        b'{"content": "ok", "thread_id": "t", "resource_id": "r"}\n{"content": "\xff\xfe"}\n',
        "line 2: invalid UTF-8",
    ),
    (b'{"content": "", "thread_id": "t", "resource_id": "r"}\n', "line 1: content is empty"),
    (b'{"content": "  \\n ", "thread_id": "t", "resource_id": "r"}\n', "line 1: content is empty"),
    (b'{"content": "x", "resource_id": "r"}\n', "line 1: thread_id is missing"),
    (b'{"content": "x", "thread_id": "t"}\n', "line 1: resource_id is missing"),
    (b'{"content": "x", "thread_id": "t", "resource_id": "r", "role": "bot"}\n', "line 1: role must be"),
    (b'{"content": 5, "thread_id": "t", "resource_id": "r"}\n', "line 1: content must be a string"),
    (b'["content"]\n', "line 1: expected a JSON object"),
    (b'{"content": "x", "thread_id": "t", "resource_id": "r", "metadata": [1]}\n', "metadata must be"),
    (
        b'{"content": "x", "thread_id": "t", "resource_id": "r", "created_at": "yesterday"}\n',
        "invalid timestamp",
    ),
    (
        b'{"content": "\\ud800", "thread_id": "t", "resource_id": "r"}\n',
        "line 1: content holds invalid Unicode",
    ),
]


@pytest.mark.parametrize("data,message", BAD, ids=[m for _, m in BAD])
def test_bad_input_one_line_error_and_database_unchanged(cli, db_path, data, message):
    assert cli("import", "-", "--no-embed", input=jsonl(LINES)).code == 0
    before = db_snapshot(db_path)
    r = cli("import", "-", "--no-embed", input=data)
    assert r.code == 1
    assert r.err.count("\n") == 1 and r.err.startswith("memcli: error: ")
    assert message in r.err
    assert db_snapshot(db_path) == before


def test_bad_line_late_in_a_large_file_writes_nothing(cli, db_path):
    rows = [{"content": f"message {i}", "thread_id": "big", "resource_id": "r"} for i in range(1500)]
    data = jsonl(rows) + "{oops\n"
    r = cli("import", "-", "--no-embed", input=data)
    assert r.code == 1 and "line 1501: malformed JSON" in r.err
    assert db_snapshot(db_path)["messages"] == []


def test_import_into_a_thread_owned_by_someone_else(cli, db_path):
    assert cli("import", "-", "--no-embed", input=jsonl(LINES)).code == 0
    before = db_snapshot(db_path)
    line = {"content": "x", "thread_id": "t-2023-05-08", "resource_id": "mallory"}
    r = cli("import", "-", "--no-embed", input=jsonl([{**line, "thread_id": "fresh"}, line]))
    # the line is named; the owner is not (one user must not learn another's id)
    assert r.code == 4 and "line 2: thread t-2023-05-08 not found or not of resource mallory" in r.err
    assert "alice" not in r.err
    assert db_snapshot(db_path) == before
    two_owners = b'{"content": "a", "thread_id": "t", "resource_id": "r"}\n{"content": "b", "thread_id": "t", "resource_id": "s"}\n'
    r = cli("import", "-", "--no-embed", input=two_owners)
    assert r.code == 4 and "line 2: thread t not found or not of resource s" in r.err
    assert db_snapshot(db_path) == before


def test_nul_bytes_and_odd_ids_round_trip(cli, backend, db_path):
    line = {
        "id": "../../etc/passwd'; DROP TABLE messages;--",
        "content": "a\x00b",
        "thread_id": "t/1",
        "resource_id": "r",
    }
    if backend == "postgresql":  # its text type cannot hold NUL: one line, nothing written
        r = cli("import", "-", "--no-embed", input=jsonl([line, {**line, "id": "x", "content": "fine"}]))
        assert r.code == 1 and r.err.strip() == f"memcli: error: line 1: {NUL_REFUSED}"
        assert db_snapshot(db_path)["messages"] == []
        line["content"] = "a b"
    assert cli("import", "-", "--no-embed", input=jsonl([line])).code == 0
    [m] = [json.loads(x) for x in cli("export", "-t", "t/1").out.splitlines()]
    assert m["id"] == line["id"] and m["content"] == line["content"]


def test_markdown_export(cli):
    cli("import", "-", "--no-embed", input=jsonl(LINES))
    md = cli("export", "--format", "markdown", "-r", "alice").out
    assert "## user · 2023-05-08T13:56:00Z" in md and "I moved to Lisbon last spring." in md
    assert '"id": "m-17"' in md


def test_missing_file(cli):
    r = cli("import", "nope.jsonl")
    assert r.code == 1 and r.err.strip() == "memcli: error: no such file: nope.jsonl"


def test_archive_round_trips_everything_a_resource_owns(cli, llm_server, tmp_path):
    """#18: `export --format jsonl | import -` lost titles, thread metadata, empty threads,
    working memory and observations; an archive carries them all (and facts memories)."""
    from fake_llm import reply

    from memcli import Memory

    with Memory() as mem:
        mem.create_thread("trip", "alice", "Porto weekend", {"topic": "travel"})
        mem.create_thread("empty", "alice", "Nothing yet")
        mem.add_message("I moved to Porto", "trip", "alice", embed=False)
        mem.set_working_memory("- **City**: Lisbon", resource_id="alice")
        mem.set_working_memory("- **City**: Porto", resource_id="alice")
        mem.set_working_memory("- **Topic**: trains", thread_id="trip", resource_id="alice")
        mem.add_memory("Alice lives in Porto", resource_id="alice", sources=[mem.list_messages("trip")[0].id])
        mem.add_message("bob's own", "b", "bob", embed=False)
    llm_server.script([reply("<observations>\n* 🔴 (10:00) Alice lives in Porto\n</observations>")])
    assert cli("observe", "-t", "trip", "--force").code == 0

    def state():
        with Memory() as mem:
            page = mem.list_threads("alice")
            return {
                "threads": sorted((t.id, t.title, json.dumps(t.metadata)) for t in page),
                "messages": [m.to_dict() for m in mem.export_messages(resource_id="alice")],
                "wm": mem.get_working_memory(resource_id="alice"),
                "wm_thread": mem.get_working_memory(thread_id="trip", resource_id="alice"),
                "history": [
                    (h["content"], h["source"]) for h in mem.working_memory_history(resource_id="alice")
                ],
                "log": mem.get_observations(thread_id="trip", resource_id="alice").observations,
                "facts": [(v.text, v.sources) for v in mem.list_memories(resource_id="alice")],
            }

    before = state()
    archive = tmp_path / "alice.archive.jsonl"
    assert cli("export", "-r", "alice", "--format", "archive", "-o", archive).code == 0
    assert "bob" not in archive.read_text()
    assert cli("db", "delete-resource", "alice", "--yes").code == 0
    r = cli("import", archive, "--from", "archive", "--no-embed", "--json")
    assert r.code == 0, r.err
    assert state() == before
    again = cli("import", archive, "--from", "archive", "--no-embed", "--json").json()
    assert again["threads_created"] == again["messages"] == again["memories"] == again["history"] == 0
    assert cli("import", archive, "--from", "archive", "-r", "bob").code == 1  # not bob's records
