"""Chat with memory through the real litellm call path, against a scripted server."""

import json

import pytest
from fake_llm import error, reply, tool_call

from memcli import context

from conftest import EXAMPLE

pytestmark = pytest.mark.both_backends


def _received_tokens(request: dict) -> int:
    """What the server got, counted the way memcli's budget counts."""
    total = sum(context.message_tokens(m) for m in request["messages"]) + context.REPLY_PRIMING
    if request.get("tools"):
        from memcli import tokens

        total += tokens.count(json.dumps(request["tools"]))
    return total


def test_ask_prints_only_the_reply_and_saves_both_messages(cli, llm_server):
    llm_server.script([reply("Lisbon is lovely in spring."), reply("Lisbon chat")])
    r = cli("ask", "-r", "alice", "-t", "t1", input="Tell me about Lisbon\n")
    assert r.code == 0, r.err
    assert r.out == "Lisbon is lovely in spring.\n"
    msgs = cli("messages", "list", "-t", "t1", "--json").json()
    assert [(m["role"], m["content"]) for m in msgs] == [
        ("user", "Tell me about Lisbon"),
        ("assistant", "Lisbon is lovely in spring."),
    ]
    assert msgs[1]["metadata"]["usage"] == {"prompt_tokens": 10, "completion_tokens": 5}
    assert llm_server.requests[0]["stream"] is True
    assert cli("threads", "show", "t1", "--json").json()["thread"]["title"] == "Lisbon chat"


def test_no_model_configured_is_one_line(cli, monkeypatch):
    monkeypatch.delenv("MEMCLI_MODEL", raising=False)
    r = cli("ask", "hello")
    assert r.code == 1
    assert r.err.count("\n") == 1 and "MEMCLI_MODEL" in r.err and "openai/gpt-4o-mini" in r.err


def test_working_memory_tool_and_cross_thread_recall(cli, llm_server, local_model):
    assert cli("import", str(EXAMPLE)).code == 0  # alice's earlier threads
    profile = "# User Information\n- **First Name**: Alice\n- **Location**: Lisbon\n"
    llm_server.script(
        [
            tool_call("update_working_memory", {"memory": profile}),
            reply("Noted!"),
            reply("Title"),
            reply("You are allergic to peanuts."),
        ]
    )
    assert cli("ask", "I'm Alice, I live in Lisbon", "-r", "alice", "-t", "new-1").code == 0
    assert cli("memory", "show", "-r", "alice").out == profile
    r = cli("ask", "what food allergy do I have?", "-r", "alice", "-t", "new-1")
    assert r.code == 0 and "peanuts" in r.out
    later = llm_server.requests[-1]
    contents = [m["content"] for m in later["messages"]]
    roles = [m["role"] for m in later["messages"]]
    assert any("First Name**: Alice" in c for c in contents)  # working memory
    recalled = next(c for c in contents if "remembered from earlier" in c)
    assert "allergic to peanuts" in recalled and "t-2024-08-11-trip" in recalled
    # order: system, working memory, recalled, history..., new user message
    assert roles[:3] == ["system", "system", "system"] and contents[-1] == "what food allergy do I have?"
    assert contents[3:5] == ["I'm Alice, I live in Lisbon", "Noted!"]
    history = cli("memory", "history", "-r", "alice", "--json").json()
    assert history[0]["source"] == "model"


def test_schema_working_memory_merges(cli, llm_server):
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "pets": {"type": "array"}}}
    assert cli("memory", "schema", "-", input=json.dumps(schema)).code == 0
    llm_server.script(
        [
            tool_call(
                "update_working_memory", {"memory": {"name": "Alice", "pets": ["Miso"], "city": "Porto"}}
            ),
            reply("ok"),
            tool_call("update_working_memory", {"memory": {"pets": ["Miso", "Rex"], "city": None}}),
            reply("ok"),
        ]
    )
    cli("ask", "one", "-r", "alice", "--no-title")
    cli("ask", "two", "-r", "alice", "--no-title")
    memory = json.loads(cli("memory", "show", "-r", "alice").out)
    assert memory == {"name": "Alice", "pets": ["Miso", "Rex"]}


