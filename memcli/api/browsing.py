"""What a browsing face (the web viewer, shell completion) needs: resources, owners.

A Memory pinned to one resource (settings.pinned) shows only that resource:
another's ids are answered as if they did not exist, here, once, so no face
can forget it.
"""

from __future__ import annotations

from memcli.api.core import MemoryCore
from memcli.errors import InputError

OWNED_KINDS = ("resource", "thread", "message", "memory")


class BrowsingAPI(MemoryCore):
    def list_resources(self, *, search: str | None = None, limit: int = 50, offset: int = 0) -> dict:
        """A page of resources with their thread counts: {resources, total, limit, offset, has_more}.
        search matches part of the id; a pinned Memory lists only its own resource."""
        if not 1 <= limit <= 10_000 or not 0 <= offset <= 2**62:
            raise InputError("limit must be 1 to 10000 and offset 0 or more")
        only = self.settings.resource if self.settings.pinned else None
        rows, total = self.store.threads.resources(search=search, only=only, limit=limit, offset=offset)
        return {
            "resources": rows,
            "total": total,
            "limit": limit,
            "offset": offset,
            "has_more": offset + len(rows) < total,
        }

    def owner_of(self, kind: str, item_id: str) -> str | None:
        """The resource owning a thread, message or memory (or the resource itself); None when
        there is none (or, for a pinned Memory, when another resource owns it)."""
        if kind not in OWNED_KINDS:
            raise InputError(f"kind must be one of {', '.join(OWNED_KINDS)}, not {kind!r}")
        if kind == "resource":
            owner = item_id if self.store.threads.resource_exists(item_id) else None
        elif kind == "thread":
            owner = self.store.threads.owners([item_id]).get(item_id)
        elif kind == "message":
            found = self.store.messages.by_ids([item_id]).get(item_id)
            owner = found.resource_id if found else None
        else:
            owner = self.store.memories.owner(item_id)
        return owner if owner is not None and self._shows(owner) else None

    def _shows(self, resource_id: str) -> bool:
        """Whether this Memory may show the resource's rows (a pinned one only its own)."""
        return not self.settings.pinned or resource_id == self.settings.resource
