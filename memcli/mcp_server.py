"""`memcli mcp`: memory for agent clients over the Model Context Protocol (stdio).

Tools: recall, remember, working_memory_get, working_memory_update,
threads_list, observations_show. Resources: memcli://threads and
memcli://threads/{thread_id}. Built on the official `mcp` SDK (2.x: MCPServer).
"""

import inspect
import json
from typing import Any

from memcli.errors import MemcliError
from memcli.memory import DEFAULT_RESOURCE, Memory


def _user_errors(fn):
    """memcli's own errors reach the client as tool errors with their one-line message."""
    from mcp.server.mcpserver.exceptions import ToolError

    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except MemcliError as exc:
            raise ToolError(str(exc)) from None

    # not functools.wraps: the SDK follows __wrapped__ and would call fn directly
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    wrapper.__signature__ = inspect.signature(fn)
    wrapper.__annotations__ = fn.__annotations__
    return wrapper


def build_server(memory: Memory):
    from mcp.server.mcpserver import MCPServer

    server = MCPServer(
        "memcli", instructions="Long-term memory of conversations: recall, remember, working memory."
    )

    def tool(**kwargs):
        """server.tool, with memcli errors turned into tool errors."""
        return lambda fn: server.tool(**kwargs)(_user_errors(fn))

    @tool(description="Find past messages relevant to a query (hybrid semantic + keyword search).")
    def recall(
        query: str,
        resource_id: str = DEFAULT_RESOURCE,
        thread_id: str | None = None,
        top_k: int = 4,
        message_range: int = 1,
    ) -> list[dict[str, Any]]:
        result = memory.recall(
            query, resource_id=resource_id, thread_id=thread_id, top_k=top_k, message_range=message_range
        )
        return [h.to_dict() for h in result.hits]

    @tool(description="Save a message or a fact to a thread (created on first use).")
    def remember(
        content: str, thread_id: str, resource_id: str = DEFAULT_RESOURCE, role: str = "user"
    ) -> dict[str, Any]:
        return memory.add_message(content, thread_id, resource_id, role=role).to_dict()

    @tool(description="Read the working memory of a resource (or of a thread).")
    def working_memory_get(resource_id: str = DEFAULT_RESOURCE, thread_id: str | None = None) -> str:
        if thread_id:
            memory.get_thread(thread_id, resource_id)
            return memory.store.working_memory.get("thread", thread_id) or ""
        return memory.store.working_memory.get("resource", resource_id) or ""

    @tool(description="Replace the working memory of a resource (or of a thread) with new Markdown.")
    def working_memory_update(
        content: str, resource_id: str = DEFAULT_RESOURCE, thread_id: str | None = None
    ) -> str:
        from memcli import working_memory

        scope, scope_id = ("thread", thread_id) if thread_id else ("resource", resource_id)
        if thread_id:
            memory.get_thread(thread_id, resource_id)
        current = memory.store.working_memory.get(scope, scope_id)
        new = working_memory.apply_update(current, {"memory": content}, None)
        with memory.store.transaction():
            memory.store.working_memory.set(scope, scope_id, new, source="mcp")
        return "ok"

    @tool(description="List threads, newest first.")
    def threads_list(resource_id: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        threads, _ = memory.list_threads(resource_id, limit=limit)
        return [t.to_dict() for t in threads]

    @tool(description="The observation log of a thread (or resource): observations, current task.")
    def observations_show(thread_id: str | None = None, resource_id: str | None = None) -> dict[str, Any]:
        scope, scope_id = (
            ("thread", thread_id) if thread_id else ("resource", resource_id or DEFAULT_RESOURCE)
        )
        record = memory.store.observations.latest(scope, scope_id)
        return {} if record is None else dict(record.__dict__)

    @server.resource("memcli://threads", mime_type="application/json", description="All threads")
    def all_threads() -> str:
        threads, _ = memory.list_threads(limit=1000)
        return json.dumps([t.to_dict() for t in threads], ensure_ascii=False)

    @server.resource("memcli://threads/{thread_id}", mime_type="application/json", description="A thread")
    def one_thread(thread_id: str) -> str:
        thread = memory.get_thread(thread_id)
        messages = memory.list_messages(thread_id, last=100)
        return json.dumps(
            {"thread": thread.to_dict(), "messages": [m.to_dict() for m in messages]}, ensure_ascii=False
        )

    return server


def serve(memory: Memory) -> None:
    build_server(memory).run("stdio")
