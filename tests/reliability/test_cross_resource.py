"""#23: one resource never writes into, or learns of, another's data — on every import
format, every CLI write and every MCP tool. Alice's memory is set up; mallory names
alice's ids everywhere; afterwards alice's data is byte-for-byte what it was, and
nothing mallory saw names alice or shows her text."""

import shutil

import pytest

from conftest import ROOT, db_snapshot, jsonl, mcp_session

pytestmark = pytest.mark.both_backends

EXPORTS = ROOT / "tests" / "fixtures" / "exports"
SECRET = "my bank PIN is 4242"


@pytest.fixture
def alice(cli):
    """Alice's memory: a thread with messages, working memory, a fact, an observation log,
    and her data imported from every format (so each format's ids are hers)."""
    rows = [
        {"id": "a-m1", "content": SECRET, "thread_id": "a-t", "resource_id": "alice"},
        {"id": "a-m2", "content": "I live in Lisbon", "thread_id": "a-t", "resource_id": "alice"},
    ]
    assert cli("import", "-", "--no-embed", input=jsonl(rows)).code == 0
    assert cli("memory", "set", "PIN: 4242", "-r", "alice").code == 0
    assert cli("memory", "set", "thread note", "-t", "a-t", "-r", "alice").code == 0
    assert cli("memories", "add", "Has PIN 4242", "-r", "alice").code == 0
    for source, fmt in _formats():
        assert cli("import", source, "--from", fmt, "-r", "alice", "--no-embed").code == 0, fmt
    from memcli import Memory

    with Memory() as mem:
        [fact] = mem.list_memories(resource_id="alice")
        return {"fact": fact.memory_id, "threads": [t.id for t in mem.list_threads("alice", limit=1000)]}


def _formats():
    return [
        (EXPORTS / "chatgpt-conversations.json", "chatgpt"),
        (EXPORTS / "claude-conversations.json", "claude"),
        (EXPORTS / "llm-0.36-logs.db", "llm"),
    ]


def _leaks(text: str) -> bool:
    return "alice" in text or "4242" in text or "Lisbon" in text


def test_every_import_format_refuses_alices_ids(cli, db_path, alice, tmp_path):
    before = db_snapshot(db_path)
    attempts = []
    # memcli JSONL, markdown and archive made from alice's own data, imported as mallory
    jsonl_out = tmp_path / "a.jsonl"
    jsonl_out.write_text(
        cli("export", "-r", "alice").out.replace('"resource_id": "alice"', '"resource_id": "mallory"')
    )
    attempts.append((jsonl_out, "jsonl"))
    markdown = tmp_path / "a.md"
    markdown.write_text(cli("export", "-f", "markdown", "-t", "a-t", "-r", "alice").out)
    attempts.append((markdown, "markdown"))
    attempts += _formats()
    for source, fmt in attempts:
        copy = tmp_path / f"copy-{source.name}"
        shutil.copyfile(source, copy)
        r = cli("import", copy, "--from", fmt, "-r", "mallory", "--no-embed")
        assert r.code == 4, (fmt, r.out, r.err)
        assert not _leaks(r.out + r.err), (fmt, r.err)
    facts = tmp_path / "facts.jsonl"
    facts.write_text(cli("memories", "export", "-r", "alice").out.replace('"alice"', '"mallory"'))
    r = cli("memories", "import", facts, "-r", "mallory")
    assert r.code == 4 and not _leaks(r.err), r.err
    assert db_snapshot(db_path) == before


