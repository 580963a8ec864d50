"""memcli: local-first memory for AI conversations, in one SQLite file.

    from memcli import Memory
    with Memory() as mem:
        mem.add_message("I moved to Lisbon", thread_id="t1", resource_id="alice")
        print(mem.recall("where does alice live", resource_id="alice").hits)

See docs/api.md.
"""

__version__ = "0.1.0"

__all__ = [
    "EmbeddingUnavailable",
    "InputError",
    "MemcliError",
    "Memory",
    "NotFoundError",
    "OwnershipError",
    "Settings",
    "StoreError",
    "__version__",
]

_LAZY = {
    "Memory": "memcli.memory",
    "Settings": "memcli.settings",
    "EmbeddingUnavailable": "memcli.errors",
    "InputError": "memcli.errors",
    "MemcliError": "memcli.errors",
    "NotFoundError": "memcli.errors",
    "OwnershipError": "memcli.errors",
    "StoreError": "memcli.errors",
}


def __getattr__(name: str):
    # Lazy: `memcli --help` imports this package for __version__ and must not
    # pay for the store, recall and I/O modules behind Memory.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'memcli' has no attribute {name!r}")