def test_bad_tool_arguments_write_nothing(cli, llm_server):
    cli("memory", "set", "# User Information\n- **First Name**: Alice", "-r", "alice")
    llm_server.script(
        [
            tool_call("update_working_memory", "{not json"),
            reply("sorry"),
            tool_call("update_working_memory", {"memory": "# User Information\n- **First Name**:\n"}),
            reply("ok"),
        ]
    )
    cli("ask", "a", "-r", "alice", "--no-title")
    cli("ask", "b", "-r", "alice", "--no-title")
    assert "Alice" in cli("memory", "show", "-r", "alice").out
    tool_results = [m for req in llm_server.requests for m in req["messages"] if m["role"] == "tool"]
    assert "invalid JSON" in tool_results[0]["content"]
    assert "empty template" in tool_results[-1]["content"]


def test_tokens_predicts_the_request_within_two_percent(cli, llm_server, local_model):
    assert cli("import", str(EXAMPLE)).code == 0
    llm_server.script([reply("first answer"), reply("second answer")])
    cli("ask", "Where should we eat in Porto?", "-r", "alice", "-t", "t-2024-08-11-trip", "--no-title")
    prompt = "Remind me what Marta eats"
    predicted = cli("tokens", "-t", "t-2024-08-11-trip", "-r", "alice", "--prompt", prompt, "--json").json()
    cli("ask", prompt, "-r", "alice", "-t", "t-2024-08-11-trip", "--no-title")
    received = _received_tokens(llm_server.requests[-1])
    assert abs(predicted["total"] - received) <= 0.02 * received
    assert predicted["sections"]["history"] > 0 and predicted["sections"]["working_memory"] > 0
    assert predicted["thread"]["turns"][0]["prompt_tokens"] == 10


def test_small_window_trims_oldest_history_and_reports_it(cli, llm_server):
    rows = [
        {
            "id": f"h{i}",
            "content": f"history message {i} " + "filler " * 40,
            "thread_id": "long",
            "resource_id": "alice",
            "created_at": f"2024-01-01T00:{i:02d}:00Z",
        }
        for i in range(30)
    ]
    cli("import", "-", "--no-embed", input="".join(json.dumps(r) + "\n" for r in rows))
    report = cli("tokens", "-t", "long", "-r", "alice", "--max-context", "2000", "--json").json()
    assert report["trimmed"] and report["trimmed"][0] == "h0"
    assert report["total"] <= report["budget"]
    llm_server.script([reply("ok")])
    cli("ask", "hi", "-t", "long", "-r", "alice", "--max-context", "2000", "--no-title")
    sent = [m["content"] for m in llm_server.requests[-1]["messages"]]
    assert not any(c.startswith("history message 0 ") for c in sent)
    assert any(c.startswith("history message 29 ") for c in sent)
    assert _received_tokens(llm_server.requests[-1]) <= 2000 - report["reserve"]


def test_retries_on_429_and_500_then_succeeds(cli, llm_server):
    llm_server.script([error(429, retry_after=0), error(500, retry_after=0), reply("finally")])
    r = cli("ask", "hello", "--no-title")
    assert r.code == 0 and r.out == "finally\n"
    assert len(llm_server.requests) == 3


def test_retries_are_bounded_and_the_user_message_is_kept(cli, llm_server):
    llm_server.script([error(503, retry_after=0)] * 10)
    r = cli("ask", "please remember this", "-t", "t", "--no-title")
    assert r.code == 1 and "after 5 attempts" in r.err and r.err.count("memcli: error:") == 1
    assert r.err.count("retrying in") == 4  # each retry is said on stderr, not done in silence
    assert len(llm_server.requests) == 5
    msgs = cli("messages", "list", "-t", "t", "--json").json()
    assert [m["content"] for m in msgs] == ["please remember this"]


def test_model_without_tool_support_falls_back(cli, llm_server):
    llm_server.script([error(400, body="this model does not support tools"), reply("plain answer")])
    r = cli("ask", "hi", "--no-title")
    assert r.code == 0 and r.out == "plain answer\n"
    assert "tools" in llm_server.requests[0] and "tools" not in llm_server.requests[1]
    assert "working memory is read-only" in r.err


