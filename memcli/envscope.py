"""Environment variables some libraries read only from the environment (tiktoken's
cache folder, litellm's offline cost map), set just while they read them.

memcli never leaves the process environment changed: a program that embeds
`memcli.Memory` finds os.environ as it was, and a variable the user set wins.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def scoped_env(**defaults: str) -> Iterator[None]:
    """Set these variables (those the user has not set) for the block, then remove them."""
    added = [name for name in defaults if name not in os.environ]
    for name in added:
        os.environ[name] = defaults[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)
