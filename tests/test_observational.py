"""Observer and Reflector through the real litellm path against the scripted server."""

import json

import pytest
from fake_llm import reply

pytestmark = pytest.mark.both_backends

GOOD = """<observations>
Date: Jan 1, 2024
* 🔴 (10:00) User's name is Alice; lives in Lisbon
* 🟡 (10:05) Working on the Dagster migration
</observations>
<current-task>Planning the migration</current-task>
<suggested-response>Ask how the migration is going</suggested-response>"""


def observed(text: str) -> dict:
    return reply(text)


def _thread(cli, n: int, words: int = 50, thread="t", resource="alice"):
    rows = [
        {
            "id": f"{thread}-m{i:03d}",
            "content": f"message {i} " + "word " * words,
            "thread_id": thread,
            "resource_id": resource,
            "created_at": f"2024-01-01T10:{i:02d}:00Z",
            "role": "user" if i % 2 == 0 else "assistant",
        }
        for i in range(n)
    ]
    assert cli("import", "-", "--no-embed", input="".join(json.dumps(r) + "\n" for r in rows)).code == 0
    return cli("messages", "list", "-t", thread, "--json").json()


def _history(cli, *args):
    return cli("observations", "history", *args, "--json").json()


def test_threshold_is_respected_exactly(cli, llm_server):
    msgs = _thread(cli, 4)
    total = sum(m["token_count"] for m in msgs)
    r = cli("observe", "-t", "t", "--threshold", str(total + 1), "--json")
    assert r.json()["skipped"].startswith(f"{total} unobserved tokens") and not llm_server.requests
    llm_server.script([observed(GOOD)])
    r = cli("observe", "-t", "t", "--threshold", str(total), "--json")
    assert r.code == 0, r.err
    assert r.json()["observed_messages"] == 4 and len(llm_server.requests) == 1
    shown = cli("observations", "show", "-t", "t", "--json").json()
    assert "🔴 (10:00) User's name is Alice" in shown["observations"]
    assert shown["current_task"] == "Planning the migration"
    prompt = llm_server.requests[0]["messages"][1]["content"]
    assert "Date: Jan 1, 2024" in prompt and "User (10:00 AM): message 0" in prompt


def test_cursor_observes_each_message_exactly_once(cli, llm_server):
    _thread(cli, 4)
    llm_server.script([observed(GOOD), observed(GOOD.replace("Alice", "Alice again"))])
    cli("observe", "-t", "t", "--force")
    r = cli("observe", "-t", "t", "--force", "--json")
    assert r.json()["skipped"] == "nothing to observe" and len(llm_server.requests) == 1
    cli("add", "a brand new message", "-t", "t", "--no-embed")
    cli("observe", "-t", "t", "--force")
    second = llm_server.requests[1]["messages"][1]["content"]
    assert "a brand new message" in second and "message 0 " not in second.split("New messages to observe:")[1]
    assert "Earlier observations" in second  # continuity from the previous log
    assert [g["generation"] for g in _history(cli, "-t", "t")] == [1, 2]


def test_crash_between_model_call_and_commit_loses_nothing(cli, llm_server, monkeypatch, db_path):
    _thread(cli, 3)
    from memcli.store.observations import ObservationTable

    original = ObservationTable.append

    def crash(self, record, **owner):
        raise KeyboardInterrupt  # the process dies right after the model answered

    monkeypatch.setattr(ObservationTable, "append", crash)
    llm_server.script([observed(GOOD), observed(GOOD)])
    r = cli("observe", "-t", "t", "--force")
    assert r.code == 130
    monkeypatch.setattr(ObservationTable, "append", original)
    assert _history(cli, "-t", "t") == []
    r = cli("observe", "-t", "t", "--force", "--json")
    assert r.json()["observed_messages"] == 3  # the same messages, once


def test_degenerate_output_is_retried_once_then_refused(cli, llm_server):
    _thread(cli, 3)
    loop = "<observations>\n" + "* 🔴 (10:00) the same thing again\n" * 40 + "</observations>"
    llm_server.script([observed(loop), observed("no tags at all")])
    r = cli("observe", "-t", "t", "--force")
    assert r.code == 1 and "no <observations> section" in r.err and len(llm_server.requests) == 2
    assert _history(cli, "-t", "t") == []
    llm_server.script([observed(loop), observed(GOOD)])
    assert cli("observe", "-t", "t", "--force").code == 0
    assert len(_history(cli, "-t", "t")) == 1


def test_instructions_echoed_by_the_model_are_not_saved(cli, llm_server):
    _thread(cli, 2)
    echo = GOOD.replace(
        "* 🟡 (10:05)", "* 🔴 (10:01) Never record these instructions or any system reminder\n* 🟡 (10:05)"
    )
    llm_server.script([observed(echo)])
    cli("observe", "-t", "t", "--force")
    log = cli("observations", "show", "-t", "t", "--json").json()["observations"]
    assert "Never record" not in log and "Dagster" in log


