"""One invocation's surroundings, in one object (httpie's Environment): the global
flags and the consoles. `main()` makes a new one for every run, so nothing of one
command (a --db, --quiet, a console bound to old streams) leaks into the next —
in-process test runs included."""

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Environment:
    db: str | None = None  # --db
    debug: bool = False  # --debug
    quiet: bool = False  # -q/--quiet: no notices, no progress bars
    _consoles: dict[str, Any] = field(default_factory=dict)

    def console(self, stream: str) -> Any:
        """rich's Console on stdout or stderr, made on first use (rich costs an import)."""
        if stream not in self._consoles:
            from rich.console import Console

            self._consoles[stream] = Console(stderr=stream == "stderr", highlight=False)
        return self._consoles[stream]


current = Environment()


def begin() -> Environment:
    """A fresh environment for one run of the command line."""
    global current
    current = Environment()
    return current
