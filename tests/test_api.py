"""One core: `memcli.Memory` does everything the CLI and the MCP server do.

The first test is the issue's done-when as a program that uses only public
names; the rest pin the drift bugs found between the CLI, the MCP server and
the library (each failed before the fix).
"""

import io
import json
import re
import time
from pathlib import Path

import pytest
from fake_llm import error, reply, tool_call

import memcli
from memcli import Memory

from conftest import ROOT, jsonl

pytestmark = pytest.mark.both_backends

OBSERVER_REPLY = (
    "<observations>\n* 🔴 (10:00) User lives in Porto\n</observations>\n<current-task>none</current-task>"
)


def test_public_program_does_what_the_cli_does(tmp_path, llm_server, local_model):
    assert {"Memory", "Settings", "MemcliError", "__version__"} <= set(memcli.__all__)
    export = ROOT / "tests" / "fixtures" / "exports" / "chatgpt-conversations.json"
    with Memory() as mem:
        summary = mem.import_file(export, format="chatgpt", resource_id="alice")
        assert summary.written > 0
        thread = mem.list_threads("alice").threads[0]
        assert mem.recall("hello", resource_id="alice", since="3650d").query == "hello"
        llm_server.script([reply("Noted, Porto it is."), reply("Porto move")])
        turn = mem.ask("I moved to Porto", resource_id="alice")
        assert turn.reply == "Noted, Porto it is." and turn.thread_id
        mem.set_working_memory("- **Location**: Porto", resource_id="alice")
        assert "Porto" in mem.get_working_memory(resource_id="alice")
        llm_server.script([reply(OBSERVER_REPLY)])
        observed = mem.observe(thread_id=turn.thread_id, force=True)
        assert observed.observed_messages == 2
        assert "Porto" in mem.get_observations(thread_id=turn.thread_id).observations
        llm_server.script([reply("<observations>\n* 🔴 Porto\n</observations>")])
        assert mem.reflect(thread_id=turn.thread_id, force=True).generation == 2
        out = io.StringIO()
        assert mem.export(out, resource_id="alice") == summary.written + 2
        clone = mem.clone_thread(thread.id, resource_id="bob", source_resource_id="alice")
        assert clone.thread.resource_id == "bob"
        removed = mem.delete_resource("alice")
        assert removed["messages"] == summary.written + 2
        assert mem.list_threads("alice").total == 0
        assert mem.get_working_memory(resource_id="alice") is None
        assert mem.list_threads("bob").total == 1  # the clone is bob's: untouched


def test_cli_and_mcp_never_reach_past_memory():
    """No CLI, MCP or web viewer module touches the store, builds an engine or runs SQL."""
    forbidden = re.compile(
        r"\.store\b|memcli\.store|Observer\(|Reflector\(|LiteLLM\(|\.execute\(|embeddings\.load"
    )
    files = [
        *sorted((ROOT / "memcli" / "cli").glob("*.py")),
        ROOT / "memcli" / "mcp_server.py",
        *sorted((ROOT / "memcli" / "ui").glob("*.py")),
    ]
    offenders = [
        f"{path.name}:{n}: {line.strip()}"
        for path in files
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if forbidden.search(line) and not line.strip().startswith("#")
    ]
    assert offenders == []


def test_no_module_over_400_lines():
    sizes = {p: len(p.read_text().splitlines()) for p in (ROOT / "memcli").rglob("*.py")}
    assert {str(p.relative_to(ROOT)): n for p, n in sizes.items() if n > 400} == {}


# ---- the ten drift bugs ---------------------------------------------------------


