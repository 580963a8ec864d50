"""Thread cloning: branch a conversation with its vectors, observations and lineage.

A clone is made in one transaction: copies of the selected messages (new
ids, same content, roles, timestamps, metadata and token counts), their
vectors copied rather than recomputed (no model needed), the thread's own
working memory and observation generations (cursors remapped), and its
lineage in `threads.cloned_from` plus a `clone` entry in the thread's
metadata. Nothing of the source resource's own memory travels: a clone for
another resource must not hand it the first one's profile or log.
"""

import uuid
from dataclasses import dataclass, field

from memcli.errors import InputError
from memcli.records import Message, Thread
from memcli.timefmt import now


@dataclass
class CloneResult:
    thread: Thread
    id_map: dict[str, str] = field(default_factory=dict)  # source message id -> clone's

    @property
    def cloned(self) -> int:
        return len(self.id_map)

    def to_dict(self) -> dict:
        return {"thread": self.thread.to_dict(), "cloned": self.cloned, "id_map": self.id_map}


def select(
    messages: list[Message],
    *,
    last: int | None = None,
    since: str | None = None,
    until: str | None = None,
    message_ids: list[str] | None = None,
) -> list[Message]:
    """The messages a clone takes, in time order: by ids, by dates, then the last N."""
    if message_ids is not None:
        wanted = set(message_ids)
        missing = wanted - {m.id for m in messages}
        if missing:
            raise InputError(f"message {sorted(missing)[0]} is not in the source thread")
        messages = [m for m in messages if m.id in wanted]
    if since:
        messages = [m for m in messages if m.created_at >= since]
    if until:
        messages = [m for m in messages if m.created_at <= until]
    if last is not None:
        messages = messages[-last:] if last > 0 else []
    return messages


def clone_thread(
    store,
    source: Thread,
    *,
    new_id: str | None,
    resource_id: str,
    title: str | None,
    metadata: dict | None,
    selected: list[Message],
) -> CloneResult:
    """Write the clone; the caller holds the transaction."""
    new_id = new_id or "t_" + uuid.uuid4().hex[:16]
    if store.threads.get(new_id):
        raise InputError(f"thread {new_id} already exists")
    stamp = now()
    lineage = {
        "source_thread_id": source.id,
        "cloned_at": stamp,
        "last_message_id": selected[-1].id if selected else None,
    }
    thread = Thread(
        id=new_id,
        resource_id=resource_id,
        title=title if title is not None else (f"{source.title} (clone)" if source.title else None),
        metadata={**source.metadata, **(metadata or {}), "clone": lineage},
        cloned_from=source.id,
        created_at=stamp,
        updated_at=max([stamp] + [m.created_at for m in selected]),
    )
    store.threads.insert(thread)
    copies = [
        Message(
            id="m_" + uuid.uuid4().hex[:20],
            thread_id=new_id,
            resource_id=resource_id,
            role=m.role,
            content=m.content,
            created_at=m.created_at,
            metadata=m.metadata,
            token_count=m.token_count,
        )
        for m in selected
    ]
    store.messages.insert_new(copies)
    rowid_map = {old.rowid: new.rowid for old, new in zip(selected, copies)}
    store.vectors.copy(rowid_map, resource_id)
    store.observations.copy_thread(source.id, new_id, rowid_map, owner=resource_id)
    thread_memory = store.working_memory.get("thread", source.id)
    if thread_memory is not None:
        store.working_memory.set(
            "thread", new_id, thread_memory, source=f"clone of {source.id}", owner=resource_id
        )
    return CloneResult(thread, {old.id: new.id for old, new in zip(selected, copies)})
