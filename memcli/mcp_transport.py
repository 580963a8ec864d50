"""The MCP server's stdio transport: the SDK's, with one gap closed.

A request whose JSON holds a lone surrogate ("\\ud800") is valid JSON but not
valid Unicode: the SDK's parser drops it without an answer, and the client
waits forever. Such a line is answered here with a JSON-RPC error for its id
(invalid params), through the same write stream as every other answer.
"""

import json
import re
import sys
from io import TextIOWrapper

INVALID_PARAMS = -32602
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]", re.ASCII)


def bad_unicode_request_id(line: str):
    """(True, the request's id) when the line is a request holding invalid Unicode, else (False, None)."""
    if not _SURROGATE_ESCAPE.search(line):
        return False, None
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return False, None  # the SDK answers malformed JSON itself
    try:
        json.dumps(message, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True, message.get("id") if isinstance(message, dict) else None
    return False, None


class _CheckedLines:
    """stdin's lines, less those answered here; `write` is set once the streams exist."""

    def __init__(self, source):
        self.source, self.write = source, None

    def __aiter__(self):
        return self._lines()

    async def _lines(self):
        from mcp.shared.message import SessionMessage
        from mcp_types import ErrorData, JSONRPCError

        async for line in self.source:
            bad, request_id = bad_unicode_request_id(line)
            if not bad:
                yield line
                continue
            if request_id is not None and self.write is not None:
                error = ErrorData(
                    code=INVALID_PARAMS, message="the request holds invalid Unicode (a lone surrogate)"
                )
                await self.write.send(SessionMessage(JSONRPCError(jsonrpc="2.0", id=request_id, error=error)))


async def run_stdio(server) -> None:
    """server (an MCPServer) on this process's stdin and stdout."""
    import anyio
    from mcp.server.stdio import stdio_server

    raw = TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    lines = _CheckedLines(anyio.wrap_file(raw))
    async with stdio_server(stdin=lines) as (read_stream, write_stream):  # type: ignore[arg-type]
        lines.write = write_stream
        low = server._lowlevel_server
        await low.run(read_stream, write_stream, low.create_initialization_options())
