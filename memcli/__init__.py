"""memcli: local-first memory for AI conversations, in one SQLite file."""

__version__ = "0.1.0"

from memcli.memory import Memory  # noqa: E402

__all__ = ["Memory", "__version__"]
