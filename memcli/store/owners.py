"""Who owns a row: the one check every write of an owned row goes through.

Threads and memories record their resource; a message belongs to its thread's
resource; working memory and observation logs belong to their scope (a
resource, or a thread and so its resource). Each store write that attaches a
row to something owned (an observation to a thread, a memory version to its
source messages, a history row to a scope) calls `require` inside its own
transaction, so no path above the store (import, restore, clone, MCP, a face
yet to come) can attach one resource's row to another's data.
"""

from collections.abc import Iterable

from memcli.errors import OwnershipError


def scope_owner(conn, scope: str, scope_id: str) -> str | None:
    """The resource a scope belongs to (None: no such thread)."""
    if scope == "resource":
        return scope_id
    if scope == "thread":
        row = conn.execute("SELECT resource_id FROM threads WHERE id = ?", [scope_id]).fetchone()
        return row[0] if row else None
    raise ValueError(f"unknown scope {scope!r}")


def require(
    conn,
    resource_id: str,
    *,
    scopes: Iterable[tuple[str, str]] = (),
    messages: Iterable[str] = (),
    memories: Iterable[str] = (),
) -> None:
    """Raise OwnershipError unless resource_id owns every scope, message and memory named
    (a thread scope that does not exist yet is refused too: nothing attaches to it)."""
    for scope, scope_id in scopes:
        if scope_owner(conn, scope, scope_id) != resource_id:
            raise OwnershipError(scope_id, None, resource_id, kind=scope)
    ids = list(dict.fromkeys(messages))
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        marks = ", ".join("?" * len(part))
        rows = conn.execute(f"SELECT id, resource_id FROM messages WHERE id IN ({marks})", part).fetchall()
        found = {r[0]: r[1] for r in rows}
        for mid in part:
            if found.get(mid) != resource_id:
                raise OwnershipError(mid, None, resource_id, kind="message")
    for memory_id in dict.fromkeys(memories):
        row = conn.execute("SELECT resource_id FROM memories WHERE id = ?", [memory_id]).fetchone()
        if row is not None and row[0] != resource_id:
            raise OwnershipError(memory_id, None, resource_id, kind="memory")
