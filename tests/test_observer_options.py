"""#27 (4, 5): what the Observer is told and what happens to its output before it is saved —
an instruction that extends the prompt, the earlier log's budget, continuation hints on or
off, redactions and a hook, each run's tokens kept, and control text never in the log
(Mastra #22195: the Observer saved its own control prompt as a user priority)."""

import json
import sys

import pytest
from fake_llm import reply, tool_call

pytestmark = pytest.mark.both_backends

ANSWER = """<observations>
Date: Dec 1, 2026
* 🔴 (10:00) User's email is alice@example.com; card 4111-1111-1111-1111
* 🟡 (10:05) Working on the Dagster migration
</observations>
<current-task>Planning the migration; mail alice@example.com</current-task>
<suggested-response>Ask how it goes</suggested-response>"""


def _thread(cli, n=3):
    rows = [
        {"content": f"message {i} about the Dagster migration", "thread_id": "t", "resource_id": "alice"}
        for i in range(n)
    ]
    assert cli("import", "-", "--no-embed", input="\n".join(map(json.dumps, rows))).code == 0


def _config(cli, key, value):
    r = cli("config", "set", key, value)
    assert r.code == 0, r.err


def _log(cli):
    return cli("observations", "show", "-t", "t", "--json").json()


def test_instruction_extends_the_prompt_and_never_lands_in_the_log(cli, llm_server):
    _thread(cli)
    instruction = "Always note which database the user prefers for each project."
    _config(cli, "observation.instruction", instruction)
    echoed = ANSWER.replace(
        "* 🟡 (10:05)",
        f"* 🔴 (10:01) {instruction}\n* 🔴 (10:02) Additional instructions (they extend the rules above and never replace them):\n* 🟡 (10:05)",
    )
    llm_server.script([reply(echoed)])
    assert cli("observe", "-t", "t", "--force").code == 0
    system = llm_server.requests[0]["messages"][0]["content"]
    assert system.startswith("You are the memory of an AI assistant") and system.rstrip().endswith(
        instruction
    )
    log = _log(cli)["observations"]
    assert (
        "Dagster" in log and instruction.lower() not in log.lower() and "Additional instructions" not in log
    )


def test_redactions_and_hook_run_before_saving(cli, llm_server, tmp_path, monkeypatch):
    _thread(cli)
    hook = tmp_path / "hooks" / "memhook.py"
    hook.parent.mkdir()
    hook.write_text(
        "def scrub(text, kind):\n"
        "    return text.replace('Dagster', 'D*****') + ('\\n* 🔴 (10:09) Never record these instructions' if kind == 'observation' else '')\n"
    )
    monkeypatch.syspath_prepend(str(hook.parent))
    sys.modules.pop("memhook", None)
    config = tmp_path / "home" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        'observation.redact = ["[\\\\w.]+@[\\\\w.]+", "\\\\d{4}-\\\\d{4}-\\\\d{4}-\\\\d{4}"]\n'
        'observation.hook = "memhook:scrub"\n'
    )
    llm_server.script([reply(ANSWER)])
    r = cli("observe", "-t", "t", "--force")
    assert r.code == 0, r.err
    saved = _log(cli)
    text = json.dumps(saved)
    assert "alice@example.com" not in text and "4111" not in text and "Dagster" not in text
    assert "[redacted]" in saved["observations"] and "D*****" in saved["observations"]
    assert "[redacted]" in saved["current_task"]
    assert "Never record" not in saved["observations"]  # control text a hook adds is dropped too


def test_a_bad_redaction_or_hook_is_one_line_before_any_model_call(cli, llm_server):
    _thread(cli)
    _config(cli, "observation.redact", "([unclosed")
    r = cli("observe", "-t", "t", "--force")
    assert r.code == 2 and "bad regular expression" in r.err and r.err.count("\n") == 1
    assert llm_server.requests == []
    assert cli("config", "unset", "observation.redact").code == 0
    _config(cli, "observation.hook", "no_such_module_here:fn")
    r = cli("observe", "-t", "t", "--force")
    assert r.code == 2 and "cannot be loaded" in r.err and llm_server.requests == []


def test_hints_off_are_neither_asked_for_nor_kept(cli, llm_server):
    _thread(cli)
    _config(cli, "observation.continuation_hints", "false")
    llm_server.script([reply(ANSWER)])
    assert cli("observe", "-t", "t", "--force").code == 0
    system = llm_server.requests[0]["messages"][0]["content"]
    assert "<current-task>" not in system and "<suggested-response>" not in system
    saved = _log(cli)
    assert saved["current_task"] is None and saved["suggested_response"] is None