def test_schema_mode_after_markdown_does_not_crash_chat(cli, llm_server, tmp_path):
    """1: Markdown memory, then a schema, then the model updates it: no JSONDecodeError."""
    assert cli("memory", "set", "--", "- **Name**: Alice").code == 0
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"city": {"type": "string"}}}))
    assert cli("memory", "schema", str(schema)).code == 0
    llm_server.script([tool_call("update_working_memory", {"memory": {"city": "Porto"}}), reply("ok")])
    r = cli("ask", "I live in Porto", "--no-title")
    assert r.code == 0, r.err
    assert json.loads(cli("memory", "show").out) == {"city": "Porto"}
    history = cli("memory", "history", "--json").json()
    assert "Alice" in history[-1]["content"]  # the Markdown text is kept in the history


def test_memory_commands_use_the_configured_resource(cli):
    """2: `memory set` after `config set resource alice` writes alice's memory."""
    assert cli("config", "set", "resource", "alice").code == 0
    assert cli("memory", "set", "--", "- **Name**: Alice").code == 0
    with Memory() as mem:
        assert "Alice" in (mem.get_working_memory(resource_id="alice") or "")
        assert mem.get_working_memory(resource_id="default") is None


def test_chat_observes_with_the_observation_model(cli, llm_server):
    """3: the observer's call goes to observation.model, not to the chat model."""
    cli("config", "set", "observation.model", "openai/observer-model")
    cli("config", "set", "observation.message_tokens", "1")
    llm_server.script([reply("hello"), reply(OBSERVER_REPLY)])
    assert cli("ask", "I live in Porto", "--no-title").code == 0
    models = [r["model"] for r in llm_server.requests]
    assert models == ["fake-model", "observer-model"]


def test_retry_after_is_honoured_when_longer_than_the_backoff(cli, llm_server):
    """4: the server's Retry-After (2 s) beats the first backoff step (about 1 s)."""
    llm_server.script([error(429, retry_after=2), reply("ok")])
    start = time.perf_counter()
    r = cli("ask", "hi", "--no-title")
    assert r.code == 0 and time.perf_counter() - start >= 2.0
    assert "retrying in 2.0s" in r.err  # and the wait is said on stderr


def test_observations_check_the_owner_and_unknown_threads():
    """5: another resource's log is refused; an unknown thread is an error, not {}."""
    with Memory() as mem:
        mem.add_message("hi", "t-alice", "alice", embed=False)
        with pytest.raises(memcli.OwnershipError):
            mem.get_observations(thread_id="t-alice", resource_id="bob")
        with pytest.raises(memcli.NotFoundError):
            mem.get_observations(thread_id="no-such-thread")


def test_update_working_memory_follows_schema_mode():
    """6: in schema mode an update merges JSON (what MCP's working_memory_update calls)."""
    with Memory() as mem:
        mem.set_working_memory_schema({"type": "object"})
        mem.update_working_memory('{"city": "Porto", "pets": ["Miso"]}', resource_id="alice")
        mem.update_working_memory({"pets": None, "job": "nurse"}, resource_id="alice")
        assert json.loads(mem.get_working_memory(resource_id="alice")) == {"city": "Porto", "job": "nurse"}
        with pytest.raises(memcli.InputError):
            mem.update_working_memory("- **City**: Lisbon", resource_id="alice")


def test_clone_to_another_resource_carries_only_the_thread(cli):
    """7 and #14.13: the clone's owner gets the thread's memory (with a history row),
    never the source resource's own profile or log."""
    with Memory() as mem:
        mem.add_message("secret plans", "t1", "alice", embed=False)
        mem.set_working_memory("- **Secret**: alice's", resource_id="alice")
        mem.set_working_memory("- **Topic**: trip", thread_id="t1", resource_id="alice")
        clone = mem.clone_thread("t1", new_thread_id="t2", resource_id="bob", source_resource_id="alice")
        assert clone.cloned == 1
        assert mem.get_working_memory(resource_id="bob") is None
        assert "trip" in mem.get_working_memory(thread_id="t2", resource_id="bob")
        assert mem.working_memory_history(thread_id="t2", resource_id="bob")[0]["source"] == "clone of t1"


