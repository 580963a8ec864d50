"""Facts memory (#15): extraction through the real litellm path against the scripted
server, versions with history and provenance, as-of, forgetting, MCP and chat."""

import asyncio
import json
import os
import sys

import pytest
from fake_llm import reply

from memcli import Memory, NotFoundError, OwnershipError

pytestmark = pytest.mark.both_backends


def extraction(*items) -> dict:
    return reply(json.dumps({"memory": list(items)}))


def _conversation(mem):
    mem.save_messages(
        [
            {
                "id": "a1",
                "content": "I moved to Porto last month.",
                "thread_id": "t1",
                "resource_id": "alice",
                "created_at": "2024-04-10T10:00:00Z",
            },
            {
                "id": "a2",
                "content": "Nice! Porto is lovely.",
                "role": "assistant",
                "thread_id": "t1",
                "resource_id": "alice",
                "created_at": "2024-04-10T10:01:00Z",
            },
            {
                "id": "a3",
                "content": "Also, I am vegetarian.",
                "thread_id": "t1",
                "resource_id": "alice",
                "created_at": "2024-04-10T10:02:00Z",
            },
        ],
        embed=False,
    )


def test_extract_update_delete_with_history_provenance_and_as_of(cli, llm_server):
    with Memory() as mem:
        _conversation(mem)
    llm_server.script(
        [
            extraction(
                {
                    "event": "ADD",
                    "text": "Alice lives in Porto",
                    "sources": ["m1"],
                    "valid_from": "2024-03-10",
                    "category": "home",
                },
                {
                    "event": "ADD",
                    "text": "Alice is vegetarian",
                    "sources": ["m3"],
                    "category": "food",
                    "x": 1,
                },
                {"event": "FORGET", "id": "0"},
            )
        ]
    )
    r = cli("memories", "extract", "-t", "t1", "--json")
    assert r.code == 0, r.err
    done = r.json()
    assert len(done["added"]) == 2 and done["calls"] == 1
    assert any("unknown event" in n for n in done["notices"])
    # the model saw the messages with refs and no memories yet
    prompt = llm_server.requests[0]["messages"][0]["content"]
    assert "m1 (2024-04-10) user: I moved to Porto" in prompt and "(none yet)" in prompt
    # running it again over nothing new calls no model
    again = cli("memories", "extract", "-t", "t1", "--json").json()
    assert again["calls"] == 0 and len(llm_server.requests) == 1
    home = next(m for m in cli("memories", "list", "-r", "alice", "--json").json() if m["category"] == "home")
    assert home["sources"] == ["a1"] and home["valid_from"] == "2024-03-10T00:00:00Z"

    with Memory() as mem:
        mem.add_message("We moved again, to Lisbon, on June 1st.", "t2", "alice", embed=False)
        mem.add_message("I eat fish now.", "t2", "alice", embed=False)
    llm_server.script(
        [
            reply("not json"),
            extraction(
                {
                    "event": "UPDATE",
                    "id": "0",
                    "text": "Alice lives in Lisbon",
                    "sources": ["m1"],
                    "valid_from": "2024-06-01",
                },
                {"event": "DELETE", "id": "1", "sources": ["m2"], "valid_from": "2024-06-05"},
                {"event": "UPDATE", "id": "7", "text": "invented"},
            ),
        ]
    )
    r = cli("memories", "extract", "-r", "alice", "--json").json()
    assert r["calls"] == 2 and len(r["updated"]) == 1 and len(r["deleted"]) == 1  # retried once
    shown = llm_server.requests[-1]["messages"][0]["content"]
    assert '"0": Alice lives in Porto' in shown
    current = cli("memories", "list", "-r", "alice", "--json").json()
    assert [m["text"] for m in current] == ["Alice lives in Lisbon"]
    history = cli("memories", "history", home["id"], "--json").json()
    assert [(h["version"], h["event"], h["text"]) for h in history] == [
        (1, "ADD", "Alice lives in Porto"),
        (2, "UPDATE", "Alice lives in Lisbon"),
    ]
    assert history[0]["valid_to"] == "2024-06-01T00:00:00Z" and history[0]["superseded_at"]
    then = cli("memories", "list", "-r", "alice", "--as-of", "2024-05-01", "--json").json()
    assert sorted(m["text"] for m in then) == ["Alice is vegetarian", "Alice lives in Porto"]


def test_a_reply_that_is_never_json_writes_nothing(cli, llm_server):
    with Memory() as mem:
        _conversation(mem)
    llm_server.script([reply("I think Alice likes Porto"), reply('{"memories": []}')])
    r = cli("memories", "extract", "-t", "t1")
    assert r.code == 1 and "memory" in r.err and r.err.count("\n") == 1
    assert cli("memories", "list", "-r", "alice", "--json").json() == []
    llm_server.script([extraction({"event": "ADD", "text": "Alice lives in Porto"})])
    r = cli("memories", "extract", "-t", "t1", "--json").json()  # the cursor did not move
    assert r["messages"] == 3
    memories = cli("memories", "list", "-r", "alice", "--json").json()
    assert memories[0]["sources"] == ["a1", "a2", "a3"]  # no sources: the whole batch


