"""The store: every SQL statement memcli runs lives under this package.

`Store` (sqlite_store.py) is the narrow interface the rest of memcli uses
(threads, messages, vectors, keyword search, observations, settings) on a
SQLite file; `pg.PgStore` is the same interface on PostgreSQL. `open_store`
picks one through the registry in `memcli.database`; nothing above this
package knows which.
"""

import importlib
from typing import TYPE_CHECKING

from memcli.store.sqlite_store import Store

if TYPE_CHECKING:
    from memcli.store.interface import StoreBackend

__all__ = ["Store", "open_store"]


def open_store(setting, notice=None, read: str | None = None) -> "StoreBackend":
    """The store for a database setting (a file path, a URL, or a database.Target);
    read: a replica of it that serves reads (PostgreSQL only)."""
    from memcli import database
    from memcli.errors import UsageError

    target = database.target(setting)
    module, _, name = target.store_class.partition(":")
    store_class = getattr(importlib.import_module(module), name)
    if not read:
        return store_class(target.location, notice)
    replica = database.target(read)
    if not (target.is_url and replica.scheme == target.scheme):
        raise UsageError(
            f"MEMCLI_DB_READ ({replica}) must be a replica of the PostgreSQL database memcli uses, not of {target}"
        )
    return store_class(target.location, notice, read_url=replica.location)