def test_single_oversized_message_is_observed_too(cli, llm_server):
    cli("add", "huge " * 12000, "-t", "t", "--no-embed")
    cli("add", "small follow-up", "-t", "t", "--no-embed")
    llm_server.script([observed(GOOD)])
    r = cli("observe", "-t", "t", "--threshold", "5000", "--json")
    assert r.json()["observed_messages"] == 2 and len(llm_server.requests) == 1
    sent = llm_server.requests[0]["messages"][1]["content"]
    assert "tokens omitted" in sent and "small follow-up" in sent
    from memcli.context import message_tokens

    assert message_tokens(llm_server.requests[0]["messages"][1]) < 10_000


def test_large_backlogs_are_observed_in_batches(cli, llm_server):
    _thread(cli, 40, words=400)  # ~16k tokens: two calls of at most 10k
    llm_server.script([observed(GOOD), observed(GOOD)])
    r = cli("observe", "-t", "t", "--json").json()
    assert r["skipped"] is not None  # below the 30k default
    r = cli("observe", "-t", "t", "--force", "--json").json()
    assert r["observed_messages"] == 40 and len(r["generations"]) == 2 and len(llm_server.requests) == 2


def test_resource_scope_batches_across_threads(cli, llm_server):
    _thread(cli, 3, thread="a")
    _thread(cli, 3, thread="b")
    llm_server.script([observed(GOOD)])
    r = cli("observe", "-r", "alice", "--force", "--json")
    assert r.json()["observed_messages"] == 6
    prompt = llm_server.requests[0]["messages"][1]["content"]
    assert prompt.count("message 0 ") == 2


def test_dry_run_calls_no_model(cli, llm_server, monkeypatch):
    monkeypatch.delenv("MEMCLI_MODEL")
    _thread(cli, 2)
    r = cli("observe", "-t", "t", "--dry-run", "--json")
    assert r.code == 0 and r.json()[0]["tokens"] > 0 and not llm_server.requests


def _big_log(cli, llm_server, lines=60):
    log = (
        "<observations>\nDate: Jan 1, 2024\n"
        + "".join(f"* 🟡 (10:{i % 60:02d}) detail number {i} about the project plan\n" for i in range(lines))
        + "</observations>\n<current-task>x</current-task>"
    )
    _thread(cli, 2)
    llm_server.script([observed(log)])
    cli("observe", "-t", "t", "--force")
    return cli("observations", "show", "-t", "t", "--json").json()["token_count"]


def test_reflection_escalates_and_keeps_the_smallest_valid_attempt(cli, llm_server):
    size = _big_log(cli, llm_server)
    threshold = size // 4
    long = (
        "<observations>\nDate: Jan 1, 2024\n"
        + "* 🟡 (10:00) plan details, many of them, kept long\n" * 30
        + "</observations>"
    )
    short = "<observations>\nDate: Jan 1, 2024\n* 🟡 (10:00) project plan: 60 details\n</observations>"
    llm_server.script([observed(long), observed(""), observed(short)])
    r = cli("reflect", "-t", "t", "--threshold", str(threshold), "--json").json()
    assert r["attempts"] == 3 and r["attempt_tokens"][1] == 0 and r["after_tokens"] <= threshold
    hist = _history(cli, "-t", "t")
    assert [h["origin"] for h in hist] == ["observation", "reflection"]
    assert cli("observations", "show", "-t", "t", "--json").json()["current_task"] == "x"


def test_reflection_gives_up_without_looping(cli, llm_server):
    size = _big_log(cli, llm_server)
    bad = "<observations>\n</observations>"
    llm_server.script([observed(bad)] * 4)
    r = cli("reflect", "-t", "t", "--threshold", str(size // 4), "--json").json()
    assert r["attempts"] == 4 and r["generation"] is None
    calls = len(llm_server.requests)
    r = cli("reflect", "-t", "t", "--threshold", str(size // 4), "--json").json()
    assert "already gave up" in r["skipped"] and len(llm_server.requests) == calls
    assert cli("observations", "show", "-t", "t", "--json").json()["token_count"] == size  # never wiped


def test_chat_uses_the_log_and_observes_when_the_threshold_is_crossed(cli, llm_server, monkeypatch):
    monkeypatch.setenv("MEMCLI_OBSERVATION_TOKENS", "200")
    _thread(cli, 6, thread="c")
    llm_server.script([reply("answer one"), observed(GOOD), reply("answer two")])
    r = cli("ask", "next question", "-t", "c", "-r", "alice", "--no-title")
    assert r.code == 0 and r.out == "answer one\n" and "observed" in r.err
    cli("ask", "and another", "-t", "c", "-r", "alice", "--no-title")
    sent = llm_server.requests[-1]["messages"]
    contents = [m["content"] for m in sent]
    block = next(c for c in contents if "<observations>" in c)
    assert (
        block.index("</observations>") < block.index("<current-task>") < block.index("<suggested-response>")
    )
    assert not any(c.startswith("message 0 ") for c in contents)  # observed messages left the context
    assert contents[-1] == "and another"
    tokens = cli("tokens", "-t", "c", "-r", "alice", "--json").json()
    assert tokens["sections"]["observations"] > 0
    assert len(cli("messages", "list", "-t", "c", "--json").json()) == 10  # nothing deleted


@pytest.mark.parametrize(
    "text,degenerate", [("fine", None), ("x" * 60_000, "a line longer than 50,000 characters")]
)
def test_degenerate_detector(text, degenerate):
    from memcli.observational.parse import is_degenerate

    assert is_degenerate(text) == degenerate
