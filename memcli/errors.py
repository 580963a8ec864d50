"""Errors memcli raises on purpose, each tied to the exit code the CLI uses.

The library raises these; only the CLI turns them into one stderr line and an
exit status, so programs using `memcli.Memory` can catch them by type.
"""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    WRONG_OWNER = 4
    INTERRUPTED = 130


class MemcliError(Exception):
    """A failure the user can act on; the message is one line."""

    exit_code = ExitCode.ERROR


class InputError(MemcliError):
    """Bad data given to memcli (malformed import line, empty content, ...)."""


class UsageError(MemcliError):
    exit_code = ExitCode.USAGE


class NotFoundError(MemcliError):
    exit_code = ExitCode.NOT_FOUND


class OwnershipError(MemcliError):
    """A row of another resource was named. The message never names that resource
    (one user must not learn another's id); `owner` keeps it for programs."""

    exit_code = ExitCode.WRONG_OWNER

    def __init__(
        self,
        thread_id: str,
        owner: str | None,
        asked: str,
        *,
        kind: str = "thread",
        where: str = "",
        detail: str | None = None,
    ):
        prefix = f"{where}: " if where else ""
        super().__init__(
            prefix + (detail or f"{kind.lower()} {thread_id} not found or not of resource {asked}")
        )
        self.thread_id, self.owner, self.asked = thread_id, owner, asked


class StoreError(MemcliError):
    """The database cannot be used as it is (extension missing, schema too new)."""


class EmbeddingUnavailable(MemcliError):
    """No embedding model can be loaded; keyword recall still works."""