def test_chat_reads_the_resource_scope_log(cli, llm_server):
    """8: `observe -r alice` builds a log that chat puts in front of the model."""
    with Memory() as mem:
        mem.add_message("I moved to Porto", "t-old", "alice", embed=False)
    llm_server.script([reply(OBSERVER_REPLY)])
    assert cli("observe", "-r", "alice", "--force").code == 0
    llm_server.script([reply("hi Alice")])
    assert cli("ask", "where do I live?", "-r", "alice", "--no-title").code == 0
    sent = json.dumps(llm_server.requests[-1]["messages"])
    assert "User lives in Porto" in sent


def test_library_takes_ages_pages_threads_and_names_no_flags():
    """9: recall(since='7d'), a ThreadPage, errors without CLI flags."""
    with Memory() as mem:
        mem.save_messages(
            [
                {
                    "content": "old Lisbon note",
                    "thread_id": "t",
                    "resource_id": "a",
                    "created_at": "2001-01-01T00:00:00Z",
                },
                {"content": "new Lisbon note", "thread_id": "t", "resource_id": "a"},
            ],
            embed=False,
        )
        hits = mem.recall("Lisbon", resource_id="a", since="7d", mode="keyword", message_range=0).hits
        assert [h.message.content for h in hits] == ["new Lisbon note"]
        page = mem.list_threads("a")
        assert page.total == 1 and not page.has_more and [t.id for t in page] == ["t"]
        with pytest.raises(memcli.InputError) as caught:
            mem.recall("x", resource_id="a", scope="thread")
        assert "--" not in str(caught.value)
        with pytest.raises(memcli.InputError) as caught:
            mem.save_messages([{"content": "x", "resource_id": "a"}])
        assert "--" not in str(caught.value)


def test_observation_enabled_is_read(cli, llm_server):
    """10: `config set observation.enabled false` stops observing after turns."""
    assert cli("config", "set", "observation.enabled", "false").code == 0
    cli("config", "set", "observation.message_tokens", "1")
    llm_server.script([reply("hello")])
    assert cli("ask", "I live in Porto", "--no-title").code == 0
    assert len(llm_server.requests) == 1
    assert cli("config", "set", "observation.enabled", "maybe").code == 2


@pytest.mark.sqlite_only  # it sets MEMCLI_DB to a file itself
def test_docs_api_example_runs(tmp_path, monkeypatch):
    """docs/api.md's example is a program that runs as written."""
    text = (ROOT / "docs" / "api.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.setenv("MEMCLI_DB", str(tmp_path / "doc.db"))
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/api.md", "exec"), {"__name__": "__main__"})
    assert not Path(tmp_path / "doc.db").exists()  # the reader's own memory is never opened


def test_save_messages_jsonl_helper_round_trip(tmp_path):
    """import_stream takes a pipe-like stream (not seekable)."""

    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self._data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            chunk = self._data.read(len(b))
            b[: len(chunk)] = chunk
            return len(chunk)

    data = jsonl([{"content": "piped", "thread_id": "p", "resource_id": "r"}]).encode()
    with Memory() as mem:
        assert mem.import_stream(io.BufferedReader(Pipe(data)), embed=False).written == 1


def test_docs_api_method_table_is_the_public_surface():
    """Every public method of Memory is in docs/api.md's table, and the table names no
    method Memory does not have (besides fields of the objects methods return)."""
    text = (ROOT / "docs" / "api.md").read_text()
    start = text.index("| area | methods |")
    table = text[start : text.index("\n\n", start)]
    named = set(re.findall(r"`([a-z_]+)(?:\(|`)", table))
    public = {n for n in dir(Memory) if not n.startswith("_")}
    fields = {"has_more", "plan", "send", "threads", "total", "resource_id", "thread_id"}  # of results
    assert public - named == set(), "document these in docs/api.md"
    assert named - public - fields == set(), "docs/api.md names methods Memory does not have"
