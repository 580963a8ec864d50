"""Plain records passed between the store, the Memory API and the CLI."""

from dataclasses import dataclass, field
from typing import Any

from memcli.timefmt import to_public

ROLES = ("system", "user", "assistant", "tool")


@dataclass
class Thread:
    id: str
    resource_id: str
    title: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    cloned_from: str | None = None
    created_at: str = ""
    updated_at: str = ""
    message_count: int | None = None
    last_message_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "resource_id": self.resource_id,
            "title": self.title,
            "metadata": self.metadata,
            "cloned_from": self.cloned_from,
            "created_at": to_public(self.created_at),
            "updated_at": to_public(self.updated_at),
        }
        if self.message_count is not None:
            out["message_count"] = self.message_count
            out["last_message_at"] = to_public(self.last_message_at or "") or None
        return out


@dataclass
class Message:
    id: str
    thread_id: str
    resource_id: str
    role: str
    content: str
    created_at: str
    metadata: dict[str, Any] = field(default_factory=dict)
    token_count: int = 0
    rowid: int | None = None
    # no created_at was given: a message already stored under this id keeps its time
    keep_stored_time: bool = field(default=False, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The import/export line format of docs/design.md, field for field."""
        return {
            "id": self.id,
            "resource_id": self.resource_id,
            "thread_id": self.thread_id,
            "role": self.role,
            "content": self.content,
            "created_at": to_public(self.created_at),
            "metadata": self.metadata,
        }


@dataclass
class Filters:
    """Which messages a search may return. None means no constraint."""

    resource_id: str | None = None
    thread_id: str | None = None
    since: str | None = None
    until: str | None = None
    roles: tuple[str, ...] | None = None

    def narrower_than_resource(self) -> bool:
        return any([self.thread_id, self.since, self.until, self.roles])

    def accepts(self, message: "Message") -> bool:
        """The same test as the SQL filter, for messages reached another way."""
        return (
            (self.resource_id is None or message.resource_id == self.resource_id)
            and (self.thread_id is None or message.thread_id == self.thread_id)
            and (not self.since or message.created_at >= self.since)
            and (not self.until or message.created_at <= self.until)
            and (not self.roles or message.role in self.roles)
        )