def test_previous_tokens_bounds_the_earlier_log_the_observer_sees(cli, llm_server):
    _thread(cli)
    long_log = (
        "<observations>\nDate: Dec 1, 2026\n"
        + "".join(f"* 🟡 (10:{i % 60:02d}) detail number {i} of the migration plan\n" for i in range(200))
        + "</observations>\n<current-task>x</current-task>\n<suggested-response>y</suggested-response>"
    )
    llm_server.script([reply(long_log), reply(ANSWER), reply(ANSWER)])  # 200 lines: under 4,000 tokens
    assert cli("observe", "-t", "t", "--force").code == 0
    _thread(cli)
    _config(cli, "observation.previous_tokens", "100")
    assert cli("observe", "-t", "t", "--force").code == 0
    seen = llm_server.requests[1]["messages"][1]["content"]
    assert "detail number 199" in seen and "detail number 150 " not in seen
    _thread(cli)
    _config(cli, "observation.previous_tokens", "0")
    assert cli("observe", "-t", "t", "--force").code == 0
    assert "Earlier observations" not in llm_server.requests[2]["messages"][1]["content"]


def test_each_run_keeps_its_tokens_and_the_messages_it_came_from(cli, llm_server):
    _thread(cli)
    llm_server.script([reply(ANSWER, prompt_tokens=321, completion_tokens=45)])
    assert cli("observe", "-t", "t", "--force").code == 0
    history = cli("observations", "history", "-t", "t", "--json").json()
    assert history[0]["tokens_in"] == 321 and history[0]["tokens_out"] == 45
    ids = [m["id"] for m in cli("messages", "list", "-t", "t", "--json").json()]
    from memcli import Memory

    with Memory() as mem:
        record = mem.observation_history(thread_id="t")[0]
        assert (record.metadata["first_message_id"], record.metadata["last_message_id"]) == (ids[0], ids[-1])
        assert [m.id for m in mem.observation_sources(1, thread_id="t")] == ids


def test_the_observer_keeps_working_memory_and_titles_threads(cli, llm_server):
    """Mastra's manageWorkingMemory: the Observer updates it in the generation's transaction;
    the chat model is no longer offered the tool (and a call to it is refused)."""
    _thread(cli)
    _config(cli, "observation.manage_working_memory", "true")
    _config(cli, "observation.thread_titles", "true")
    assert cli("working-memory", "set", "-r", "alice", "--", "- **Name**: Alice").code == 0
    answer = ANSWER + (
        "\n<working-memory>\n- **Name**: Alice\n- **Project**: Dagster migration\n</working-memory>"
        '\n<thread-title>"Dagster migration plan"</thread-title>'
    )
    llm_server.script([reply(answer)])
    assert cli("observe", "-t", "t", "--force").code == 0
    prompt = llm_server.requests[0]["messages"]
    assert "<working-memory>" in prompt[0]["content"] and "<thread-title>" in prompt[0]["content"]
    assert "- **Name**: Alice" in prompt[1]["content"]  # it sees the current text
    assert "Dagster migration" in cli("working-memory", "show", "-r", "alice").out
    history = cli("working-memory", "history", "-r", "alice", "--json").json()
    assert history[0]["source"] == "observer"
    assert cli("threads", "show", "t", "--json").json()["thread"]["title"] == "Dagster migration plan"
    llm_server.script([tool_call("update_working_memory", {"memory": "- hijacked"}), reply("ok")])
    assert cli("ask", "hi", "-t", "t", "-r", "alice", "--no-title").code == 0
    assert "update_working_memory" not in json.dumps(llm_server.requests[1].get("tools") or [])
    assert "hijacked" not in cli("working-memory", "show", "-r", "alice").out
    system = "\n".join(m["content"] for m in llm_server.requests[1]["messages"] if m["role"] == "system")
    assert "your memory keeps it up to date" in system and "Dagster migration" in system


def test_an_invalid_working_memory_from_the_observer_leaves_it_unchanged(cli, llm_server, tmp_path):
    _thread(cli)
    _config(cli, "observation.manage_working_memory", "true")
    schema = tmp_path / "s.json"
    schema.write_text('{"type": "object", "properties": {"city": {"type": "string"}}}')
    assert cli("working-memory", "schema", str(schema)).code == 0
    llm_server.script([reply(ANSWER + "\n<working-memory>not json at all</working-memory>")])
    assert cli("observe", "-t", "t", "--force").code == 0  # the observation itself is kept
    assert "Dagster" in _log(cli)["observations"]
    assert "not json" not in cli("working-memory", "show", "-r", "alice").out
