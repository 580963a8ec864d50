"""memcli: local-first memory for AI conversations, in one SQLite file."""

__version__ = "0.1.0"

__all__ = ["Memory", "__version__"]


def __getattr__(name: str):
    # Lazy: `memcli --help` imports this package for __version__ and must not
    # pay for the store, recall and I/O modules behind Memory.
    if name == "Memory":
        from memcli.memory import Memory

        return Memory
    raise AttributeError(f"module 'memcli' has no attribute {name!r}")