def test_every_cli_write_refuses_alices_ids(cli, db_path, alice):
    before = db_snapshot(db_path)
    fact = alice["fact"]
    writes = [
        ("add", "hi", "-t", "a-t"),
        ("threads", "rename", "a-t", "mine now"),
        ("threads", "delete", "a-t", "--yes"),
        ("threads", "clone", "a-t", "--id", "stolen"),
        ("messages", "delete", "a-m1"),
        ("memory", "set", "x", "-t", "a-t"),
        ("memory", "clear", "-t", "a-t"),
        ("memories", "edit", fact, "now mine"),
        ("memories", "delete", fact),
        ("memories", "add", "x", "--thread", "a-t"),
        ("observe", "-t", "a-t"),
        ("reflect", "-t", "a-t"),
        ("memories", "extract", "-t", "a-t"),
        ("threads", "show", "a-t"),
        ("messages", "list", "-t", "a-t"),
        ("memory", "show", "-t", "a-t"),
        ("memories", "show", fact),
        ("memories", "history", fact),
        ("observations", "show", "-t", "a-t"),
        ("export", "-t", "a-t"),
        ("recall", "PIN", "-t", "a-t"),
    ]
    for args in writes:
        r = cli(*args, "-r", "mallory")
        assert r.code in (2, 3, 4), (args, r.code, r.out, r.err)
        assert not _leaks(r.out + r.err), (args, r.out, r.err)
    for args in (("recall", "PIN"), ("memories", "search", "PIN"), ("threads", "list"), ("export",)):
        r = cli(*args, "-r", "mallory")
        assert r.code == 0 and not _leaks(r.out + r.err), (args, r.out)
    assert db_snapshot(db_path) == before


def test_every_mcp_tool_refuses_alices_ids(cli, db_path, alice):
    before = db_snapshot(db_path)
    fact = alice["fact"]
    calls = [
        ("recall", {"query": "PIN", "thread_id": "a-t"}),
        ("recall", {"query": "PIN", "resource_id": "alice"}),
        ("remember", {"content": "hi", "thread_id": "a-t"}),
        ("working_memory_get", {"thread_id": "a-t"}),
        ("working_memory_get", {"resource_id": "alice"}),
        ("working_memory_update", {"content": "x", "thread_id": "a-t"}),
        ("threads_list", {"resource_id": "alice"}),
        ("observations_show", {"thread_id": "a-t"}),
        ("recall_messages", {"thread_id": "a-t"}),
        ("recall_messages", {"thread_id": "a-t", "generation": 1}),
        ("recall_messages", {"resource_id": "alice", "generation": 1}),
        ("recall_messages", {"resource_id": "alice", "query": "PIN"}),
        ("add_memory", {"text": "x", "resource_id": "alice"}),
        ("search_memories", {"query": "PIN", "resource_id": "alice"}),
        ("update_memory", {"memory_id": fact, "text": "x"}),
        ("delete_memory", {"memory_id": fact}),
        ("memory_history", {"memory_id": fact}),
    ]
    open_calls = [
        ("recall", {"query": "PIN"}),
        ("search_memories", {"query": "PIN"}),
        ("threads_list", {}),
        ("recall_messages", {"query": "PIN"}),
    ]

    async def run(session):
        tools = {t.name for t in (await session.list_tools()).tools}
        assert tools == {name for name, _ in calls}, tools  # a new tool must join this test
        refused = [await session.call_tool(n, a) for n, a in calls]
        answered = [await session.call_tool(n, a) for n, a in open_calls]
        try:
            thread = str(await session.read_resource("memcli://threads/a-t"))
        except Exception as exc:  # reading alice's thread is refused: how, must not leak
            thread = f"refused: {exc}"
        return refused, answered, thread

    refused, answered, thread = mcp_session(run, "-r", "mallory")
    assert thread.startswith("refused") and not _leaks(thread), thread
    for (name, args), result in zip(calls, refused):
        text = "".join(getattr(c, "text", "") for c in result.content)
        assert result.is_error, (name, args, text)
        assert not _leaks(text.replace("not alice", "")), (name, text)  # a pinned server echoes the ask
    for (name, _), result in zip(open_calls, answered):
        text = "".join(getattr(c, "text", "") for c in result.content)
        assert not result.is_error and not _leaks(text), (name, text)
    assert db_snapshot(db_path) == before
