"""`memcli mcp`: memory for agent clients over the Model Context Protocol (stdio).

Tools: recall, remember, working_memory_get, working_memory_update,
threads_list, observations_show, and the facts memory's add_memory,
search_memories, update_memory, delete_memory, memory_history. Resources: memcli://threads and
memcli://threads/{thread_id}. Built on the official `mcp` SDK (2.x: MCPServer).

Like the CLI, this module only parses, calls `Memory` and renders. With
`memcli mcp --resource R` the server is pinned to one resource: every tool
and resource acts for R, and naming another resource is an error.
"""

import inspect
import json
from typing import Annotated, Any, Literal

from pydantic import Field

from memcli import __version__
from memcli.database import redact
from memcli.errors import InputError, MemcliError
from memcli.memory import MAX_MESSAGE_RANGE, MAX_TOP_K, Memory

ResourceArg = Annotated[
    str | None,
    Field(description="The user (resource) whose memory to use; defaults to the server's resource."),
]
ThreadArg = Annotated[str | None, Field(description="A thread (conversation) id of that resource.")]


def _user_errors(fn):
    """memcli's own errors reach the client as tool errors with their one-line message."""
    from mcp.server.mcpserver.exceptions import ToolError

    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except MemcliError as exc:
            raise ToolError(_printable(redact(str(exc)))) from None
        except Exception as exc:  # a bug: say so in one line, never a hung request
            raise ToolError(_printable(redact(f"internal error: {type(exc).__name__}: {exc}"))) from None

    # not functools.wraps: the SDK follows __wrapped__ and would call fn directly
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    wrapper.__signature__ = inspect.signature(fn)
    wrapper.__annotations__ = fn.__annotations__
    return wrapper


