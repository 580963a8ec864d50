"""The store interface: what `Memory` and the engines may use of a backend.

Both backends implement it — the SQLite `Store` (sqlite_store.py) and
`pg.PgStore` — and mypy checks that they do (`_conforms` below). A third
backend is a package implementing `StoreBackend` plus one line in
`memcli.database.BACKENDS`. The tables (threads, messages, vectors, keyword,
observations, working_memory, memories) keep their SQL portable; a backend
subclasses one only where its dialect differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from memcli.store.keyword import KeywordIndex
    from memcli.store.memories import MemoryTable
    from memcli.store.messages import MessageTable
    from memcli.store.observations import ObservationTable
    from memcli.store.threads import ThreadTable
    from memcli.store.vectors import VectorIndex
    from memcli.store.working_memory import WorkingMemoryTable


class StoreBackend(Protocol):
    backend: str  # "sqlite", "postgresql"
    path: Path | str  # as shown to people (a URL without its password)
    nul_refused: str | None  # why text with NUL cannot be stored, where it cannot
    keyword_indexed_chars: int | None  # keyword search covers a message's first N characters (None: all)
    threads: ThreadTable
    messages: MessageTable
    vectors: VectorIndex
    keyword: KeywordIndex
    observations: ObservationTable
    working_memory: WorkingMemoryTable
    memories: MemoryTable

    @property
    def conn(self) -> Any:
        """This thread's connection (or, outside a transaction on PostgreSQL, a statement runner)."""
        ...

    def bulk_load(self, stage: Any = None) -> AbstractContextManager[None]:
        """Around a load of many rows (a copy): indexes built once afterwards where that is faster."""
        ...

    def transaction(self, resources: Iterable[str] | None = None) -> AbstractContextManager[None]:
        """One write transaction; a nested call joins the outer one. Naming every resource
        the transaction writes lets writers of other resources run beside it (PostgreSQL)."""
        ...

    def get_setting(self, key: str) -> str | None: ...

    def set_setting(self, key: str, value: str) -> None: ...

    def delete_setting(self, key: str) -> None: ...

    def stats(self) -> dict: ...

    def size(self) -> int: ...

    def health(self) -> list[tuple[str, bool, str]]: ...

    def integrity_check(self) -> str: ...

    def optimize(self) -> None: ...

    def vacuum(self) -> None: ...

    def backup(self, target: Path) -> None: ...

    def after_copy(self) -> None: ...

    def close(self) -> None: ...


def _conforms() -> None:  # pragma: no cover - read by mypy, never run
    from memcli.store.pg import PgStore
    from memcli.store.sqlite_store import Store

    backends: list[StoreBackend] = [Store(":memory:"), PgStore("postgresql://")]
    del backends
