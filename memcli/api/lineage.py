"""Thread cloning and lineage through `Memory`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memcli.api.core import MemoryCore
from memcli.records import Thread
from memcli.timefmt import optional_bound

if TYPE_CHECKING:
    from memcli.clone import CloneResult


class LineageAPI(MemoryCore):
    def clone_thread(
        self,
        source_thread_id: str,
        *,
        new_thread_id: str | None = None,
        resource_id: str | None = None,
        source_resource_id: str | None = None,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        last: int | None = None,
        since: str | None = None,
        until: str | None = None,
        message_ids: list[str] | None = None,
    ) -> CloneResult:
        """Branch a thread: copies of the selected messages, their vectors and the
        thread's own memory and observations, with lineage. All or nothing."""
        from memcli import clone

        since, until = optional_bound(since), optional_bound(until)
        with self.store.transaction():
            # the source is checked against --from-resource, else the clone's owner: reading
            # another resource's thread into one's own must be asked for by name
            source = self.get_thread(
                source_thread_id, source_resource_id if source_resource_id is not None else resource_id
            )
            everything = self.store.messages.window(source_thread_id)
            chosen = clone.select(everything, last=last, since=since, until=until, message_ids=message_ids)
            return clone.clone_thread(
                self.store,
                source,
                new_id=new_thread_id,
                resource_id=resource_id or source.resource_id,
                title=title,
                metadata=metadata,
                selected=chosen,
            )

    def is_clone(self, thread_id: str) -> bool:
        return self.get_thread(thread_id, counts=False).cloned_from is not None

    def get_source_thread(self, thread_id: str) -> Thread | None:
        """The thread this one was cloned from (None if not a clone or the source is gone)."""
        source = self.get_thread(thread_id, counts=False).cloned_from
        found = self.store.threads.get(source, with_counts=True) if source else None
        return found if found is not None and self._shows(found.resource_id) else None

    def list_clones(self, thread_id: str) -> list[Thread]:
        self.get_thread(thread_id, counts=False)
        clones = self.store.threads.list(cloned_from=thread_id, descending=False, limit=1_000_000)[0]
        return [t for t in clones if self._shows(t.resource_id)]

    def get_clone_history(self, thread_id: str) -> list[dict]:
        """Root to this thread: [{"id", "thread" (None if deleted)}, ...]."""
        self.get_thread(thread_id, counts=False)
        chain, seen = [], set()
        current: str | None = thread_id
        while current is not None and current not in seen:
            seen.add(current)
            thread = self.store.threads.get(current, with_counts=True)
            if thread is not None and not self._shows(thread.resource_id):
                break  # another resource's, to a Memory pinned to one: not shown, not named
            chain.append({"id": current, "thread": thread})
            current = thread.cloned_from if thread else None
        return list(reversed(chain))
