"""Memory: the public API. The CLI, the MCP server and programs call only this.

    from memcli import Memory
    mem = Memory()                      # MEMCLI_DB or the default file
    mem.add_message("I moved to Lisbon", thread_id="t1", resource_id="alice")
    mem.recall("where does alice live", resource_id="alice").hits

Nothing here prints; notices (model missing, fallbacks) come back in results.
Settings (model, thresholds, default resource) are resolved once, in
`memcli.settings.Settings`, and handed in; the engines (embedder, LLMs,
Observer, Reflector, chat) are built here and nowhere else. The operations
live in one module per concept (`memcli/api/`), mixed into this class.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memcli.api.archive import ArchiveAPI
from memcli.api.browsing import BrowsingAPI
from memcli.api.conversation import ConversationAPI
from memcli.api.lineage import LineageAPI
from memcli.api.maintenance import MaintenanceAPI
from memcli.api.memories import MemoriesAPI
from memcli.api.observations import ObservationsAPI
from memcli.api.recalling import MAX_MESSAGE_RANGE, MAX_TOP_K, RecallAPI
from memcli.api.transfer import TransferAPI
from memcli.api.working_memory import WorkingMemoryAPI
from memcli.errors import EmbeddingUnavailable, InputError, NotFoundError, OwnershipError
from memcli.ingest import Ingest, Progress, WriteSummary
from memcli.io.jsonl import message_from_obj
from memcli.records import Message, Thread
from memcli.settings import DEFAULT_RESOURCE, Settings
from memcli.timefmt import now, optional_bound

if TYPE_CHECKING:
    from memcli.recall import Recaller

__all__ = [
    "DEFAULT_RESOURCE",
    "MAX_MESSAGE_RANGE",
    "MAX_TOP_K",
    "Memory",
    "Progress",
    "ThreadPage",
    "WriteSummary",
]


def new_thread_id() -> str:
    return "t_" + uuid.uuid4().hex[:16]


@dataclass
class ThreadPage:
    threads: list[Thread]
    total: int
    limit: int
    offset: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.threads) < self.total

    def __iter__(self):  # `for thread in page`
        return iter(self.threads)

    def to_dict(self) -> dict:
        return {
            "threads": [t.to_dict() for t in self.threads],
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "has_more": self.has_more,
        }


class Memory(
    RecallAPI,
    LineageAPI,
    WorkingMemoryAPI,
    ObservationsAPI,
    MemoriesAPI,
    ConversationAPI,
    TransferAPI,
    ArchiveAPI,
    MaintenanceAPI,
    BrowsingAPI,
):
    def __init__(
        self,
        path: Path | str | None = None,
        *,
        settings: Settings | None = None,
        embedder=None,
        llm_factory: Callable[[str], Any] | None = None,
        notice: Callable[[str], None] | None = None,
    ):
        """Open (or create) the database.

        settings: resolved settings (default: environment and config file);
        path overrides settings.db. llm_factory(model) builds chat models
        (default: litellm). notice(text) hears of a slow one-time upgrade.
        """
        from memcli import paths
        from memcli.store import open_store

        self.settings = settings or Settings.resolve()
        self.path = paths.db_path(path if path is not None else self.settings.db)
        self.store = open_store(self.path, notice, read=self.settings.replica_for(self.path))
        self._embedder = embedder
        self._embedder_error: EmbeddingUnavailable | None = None
        self._recaller: Recaller | None = None
        self._llm_factory = llm_factory
        self._notice = notice
        self.ingest = Ingest(self.store, self.embedder)

    def close(self) -> None:
        self.store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- engines ----------------------------------------------------------------

    @property
    def _recall_engine(self) -> Recaller:
        """Imported on first use: light commands never need recall's module."""
        if self._recaller is None:
            from memcli.recall import Recaller

            self._recaller = Recaller(self.store)
        return self._recaller

    def embedder(self, notice: Callable[[str], None] | None = None):
        """The embedding model, loaded once; raises EmbeddingUnavailable."""
        if self._embedder is None and self._embedder_error is None:
            from memcli import embeddings

            try:
                self._embedder = embeddings.load(self._embedding_spec(), notice=notice)
            except EmbeddingUnavailable as exc:
                self._embedder_error = exc
        if self._embedder is None:
            assert self._embedder_error is not None
            raise self._embedder_error
        return self._embedder

    def _embedding_spec(self):
        from memcli import embeddings

        return embeddings.resolve(self.settings.embedding_model, self.settings.embedding_model_path)

    def _chat_model(self, kind: str = "chat", model: str | None = None):
        """The chat model for chat, observation, reflection or title; model overrides settings."""
        from memcli.llm import resolve_model

        name = resolve_model(model or self.settings.model_for(kind))
        if self._llm_factory is not None:
            return self._llm_factory(name)
        base, timeout, backoff = self.settings.api_base, self.settings.timeout, self.settings.llm_backoff
        if name.startswith("openai/") and self.settings.llm_client != "litellm":
            # every OpenAI-compatible endpoint, OpenAI's own included, without importing litellm
            from memcli.openai_compat import OpenAICompatible

            return OpenAICompatible(
                name, api_base=base, timeout=timeout, backoff=backoff, notice=self._notice
            )
        from memcli.llm import LiteLLM

        return LiteLLM(name, api_base=base, timeout=timeout, backoff=backoff, notice=self._notice)

    # ---- owners -----------------------------------------------------------------

    def _pinned_check(self, resource_id: str | None) -> None:
        """A Memory pinned to its resource (settings.pinned) refuses to act for another."""
        if self.settings.pinned and resource_id not in (None, self.settings.resource):
            raise InputError(f"this memory serves resource {self.settings.resource} only, not {resource_id}")

    def _checked_owner(self, resource_id: str | None) -> str | None:
        """The resource to check owners against: the argument, else the configured one."""
        self._pinned_check(resource_id)
        return resource_id if resource_id is not None else self.settings.resource

    def _owner(self, resource_id: str | None) -> str:
        """The resource that owns what is created: the argument, the configured one, 'default'."""
        self._pinned_check(resource_id)
        return resource_id if resource_id is not None else self.settings.owner

    def _covered(self, resource_id: str | None, all_resources: bool = False) -> str | None:
        """The resource a listing, search or export covers: the argument, else the configured
        one, else 'default'. Every resource (None) only when asked for explicitly."""
        if all_resources:
            if resource_id is not None:
                raise InputError("give a resource or all_resources, not both")
            if self.settings.pinned:
                raise InputError(f"this memory serves resource {self.settings.resource} only")
            return None
        return self._owner(resource_id)

    def resource_for(self, resource_id: str | None = None) -> str:
        """The resource an operation without one acts for: the configured one, else 'default'."""
        return self._owner(resource_id)

    def complete_ids(self, kind: str, prefix: str = "") -> list[str]:
        """Thread ('threads') or resource ('resources') ids starting with prefix, for shells."""
        return self.store.threads.ids_starting(kind, prefix)

    def thread_owner(self, thread_id: str) -> str | None:
        """The resource owning a thread, or None when there is no such thread."""
        return self.store.threads.owners([thread_id]).get(thread_id)

    # ---- threads ------------------------------------------------------------------

    def create_thread(
        self,
        thread_id: str | None = None,
        resource_id: str | None = None,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Thread:
        thread_id = thread_id or new_thread_id()
        if not str(thread_id).strip():
            raise InputError("thread id must not be empty")
        stamp = now()
        thread = Thread(
            id=thread_id,
            resource_id=self._owner(resource_id),
            title=title,
            metadata=metadata or {},
            created_at=stamp,
            updated_at=stamp,
        )
        with self.store.transaction():
            if self.store.threads.get(thread_id):
                raise InputError(f"thread {thread_id} already exists")
            self.store.threads.insert(thread)
        return thread

    def get_thread(self, thread_id: str, resource_id: str | None = None, *, counts: bool = True) -> Thread:
        """The thread (with message count unless counts=False, which skips a scan of
        its messages); checks the owner against resource_id or the configured resource."""
        thread = self.store.threads.get(thread_id, with_counts=counts)
        if thread is None:
            raise NotFoundError(f"no thread with id {thread_id}")
        asked = self._checked_owner(resource_id)
        if asked is not None and thread.resource_id != asked:
            raise OwnershipError(thread_id, thread.resource_id, asked)
        return thread

    def list_threads(
        self,
        resource_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        order_by: str = "created",
        descending: bool = True,
        limit: int = 100,
        offset: int = 0,
        cloned_from: str | None = None,
        all_resources: bool = False,
        search: str | None = None,
    ) -> ThreadPage:
        """A page of threads (newest first), of resource_id or the configured resource
        ('default' without one); of every resource only with all_resources=True.
        search matches part of a thread's id or title, case-insensitively."""
        if order_by not in ("created", "updated"):
            raise InputError(f"order_by must be created or updated, not {order_by!r}")
        if not 1 <= limit <= 1_000_000 or not 0 <= offset <= 2**62:
            raise InputError("limit must be 1 to 1000000 and offset 0 or more")
        threads, total = self.store.threads.list(
            resource_id=self._covered(resource_id, all_resources),
            metadata=metadata,
            cloned_from=cloned_from,
            order_by=order_by,
            descending=descending,
            limit=limit,
            offset=offset,
            search=search,
        )
        return ThreadPage(threads, total, limit, offset)

    def latest_thread(self, resource_id: str | None = None) -> Thread | None:
        """The resource's most recently active thread (for `--continue`)."""
        return self.store.threads.latest_for_resource(self._owner(resource_id))

    def rename_thread(self, thread_id: str, title: str, resource_id: str | None = None) -> Thread:
        self.get_thread(thread_id, resource_id, counts=False)
        with self.store.transaction():
            self.store.threads.update(thread_id, title=title)
        return self.get_thread(thread_id, resource_id)

    def delete_thread(self, thread_id: str, resource_id: str | None = None) -> int:
        """Delete a thread and everything derived from it; returns messages removed."""
        with self.store.transaction():
            self.get_thread(thread_id, resource_id, counts=False)
            return self.store.threads.delete(thread_id)

    # ---- messages -----------------------------------------------------------------

    def add_message(
        self,
        content: str,
        thread_id: str,
        resource_id: str | None = None,
        role: str = "user",
        metadata: dict[str, Any] | None = None,
        embed: bool | str = True,
        notices: list[str] | None = None,
    ) -> Message:
        """Save one message (creating the thread on first use) and return it.
        embed: True (now), "later" (by the next command that loads the model), False.
        notices, if given, hears what the write could not do in full (see WriteSummary).

        Without resource_id, an existing thread keeps its owner unless a
        resource is configured (then that one must own it)."""
        owner = self._checked_owner(resource_id)
        if owner is None:
            owner = self.thread_owner(thread_id) or DEFAULT_RESOURCE
        message = message_from_obj(
            {"content": content, "role": role, "metadata": metadata or {}},
            thread_id=thread_id,
            resource_id=owner,
        )
        summary = self.save_messages([message], embed=embed)
        if notices is not None:
            notices += summary.notices
        return message

    def save_messages(self, messages: Iterable[Message | dict], *, embed: bool | str = True) -> WriteSummary:
        """Validate and store messages in one transaction, with their vectors."""
        return self.ingest.save(messages, embed=embed)

    def list_messages(
        self,
        thread_id: str,
        resource_id: str | None = None,
        *,
        last: int | None = None,
        max_tokens: int | None = None,
        since: str | None = None,
        until: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[Message]:
        """Chronological messages: the last N, those that fit max_tokens, or a page.
        since/until take ISO dates or ages like '7d'."""
        self.get_thread(thread_id, resource_id, counts=False)
        return self.store.messages.window(
            thread_id,
            last=last,
            max_tokens=max_tokens,
            since=optional_bound(since),
            until=optional_bound(until),
            offset=offset,
            limit=limit,
        )

    def list_messages_by_id(self, ids: list[str], *, resource_id: str | None = None) -> list[Message]:
        """These messages (missing ones left out), only those the resource owns."""
        asked = self._checked_owner(resource_id)
        found = self.store.messages.by_ids(ids)
        return [found[i] for i in ids if i in found and (asked is None or found[i].resource_id == asked)]

    def thread_totals(self, thread_id: str, resource_id: str | None = None) -> tuple[int, int]:
        """(messages, tokens) stored in a thread."""
        self.get_thread(thread_id, resource_id, counts=False)
        return self.store.messages.totals(thread_id)

    def delete_messages(self, ids: list[str], resource_id: str | None = None) -> int:
        asked = self._checked_owner(resource_id)
        with self.store.transaction():
            found = self.store.messages.by_ids(ids)
            missing = [i for i in ids if i not in found]
            if missing:
                raise NotFoundError(f"no message with id {missing[0]}")
            for m in found.values():
                if asked is not None and m.resource_id != asked:
                    raise OwnershipError(m.thread_id, m.resource_id, asked)
            return self.store.messages.delete(ids)

    def export_messages(
        self, *, thread_id: str | None = None, resource_id: str | None = None, all_resources: bool = False
    ) -> Iterator[Message]:
        """A thread's messages, or a resource's (the configured one by default), or with
        all_resources=True every resource's."""
        if thread_id is not None:
            self.get_thread(thread_id, resource_id, counts=False)
            return self.store.messages.iter_all(thread_id=thread_id)
        return self.store.messages.iter_all(resource_id=self._covered(resource_id, all_resources))
