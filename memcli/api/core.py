"""What every operation module of `Memory` shares, declared once.

`Memory` is composed of one mixin per concept (memcli/api/*.py). Each mixin
uses the same few things — the store, the resolved settings, the write
pipeline, owner resolution, thread lookup — which `Memory` provides. They are
declared here so that a reader (and mypy) sees them in one place; the bodies
below are never run, `Memory`'s own definitions come first in its MRO.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from memcli.ingest import Ingest
    from memcli.recall import Recaller, RecallResult
    from memcli.records import Message, Thread
    from memcli.settings import Settings
    from memcli.store.interface import StoreBackend


class MemoryCore:
    store: StoreBackend  # the SQLite Store or a PgStore (store/interface.py)
    settings: Settings
    ingest: Ingest
    path: Path | str
    _notice: Callable[[str], None] | None

    @property
    def _recall_engine(self) -> Recaller:
        raise NotImplementedError

    def embedder(self, notice: Callable[[str], None] | None = None) -> Any:
        raise NotImplementedError

    def _chat_model(self, kind: str = "chat", model: str | None = None) -> Any:
        raise NotImplementedError

    def _embedding_spec(self) -> Any:
        raise NotImplementedError

    def _embed_texts(self, texts: list[str]) -> tuple[str, list[bytes]] | None:
        raise NotImplementedError

    def _owner(self, resource_id: str | None) -> str:
        raise NotImplementedError

    def _checked_owner(self, resource_id: str | None) -> str | None:
        raise NotImplementedError

    def _pinned_check(self, resource_id: str | None) -> None:
        raise NotImplementedError

    def _shows(self, resource_id: str) -> bool:
        raise NotImplementedError

    def _covered(self, resource_id: str | None, all_resources: bool = False) -> str | None:
        raise NotImplementedError

    def get_thread(self, thread_id: str, resource_id: str | None = None, *, counts: bool = True) -> Thread:
        raise NotImplementedError

    def thread_owner(self, thread_id: str) -> str | None:
        raise NotImplementedError

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
        raise NotImplementedError

    # operations of one mixin that another calls
    def latest_thread(self, resource_id: str | None = None) -> Thread | None:
        raise NotImplementedError

    def thread_totals(self, thread_id: str, resource_id: str | None = None) -> tuple[int, int]:
        raise NotImplementedError

    def export_messages(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def export_archive(self, *args: Any, **kwargs: Any) -> dict:
        raise NotImplementedError

    def import_archive(self, *args: Any, **kwargs: Any) -> dict:
        raise NotImplementedError

    def _write_memory_versions(self, rows: list[dict], *, embed: bool = True) -> int:
        raise NotImplementedError


class ChatMemory(Protocol):
    """What a chat turn needs of `Memory` (memcli.chat depends on this, not on Memory)."""

    def working_memory_schema(self) -> dict | None: ...

    def get_working_memory(
        self, *, resource_id: str | None = None, thread_id: str | None = None
    ) -> str | None: ...

    def update_working_memory(self, content: Any, **where: Any) -> str: ...

    def thread_owner(self, thread_id: str) -> str | None: ...

    def get_observations(self, **scope: Any) -> Any: ...

    def observation_history(self, **scope: Any) -> list: ...

    def open_messages(self, **where: Any) -> dict: ...

    def observation_status(self, **scope: Any) -> dict: ...

    def activate_observations(self, **scope: Any) -> int: ...

    def observe_in_background(self, **scope: Any) -> Any: ...

    def list_messages(
        self, thread_id: str, resource_id: str | None = None, **window: Any
    ) -> list[Message]: ...

    def latest_thread(self, resource_id: str | None = None) -> Thread | None: ...

    def recall(self, query: str, **options: Any) -> RecallResult: ...

    def search_memories(self, query: str, **options: Any) -> list[tuple[Any, float]]: ...

    def save_messages(self, messages: Any, *, embed: bool | str = True) -> Any: ...

    def create_thread(
        self, thread_id: str | None = None, resource_id: str | None = None, **rest: Any
    ) -> Thread: ...

    def rename_thread(self, thread_id: str, title: str, resource_id: str | None = None) -> Thread: ...

    def observe(self, **options: Any) -> Any: ...

    def reflect(self, **options: Any) -> Any: ...

    def extract_memories(self, **options: Any) -> Any: ...
