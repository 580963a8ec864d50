"""#27 (2): observations that point back — with observation.retrieval the chat model gets a
recall_messages tool that opens the raw messages behind an observation generation, pages
through a thread or searches, with a cursor; through both model clients (llm_server runs
every test with the light client and with litellm), streamed (ask) and not (the API)."""

import json

import pytest
from fake_llm import reply, tool_call

from memcli import Memory

pytestmark = pytest.mark.both_backends

OBSERVED = "<observations>\nDate: Dec 1, 2026\n* 🔴 (10:00) User booked a trip\n</observations>\n<current-task>trip</current-task>\n<suggested-response>ask</suggested-response>"


def _thread(cli, n, thread="t", resource="alice"):
    rows = [
        {"content": f"message {i}: the hotel is Casa {i}", "thread_id": thread, "resource_id": resource}
        for i in range(n)
    ]
    assert cli("import", "-", "--no-embed", input="\n".join(map(json.dumps, rows))).code == 0


def _tool_result(request) -> str:
    return next(m["content"] for m in request["messages"] if m["role"] == "tool")


def test_the_model_opens_the_messages_behind_a_generation(cli, llm_server):
    _thread(cli, 3)
    assert cli("config", "set", "observation.retrieval", "true").code == 0
    llm_server.script([reply(OBSERVED)])
    assert cli("observe", "-t", "t", "--force").code == 0
    shown = cli("observations", "show", "-t", "t", "--sources", "--json").json()
    assert [m["content"][:9] for m in shown["sources"]["1"]] == ["message 0", "message 1", "message 2"]
    assert "Generation 1: 3 messages" in cli("observations", "show", "-t", "t", "--sources").out
    llm_server.script([tool_call("recall_messages", {"generation": 1}), reply("It was Casa 1.")])
    r = cli("ask", "which hotel?", "-t", "t", "-r", "alice", "--no-title")
    assert r.code == 0 and "Casa 1" in r.out
    first = llm_server.requests[1]
    assert "recall_messages" in [t["function"]["name"] for t in first["tools"]]
    system = "\n".join(m["content"] for m in first["messages"] if m["role"] == "system")
    assert "thread generation 1: messages of" in system
    opened = json.loads(_tool_result(llm_server.requests[2]))
    assert [m["content"] for m in opened["messages"]] == [
        f"message {i}: the hotel is Casa {i}" for i in range(3)
    ]
    assert opened["next_cursor"] is None


def test_pages_with_a_cursor_without_streaming(cli, llm_server):
    _thread(cli, 25)
    assert cli("config", "set", "observation.retrieval", "true").code == 0
    llm_server.script(
        [
            tool_call("recall_messages", {"thread_id": "t"}),
            tool_call("recall_messages", {"thread_id": "t", "cursor": "20"}),
            reply("done"),
        ]
    )
    with Memory() as mem:
        result = mem.ask("read it all", thread_id="t", resource_id="alice", titles=False)  # no on_token
    assert result.reply == "done"
    page1 = json.loads(_tool_result(llm_server.requests[1]))
    assert len(page1["messages"]) == 20 and page1["next_cursor"] == "20"
    tool_messages = [m["content"] for m in llm_server.requests[2]["messages"] if m["role"] == "tool"]
    page2 = json.loads(tool_messages[-1])
    contents = [m["content"] for m in page2["messages"]]
    assert contents == [f"message {i}: the hotel is Casa {i}" for i in range(20, 25)] + ["read it all"]
    assert page2["next_cursor"] is None


def test_another_resources_thread_is_refused_through_the_tool(cli, llm_server):
    _thread(cli, 2, thread="other-t", resource="bob")
    _thread(cli, 1)
    assert cli("config", "set", "observation.retrieval", "true").code == 0
    llm_server.script([tool_call("recall_messages", {"thread_id": "other-t"}), reply("ok")])
    assert cli("ask", "peek", "-t", "t", "-r", "alice", "--no-title").code == 0
    answer = _tool_result(llm_server.requests[1])
    assert answer.startswith("error:") and "Casa" not in answer and "bob" not in answer


def test_off_by_default_and_instructions_only_extend(cli, llm_server):
    _thread(cli, 1)
    llm_server.script([tool_call("recall_messages", {"thread_id": "t"}), reply("ok")])
    assert cli("ask", "hi", "-t", "t", "-r", "alice", "--no-title").code == 0
    assert "recall_messages" not in json.dumps(llm_server.requests[0].get("tools", []))
    assert _tool_result(llm_server.requests[1]) == "error: unknown tool recall_messages"
    assert cli("config", "set", "observation.retrieval", "true").code == 0
    assert cli("config", "set", "observation.retrieval_instructions", "Prefer searching first.").code == 0
    llm_server.script([reply("ok")])
    assert cli("ask", "hi again", "-t", "t", "-r", "alice", "--no-title").code == 0
    tool = next(t for t in llm_server.requests[-1]["tools"] if t["function"]["name"] == "recall_messages")
    description = tool["function"]["description"]
    assert description.startswith("Read the raw messages") and description.endswith("Prefer searching first.")


def _observation(line: str) -> dict:
    return reply(
        f"<observations>\nDate: Dec 1, 2026\n* 🔴 (10:00) {line}\n</observations>\n<current-task>x</current-task>"
    )


def test_observation_groups_are_indexed_and_found_by_meaning(cli, llm_server, local_model):
    """observation.retrieval_vector: each group gets a vector when it is written; a search
    finds the group by meaning (no shared words) and opens the messages it came from."""
    assert cli("config", "set", "observation.retrieval_vector", "true").code == 0
    garden = [
        {"content": f"I planted tomatoes and basil, row {i}", "thread_id": "t", "resource_id": "alice"}
        for i in range(3)
    ]
    assert cli("import", "-", "--no-embed", input="\n".join(map(json.dumps, garden))).code == 0
    llm_server.script([_observation("User grows tomatoes and basil in the garden")])
    assert cli("observe", "-t", "t", "--force").code == 0
    taxes = [
        {"content": f"I filed the quarterly tax return, form {i}", "thread_id": "t", "resource_id": "alice"}
        for i in range(3)
    ]
    assert cli("import", "-", "--no-embed", input="\n".join(map(json.dumps, taxes))).code == 0
    llm_server.script([_observation("User filed the quarterly tax return")])
    assert cli("observe", "-t", "t", "--force").code == 0
    with Memory() as mem:
        for record in mem.observation_history(thread_id="t"):
            [g] = record.metadata["groups"]
            assert g["vector"] and g["model"] == "sentence-transformers/all-MiniLM-L6-v2"
        found = mem.open_messages(query="vegetable patch", thread_id="t", resource_id="alice")
        top = found["groups"][0]
        assert "garden" in top["text"] and top["generation"] == 1 and "vector" not in top
        assert [m["content"] for m in top["messages"]] == [r["content"] for r in garden]
        other = mem.open_messages(
            query="IRS paperwork and government forms", thread_id="t", resource_id="alice"
        )
        assert "tax" in other["groups"][0]["text"]
