"""memcli mcp, driven by the official MCP SDK client over stdio."""

import asyncio
import json
import os
import sys

from conftest import EXAMPLE


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
    env = dict(os.environ)

    async def body(session):
        tools = {t.name for t in (await session.list_tools()).tools}
        assert {
            "recall",
            "remember",
            "working_memory_get",
            "working_memory_update",
            "threads_list",
            "observations_show",
        } <= tools
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
        assert wrong.is_error and "is for resource with id alice" in _text(wrong)
        return True

    assert asyncio.run(_session_run(env, body))
    assert cli("messages", "list", "-t", "mcp-1", "--json").json()[0]["resource_id"] == "alice"
