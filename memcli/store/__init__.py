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


def open_store(setting, notice=None) -> "StoreBackend":
    """The store for a database setting (a file path, a URL, or a database.Target)."""
    from memcli import database

    target = database.target(setting)
    module, _, name = target.store_class.partition(":")
    store_class = getattr(importlib.import_module(module), name)
    return store_class(target.location, notice)
