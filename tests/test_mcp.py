"""memcli mcp, driven by the official MCP SDK client over stdio."""

import asyncio
import json
import os
import sys

import pytest  # noqa: E402

from conftest import EXAMPLE

pytestmark = pytest.mark.both_backends


async def _session_run(env, body):
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "memcli", "mcp"], env=env)
    # the server's stderr to a real file: pytest's captured stderr has no fileno
    with open(os.devnull, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await body(session)


def _text(result) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def test_mcp_tools_and_resources(cli, local_model):
    assert cli("import", str(EXAMPLE)).code == 0
    # resources (memcli://threads...) act for the configured resource, never for all
    env = {**os.environ, "MEMCLI_RESOURCE": "alice"}

    async def body(session):
        tools = {t.name for t in (await session.list_tools()).tools}
        assert {
            "recall",
            "remember",
            "working_memory_get",
            "working_memory_update",
            "threads_list",
            "observations_show",
            "recall_messages",
            "add_memory",
            "search_memories",
            "update_memory",
            "delete_memory",
            "memory_history",
        } == tools
        hits = await session.call_tool(
            "recall", {"query": "peanut allergy", "resource_id": "alice", "top_k": 2}
        )
        assert "peanut" in _text(hits)
        saved = await session.call_tool(
            "remember",
            {"content": "Alice adopted a dog named Rex", "thread_id": "mcp-1", "resource_id": "alice"},
        )
        assert "Rex" in _text(saved)
        ok = await session.call_tool(
            "working_memory_update", {"content": "- **Pets**: Miso (cat), Rex (dog)", "resource_id": "alice"}
        )
        assert _text(ok) == "ok"
        got = await session.call_tool("working_memory_get", {"resource_id": "alice"})
        assert "Rex (dog)" in _text(got)
        listed = await session.call_tool("threads_list", {"resource_id": "alice"})
        assert "mcp-1" in _text(listed)
        resource = await session.read_resource("memcli://threads/mcp-1")
        data = json.loads(resource.contents[0].text)
        assert data["messages"][0]["content"] == "Alice adopted a dog named Rex"
        wrong = await session.call_tool("working_memory_get", {"resource_id": "bob", "thread_id": "mcp-1"})
        assert wrong.is_error and "not found or not of resource" in _text(wrong)
        return True

    assert asyncio.run(_session_run(env, body))
    assert cli("messages", "list", "-t", "mcp-1", "--json").json()[0]["resource_id"] == "alice"


def test_a_pinned_server_serves_one_resource_only(cli):
    """#14.14: `memcli mcp --resource bob` never shows or takes alice's data."""
    from memcli import Memory

    with Memory() as mem:
        mem.add_message("alice's secret", "t-alice", "alice", embed=False)
        mem.add_message("bob's note", "t-bob", "bob", embed=False)
    env = dict(os.environ)

    async def body(session):
        listed = json.loads((await session.read_resource("memcli://threads")).contents[0].text)
        assert [t["id"] for t in listed] == ["t-bob"]
        refused = await session.call_tool("observations_show", {"thread_id": "t-alice"})
        assert refused.is_error and "alice" in _text(refused)
        other = await session.call_tool("recall", {"query": "secret", "resource_id": "alice"})
        assert other.is_error and "serves resource bob only" in _text(other)
        mine = await session.call_tool("recall", {"query": "note"})
        assert "bob's note" in _text(mine) and "secret" not in _text(mine)
        bad = await session.call_tool("recall", {"query": "note", "top_k": -1})
        assert bad.is_error
        try:
            await session.read_resource("memcli://threads/t-alice")
            raise AssertionError("alice's thread was served to bob's server")
        except Exception as exc:  # the SDK raises the server's error
            assert "alice" in str(exc)

    async def run():
        from mcp import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(
            command=sys.executable, args=["-m", "memcli", "mcp", "--resource", "bob"], env=env
        )
        with open(os.devnull, "w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    await body(session)

    asyncio.run(run())


def test_an_unpinned_server_needs_a_resource(cli):
    """#18: no silent 'default' (or every resource) when resource_id is left out."""
    from memcli import Memory

    with Memory() as mem:
        mem.add_message("alice lives in Lisbon", "t-alice", "alice", embed=False)

    async def body(session):
        missing = await session.call_tool("recall", {"query": "Lisbon"})
        assert missing.is_error and "resource_id is required" in _text(missing)
        found = await session.call_tool("recall", {"query": "Lisbon", "resource_id": "alice"})
        assert "Lisbon" in _text(found)

    asyncio.run(_session_run(dict(os.environ), body))


def test_tools_describe_themselves_and_fail_like_the_cli(cli, tmp_path):
    """#18: parameter descriptions, an enum for role, bounds, read-only hints, a version,
    and an unknown thread as a clean error (it was -32603 and a traceback on stderr)."""
    import memcli

    env = {**os.environ, "MEMCLI_RESOURCE": "alice"}

    async def body(session):
        tools = {t.name: t for t in (await session.list_tools()).tools}
        recall = tools["recall"].input_schema["properties"]
        assert all(p.get("description") for p in recall.values())

        def bounds(
            prop,
        ):  # an optional number: {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]}
            return next(s for s in prop.get("anyOf", [prop]) if s.get("type") == "integer")

        assert bounds(recall["top_k"])["minimum"] == 1 and bounds(recall["message_range"])["minimum"] == 0
        assert tools["recall"].input_schema.get("additionalProperties") is False
        role = tools["remember"].input_schema["properties"]["role"]
        assert set(role["enum"]) == {"user", "assistant", "system", "tool"}
        assert tools["recall"].annotations.read_only_hint is True
        assert tools["remember"].annotations.read_only_hint is False
        zero = await session.call_tool("recall", {"query": "x", "top_k": 0})
        assert zero.is_error
        try:
            await session.read_resource("memcli://threads/no-such-thread")
            raise AssertionError("an unknown thread was read")
        except Exception as exc:
            assert "no thread with id no-such-thread" in str(exc)
        return session

    async def run():
        from mcp import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(command=sys.executable, args=["-m", "memcli", "mcp"], env=env)
        errlog = open(tmp_path / "server.err", "w")  # noqa: SIM115
        with errlog:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write) as session:
                    info = await session.initialize()
                    assert info.server_info.version == memcli.__version__
                    await body(session)

    asyncio.run(run())
    assert "Traceback" not in (tmp_path / "server.err").read_text()


def test_remember_says_what_keyword_search_covers_of_a_long_message(cli, backend, local_model):
    """PostgreSQL's keyword index covers a message's first 100,000 characters: the agent is
    told, as `add` tells a person; SQLite indexes it whole and says nothing."""
    long = "start " + "word " * 30_000

    async def body(session):
        saved = await session.call_tool(
            "remember", {"content": long, "thread_id": "t", "resource_id": "alice"}
        )
        assert not saved.is_error, _text(saved)
        return json.loads(_text(saved))

    saved = asyncio.run(_session_run(dict(os.environ), body))
    assert saved["content"] == long
    told = [
        "1 message longer than 100,000 characters: keyword search covers the first 100,000 of each "
        "(the whole text is stored, and recall by meaning reads all of it)"
    ]
    assert saved.get("notices") == (told if backend == "postgresql" else None)