def _printable(text: str) -> str:
    """Text that can be sent as JSON over the wire (a lone surrogate could not)."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _strict_arguments(server) -> None:
    """Refuse unknown tool arguments (a misspelt `resource_id` must not silently act for
    the default resource): every tool's argument model forbids extra keys, and its
    published schema says so (additionalProperties: false)."""
    for tool in server._tool_manager.list_tools():
        model = tool.fn_metadata.arg_model
        model.model_config["extra"] = "forbid"
        model.model_rebuild(force=True)
        tool.parameters = model.model_json_schema(by_alias=True)


def build_server(memory: Memory):
    """The MCP server over one Memory (pinned to one resource when its settings say so)."""
    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    server = MCPServer(
        "memcli",
        version=__version__,
        instructions=(
            "Long-term memory of conversations: recall past messages, remember new ones, "
            "read and update a user's working memory."
        ),
    )

    def resource_for(resource_id: str | None) -> str:
        """The resource a call acts for; never "every resource" by omission."""
        # a pinned Memory refuses any other resource itself (Memory._pinned_check)
        resource = resource_id or memory.settings.resource
        if not resource:
            raise InputError("resource_id is required (or start the server with memcli mcp --resource R)")
        return resource

    def tool(read_only: bool, **kwargs):
        """server.tool, with memcli errors turned into tool errors."""
        hints = ToolAnnotations(read_only_hint=read_only, destructive_hint=False, open_world_hint=False)
        return lambda fn: server.tool(annotations=hints, **kwargs)(_user_errors(fn))

    @tool(True, description="Find past messages relevant to a query (semantic + keyword search), best first.")
    def recall(
        query: Annotated[str, Field(min_length=1, description="What to look for, in plain words.")],
        resource_id: ResourceArg = None,
        thread_id: Annotated[str | None, Field(description="Search only this thread.")] = None,
        top_k: Annotated[
            int | None,
            Field(ge=1, le=MAX_TOP_K, description="How many best hits to return (default: recall.top_k)."),
        ] = None,
        message_range: Annotated[
            int | None,
            Field(
                ge=0,
                le=MAX_MESSAGE_RANGE,
                description="Neighbouring messages shown around each hit (default: recall.message_range).",
            ),
        ] = None,
    ) -> list[dict[str, Any]]:
        result = memory.recall(
            query,
            resource_id=resource_for(resource_id),
            thread_id=thread_id,
            scope="thread" if thread_id else "resource",
            top_k=top_k,
            message_range=message_range,
        )
        return [h.to_dict() for h in result.hits]

    @tool(False, description="Save a message or a fact to a thread (the thread is created on first use).")
    def remember(
        content: Annotated[str, Field(min_length=1, description="The text to remember.")],
        thread_id: Annotated[str, Field(min_length=1, description="Thread to add it to.")],
        resource_id: ResourceArg = None,
        role: Annotated[
            Literal["user", "assistant", "system", "tool"], Field(description="Who said it.")
        ] = "user",
    ) -> dict[str, Any]:
        notices: list[str] = []
        saved = memory.add_message(content, thread_id, resource_for(resource_id), role=role, notices=notices)
        return saved.to_dict() | ({"notices": notices} if notices else {})

    @tool(True, description="Read the working memory (a short profile) of a user, or of one thread.")
    def working_memory_get(resource_id: ResourceArg = None, thread_id: ThreadArg = None) -> str:
        return memory.get_working_memory(resource_id=resource_for(resource_id), thread_id=thread_id) or ""

    @tool(
        False,
        description=(
            "Update the working memory of a user (or of one thread). Markdown mode: the whole new "
            "document. Schema mode: a JSON object whose fields are merged in (null deletes a field)."
        ),
    )
    def working_memory_update(
        content: Annotated[
            str, Field(min_length=1, description="New Markdown, or a JSON object in schema mode.")
        ],
        resource_id: ResourceArg = None,
        thread_id: ThreadArg = None,
    ) -> str:
        memory.update_working_memory(
            content, resource_id=resource_for(resource_id), thread_id=thread_id, source="mcp"
        )
        return "ok"

    @tool(True, description="List a user's threads, newest first.")
    def threads_list(
        resource_id: ResourceArg = None,
        limit: Annotated[int, Field(ge=1, le=1000, description="Threads to return.")] = 100,
        offset: Annotated[int, Field(ge=0, description="Threads to skip (for the next page).")] = 0,
    ) -> list[dict[str, Any]]:
        page = memory.list_threads(resource_for(resource_id), limit=limit, offset=offset)
        return [t.to_dict() for t in page]

    @tool(True, description="The observation log of a thread, or of a user across threads.")
    def observations_show(resource_id: ResourceArg = None, thread_id: ThreadArg = None) -> dict[str, Any]:
        record = memory.get_observations(resource_id=resource_for(resource_id), thread_id=thread_id)
        return {} if record is None else dict(record.__dict__)

    @tool(
        True,
        description=(
            "Open the raw messages behind the observation log: an observation generation's sources "
            "(with thread_id: that thread's log; without: the user's), a thread's messages, or a search; "
            "a page at a time, pass next_cursor for the next page."
        ),
    )
    def recall_messages(
        resource_id: ResourceArg = None,
        thread_id: ThreadArg = None,
        generation: Annotated[int | None, Field(ge=1, description="An observation generation.")] = None,
        query: Annotated[
            str | None, Field(min_length=1, description="Words or a question to search for.")
        ] = None,
        cursor: Annotated[str | None, Field(description="next_cursor from the previous answer.")] = None,
    ) -> dict[str, Any]:
        return memory.open_messages(
            generation=generation,
            thread_id=thread_id,
            query=query,
            cursor=cursor,
            resource_id=resource_for(resource_id),
        )

    MemoryId = Annotated[str, Field(min_length=1, description="A memory id from search_memories.")]

    @tool(False, description="Remember a durable fact about the user (facts memory); returns it with its id.")
    def add_memory(
        text: Annotated[str, Field(min_length=1, description="The fact, as a short sentence.")],
        resource_id: ResourceArg = None,
        category: Annotated[str | None, Field(description="A short category: home, work, food, ...")] = None,
        valid_from: Annotated[str | None, Field(description="ISO date since when it is true.")] = None,
    ) -> dict[str, Any]:
        v = memory.add_memory(
            text, resource_id=resource_for(resource_id), category=category, valid_from=valid_from, actor="mcp"
        )
        return v.to_dict()

    @tool(True, description="Facts remembered about the user that are relevant to a query, best first.")
    def search_memories(
        query: Annotated[str, Field(min_length=1, description="What to look for.")],
        resource_id: ResourceArg = None,
        top_k: Annotated[int, Field(ge=1, le=1000, description="How many memories to return.")] = 10,
        as_of: Annotated[
            str | None, Field(description="What was true then: ISO date or age like 30d.")
        ] = None,
    ) -> list[dict[str, Any]]:
        found = memory.search_memories(query, resource_id=resource_for(resource_id), top_k=top_k, as_of=as_of)
        return [{**v.to_dict(), "score": round(score, 4)} for v, score in found]

    @tool(False, description="Change a remembered fact: a new version, the old one kept in its history.")
    def update_memory(
        memory_id: MemoryId,
        text: Annotated[str, Field(min_length=1, description="The new text of the fact.")],
        resource_id: ResourceArg = None,
    ) -> dict[str, Any]:
        return memory.update_memory(
            memory_id, text, resource_id=resource_for(resource_id), actor="mcp"
        ).to_dict()

    @tool(False, description="End a remembered fact that is no longer true (its history is kept).")
    def delete_memory(memory_id: MemoryId, resource_id: ResourceArg = None) -> str:
        memory.delete_memory(memory_id, resource_id=resource_for(resource_id), actor="mcp")
        return "ok"

    @tool(True, description="Every version of a remembered fact, oldest first, with sources and dates.")
    def memory_history(memory_id: MemoryId, resource_id: ResourceArg = None) -> list[dict[str, Any]]:
        return [v.to_dict() for v in memory.memory_history(memory_id, resource_id=resource_for(resource_id))]

    @server.resource("memcli://threads", mime_type="application/json", description="Threads, newest first")
    def all_threads() -> str:
        page = memory.list_threads(resource_for(None), limit=1000)
        return json.dumps([t.to_dict() for t in page], ensure_ascii=False)

    @server.resource("memcli://threads/{thread_id}", mime_type="application/json", description="A thread")
    def one_thread(thread_id: str) -> str:
        from mcp.server.mcpserver.exceptions import ResourceError

        try:
            thread = memory.get_thread(thread_id, resource_for(None))
            messages = memory.list_messages(thread_id, resource_for(None), last=100)
        except MemcliError as exc:
            raise ResourceError(str(exc)) from None
        return json.dumps(
            {"thread": thread.to_dict(), "messages": [m.to_dict() for m in messages]}, ensure_ascii=False
        )

    _strict_arguments(server)
    return server


def serve(memory: Memory) -> None:
    import anyio

    from memcli.mcp_transport import run_stdio

    anyio.run(run_stdio, build_server(memory))
