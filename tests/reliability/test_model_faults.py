"""Model faults through the scripted server: the user's words are kept, retries are bounded."""

from fake_llm import error, raw_stream, reply, slow, tool_call, truncated


def test_a_cut_stream_is_an_error_not_a_reply_and_is_not_printed_twice(cli, llm_server):
    """#14.15: part of the reply is on the screen, so it is not retried (that printed the
    partial reply and then the whole one); the cut reply is not saved as complete."""
    llm_server.script([truncated("this reply will be cut off somewhere"), reply("never sent")])
    r = cli("ask", "hi", "-t", "cut", "--no-title")
    assert r.code == 1 and "broke off" in r.err and r.err.count("\n") == 1
    assert r.out.startswith("this reply") and "never sent" not in r.out
    assert [m["role"] for m in cli("messages", "list", "-t", "cut", "--json").json()] == ["user"]


def test_timeout_is_retried(cli, llm_server, monkeypatch):
    monkeypatch.setenv("MEMCLI_TIMEOUT", "1")
    llm_server.script([slow(3, reply("late")), reply("on time")])
    r = cli("ask", "hi", "--no-title")
    assert r.code == 0 and r.out == "on time\n"


def test_retry_after_is_honoured(cli, llm_server):
    import time

    llm_server.script([error(429, retry_after=1), reply("ok")])
    start = time.perf_counter()
    r = cli("ask", "hi", "--no-title")
    assert r.code == 0 and time.perf_counter() - start >= 1.0


def test_failed_reply_keeps_the_user_message_and_writes_nothing_else(cli, llm_server):
    assert cli("memory", "set", "-r", "default", "--", "- **First Name**: Alice").code == 0
    llm_server.script([error(400, body="bad request: invalid model input")])
    r = cli("ask", "my words matter", "-t", "t", "--no-title")
    assert r.code == 1 and r.err.count("\n") == 1
    msgs = cli("messages", "list", "-t", "t", "--json").json()
    assert [m["content"] for m in msgs] == ["my words matter"]
    assert "Alice" in cli("memory", "show").out


def test_unknown_tool_is_answered_not_executed(cli, llm_server):
    llm_server.script([tool_call("delete_everything", {"really": True}), reply("ok")])
    assert cli("ask", "hi", "--no-title").code == 0
    tool_msg = [m for m in llm_server.requests[1]["messages"] if m["role"] == "tool"][0]
    assert tool_msg["content"] == "error: unknown tool delete_everything"


def test_a_stream_with_no_usable_reply_is_an_error(cli, llm_server):
    """#14.15: empty choices or malformed chunks exited 0 with nothing printed."""
    events = ["{not json", '{"id": "x", "object": "chat.completion.chunk", "choices": []}']
    for _ in range(2):
        llm_server.script([raw_stream(*events)] * 6)
        r = cli("ask", "hello there", "-t", "empty", "--no-title")
        last = r.err.strip().splitlines()[-1]
        assert r.code == 1 and last.startswith("memcli: error:") and r.out.strip() == ""
    # asked twice, stored once, and no assistant message
    assert [m["role"] for m in cli("messages", "list", "-t", "empty", "--json").json()] == ["user"]


def test_a_prompt_over_the_window_keeps_the_typed_message(cli, llm_server):
    """#14.15: the README promises a failed reply loses nothing typed; so does a prompt
    too long for the context window."""
    r = cli("ask", "word " * 2000, "-t", "big", "--max-context", "512", "--no-title")
    assert r.code == 1 and "budget" in r.err and not llm_server.requests
    assert cli("messages", "list", "-t", "big", "--json").json()[0]["content"].startswith("word word")


def test_an_observer_reply_far_longer_than_its_input_is_refused(cli, llm_server):
    """#14.15: a 200k-character observation was accepted, then broke every later ask."""
    from memcli import Memory

    with Memory() as mem:
        mem.add_message("I live in Porto", "t", "alice", embed=False)
    flood = "<observations>\n" + "".join(f"* 🔴 (10:00) line {i} " + "x" * 180 + "\n" for i in range(1000))
    llm_server.script([reply(flood + "</observations>")] * 2)
    r = cli("observe", "-t", "t", "--force")
    assert r.code == 1 and "observer answered" in r.err
    assert cli("observations", "show", "-t", "t", "--json").json() is None