def test_no_memory_is_a_plain_call(cli, llm_server):
    llm_server.script([reply("plain")])
    cli("ask", "just this", "--no-memory", "--no-title")
    [req] = llm_server.requests
    assert [m["role"] for m in req["messages"]] == ["system", "user"] and "tools" not in req


def test_show_context_prints_what_is_sent(cli, llm_server):
    llm_server.script([reply("x")])
    r = cli("ask", "hello there", "--show-context", "--no-title")
    shown = json.loads(r.err[: r.err.rindex("}") + 1])
    assert shown["messages"] == llm_server.requests[0]["messages"]


def test_continue_uses_the_latest_thread(cli, llm_server):
    llm_server.script([reply("one"), reply("two")])
    cli("ask", "first", "-r", "bob", "-t", "bob-1", "--no-title")
    cli("ask", "second", "-r", "bob", "-c", "--no-title")
    assert [m["content"] for m in cli("messages", "list", "-t", "bob-1", "--json").json()] == [
        "first",
        "one",
        "second",
        "two",
    ]


@pytest.mark.parametrize("title,expected", [('"Trip: Porto"', "Trip - Porto"), ("x" * 100, "x" * 79 + "…")])
def test_titles_are_cleaned(title, expected):
    from memcli.titles import clean_title

    assert clean_title(title) == expected


def test_chat_repl_with_piped_input(cli, llm_server):
    llm_server.script([reply("hello Alice"), reply("T"), reply("bye")])
    r = cli("chat", "-r", "alice", "-t", "c1", input='hi\n/thread\n"""\nline one\nline two\n"""\n/exit\n')
    assert r.code == 0, r.err
    assert "hello Alice" in r.out and "c1" in r.out and "bye" in r.out
    msgs = cli("messages", "list", "-t", "c1", "--json").json()
    assert msgs[2]["content"] == "line one\nline two"


def test_chat_session_carries_working_memory_and_other_threads(cli, llm_server, local_model):
    """The done-when of the chat issue, through `memcli chat` itself."""
    assert cli("import", str(EXAMPLE)).code == 0
    profile = "# User Information\n- **First Name**: Alice\n- **Pets**: Miso the cat\n"
    llm_server.script(
        [
            tool_call("update_working_memory", {"memory": profile}),
            reply("Nice to meet Miso!"),
            reply("A title"),
            reply("Da Terra has vegetarian food for Marta."),
        ]
    )
    r = cli(
        "chat",
        "-r",
        "alice",
        "-t",
        "live",
        input="My cat is called Miso\nwhere can my sister eat in Porto?\n",
    )
    assert r.code == 0, r.err
    assert "Da Terra" in r.out
    last = llm_server.requests[-1]["messages"]
    text = "\n".join(m["content"] or "" for m in last)
    assert "Miso the cat" in text  # working memory written in the first turn
    assert "vegetarian" in text and "remembered from earlier" in text  # recalled from the 2024 trip thread
    assert last[-1]["content"] == "where can my sister eat in Porto?"


def test_ask_ends_its_line_and_tells_notices_from_warnings(proc, llm_server, monkeypatch):
    """#25: the reply's line ends before anything lands on stderr, what memory did is a
    notice (silenced by --quiet), and only what did not happen is a warning."""
    import json as _json

    from fake_llm import reply

    monkeypatch.setenv("MEMCLI_EXTRACT_MEMORIES", "true")
    llm_server.script(
        [reply("Noted."), reply(_json.dumps({"memory": [{"event": "ADD", "text": "Lives in Porto"}]}))]
    )
    r = proc("ask", "I live in Porto", "-t", "t", "--no-title")
    assert r.code == 0 and r.out == "Noted.\n", r.out
    assert "memcli: facts memory: 1 changes" in r.err and "warning: facts memory" not in r.err, r.err
    llm_server.script(
        [reply("Sure."), reply(_json.dumps({"memory": [{"event": "ADD", "text": "Has a cat"}]}))]
    )
    quiet = proc("-q", "ask", "I have a cat", "-t", "t", "--no-title")
    assert quiet.code == 0 and "facts memory" not in quiet.err, quiet.err