def test_api_changes_are_versions_owned_by_one_resource():
    with Memory() as mem:
        _conversation(mem)
        v = mem.add_memory("Alice likes trams", resource_id="alice", sources=["a1"], category="transport")
        mem.update_memory(v.memory_id, "Alice loves trams", resource_id="alice")
        with pytest.raises(OwnershipError):
            mem.update_memory(v.memory_id, "Bob's now", resource_id="bob")
        with pytest.raises(OwnershipError):
            mem.add_memory("steal", resource_id="bob", sources=["a1"])
        with pytest.raises(NotFoundError):
            mem.get_memory("nope")
        assert mem.search_memories("trams", resource_id="bob") == []
        assert mem.search_memories("trams", resource_id="alice")[0][0].text == "Alice loves trams"
        mem.delete_memory(v.memory_id, resource_id="alice")
        assert mem.list_memories(resource_id="alice") == []
        assert [h.event for h in mem.memory_history(v.memory_id)] == ["ADD", "UPDATE", "DELETE"]
        mem.add_memory("Alice's visa ends", resource_id="alice", expires_at="2001-01-01")
        assert mem.search_memories("visa", resource_id="alice") == []  # expired: not used


def test_forgetting_follows_threads_and_resources():
    with Memory() as mem:
        _conversation(mem)
        mem.add_message("I work at a bakery", "t2", "alice", embed=False)
        only_t1 = mem.add_memory("Alice lives in Porto", resource_id="alice", sources=["a1"])
        both = mem.add_memory("Alice is vegetarian", resource_id="alice", sources=["a3"])
        work = mem.list_messages("t2")[0]
        mem.update_memory(both.memory_id, "Alice is vegetarian and bakes", resource_id="alice")
        mem.store.conn.execute(  # a later version citing t2 as well
            "INSERT INTO memory_sources(version_id, message_id, thread_id) "
            "SELECT max(id), ?, 't2' FROM memory_versions WHERE memory_id = ?",
            [work.id, both.memory_id],
        )
        mem.delete_thread("t1")
        left = {m.memory_id for m in mem.list_memories(resource_id="alice")}
        assert only_t1.memory_id not in left and both.memory_id in left
        mem.delete_resource("alice")
        assert mem.store.conn.execute("SELECT count(*) FROM memory_versions").fetchone()[0] == 0


def test_mem0_dump_and_memcli_jsonl_import(cli, tmp_path):
    dump = tmp_path / "mem0.json"
    dump.write_text(
        json.dumps(
            {
                "results": [
                    {
                        "id": "9f1",
                        "memory": "Likes jazz",
                        "user_id": "alice",
                        "categories": ["music"],
                        "created_at": "2024-07-20T12:00:00-07:00",
                    },
                ]
            }
        )
    )
    assert cli("memories", "import", dump, "-r", "alice", "--json").json() == {"added": 1, "unchanged": 0}
    assert cli("memories", "import", dump, "-r", "alice", "--json").json() == {"added": 0, "unchanged": 1}
    out = cli("memories", "export", "-r", "alice").out
    (tmp_path / "m.jsonl").write_text(out)
    cli("db", "delete-resource", "alice", "--yes")
    assert cli("memories", "import", tmp_path / "m.jsonl", "-r", "alice", "--json").json() == {
        "added": 1,
        "unchanged": 0,
    }
    got = cli("memories", "list", "-r", "alice", "--json").json()[0]
    assert got["id"].startswith("mem0-") and (got["text"], got["category"]) == ("Likes jazz", "music")


def test_chat_sees_memories_and_tokens_counts_them(cli, llm_server):
    with Memory() as mem:
        mem.add_memory("Alice is vegetarian", resource_id="alice", category="food")
    report = cli("tokens", "-r", "alice", "-p", "what should I eat as a vegetarian?", "--json").json()
    assert report["sections"]["memories"] > 0
    llm_server.script([reply("Try the lentils.")])
    assert cli("ask", "what should a vegetarian eat?", "-r", "alice", "--no-title").code == 0
    assert "Alice is vegetarian" in json.dumps(llm_server.requests[0]["messages"])


def test_chat_extracts_after_the_reply_when_enabled(cli, llm_server):
    cli("config", "set", "memories.extract", "true")
    cli("config", "set", "observation.enabled", "false")
    llm_server.script(
        [reply("Noted."), extraction({"event": "ADD", "text": "Alice owns a cat", "sources": ["m1"]})]
    )
    r = cli("ask", "I have a cat", "-r", "alice", "-t", "c", "--no-title")
    assert r.code == 0 and r.out == "Noted.\n"
    assert [m["text"] for m in cli("memories", "list", "-r", "alice", "--json").json()] == [
        "Alice owns a cat"
    ]


def test_recall_include_memories(cli):
    with Memory() as mem:
        _conversation(mem)
        mem.add_memory("Alice is vegetarian", resource_id="alice", sources=["a3"])
    hits = cli(
        "recall", "vegetarian", "-r", "alice", "--mode", "keyword", "--include", "memories", "--json"
    ).json()
    memory = [h for h in hits if h.get("type") == "memory"]
    assert memory and memory[0]["source_messages"][0]["id"] == "a3"


def test_mcp_memory_tools(cli):
    env = {**os.environ}

    async def run():
        from mcp import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(
            command=sys.executable, args=["-m", "memcli", "mcp", "--resource", "alice"], env=env
        )
        with open(os.devnull, "w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    added = await session.call_tool("add_memory", {"text": "Alice plays cello"})
                    memory_id = json.loads(added.content[0].text)["id"]
                    await session.call_tool(
                        "update_memory", {"memory_id": memory_id, "text": "Alice plays viola"}
                    )
                    found = await session.call_tool("search_memories", {"query": "viola"})
                    assert "Alice plays viola" in found.content[0].text
                    assert (await session.call_tool("delete_memory", {"memory_id": memory_id})).content[
                        0
                    ].text == "ok"
                    history = await session.call_tool("memory_history", {"memory_id": memory_id})
                    events = [json.loads(c.text)["event"] for c in history.content]
                    assert events == ["ADD", "UPDATE", "DELETE"]
                    other = await session.call_tool("search_memories", {"query": "x", "resource_id": "bob"})
                    assert other.is_error

    asyncio.run(run())
