"""Rendering: rich tables on a terminal, tab-separated lines in a pipe, JSON on request.

Data goes to stdout, notices and progress to stderr (so pipes stay clean).
NO_COLOR is honoured by rich itself.
"""

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from typing import Any

from memcli.cli import environment


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def err_console():
    return environment.current.console("stderr")


def out_console():
    return environment.current.console("stdout")


def notice(text: str) -> None:
    """A line for the human on stderr (suppressed by --quiet)."""
    if not environment.current.quiet:
        print(f"memcli: {text}", file=sys.stderr)


def warn(text: str) -> None:
    print(f"memcli: warning: {text}", file=sys.stderr)


def write_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def write_nl(values: Iterable[Any]) -> None:
    for value in values:
        sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")


def one_line(text: Any) -> str:
    """A value fit for one TSV cell."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = json.dumps(text, ensure_ascii=False)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def table(
    rows: Sequence[dict],
    columns: Sequence[tuple[str, str]],
    *,
    title: str | None = None,
    fmt: Callable[[str, Any], str] | None = None,
) -> None:
    """Rows as a rich table on a terminal, else as tab-separated lines (no header)."""
    fmt = fmt or (lambda key, value: "" if value is None else str(value))
    if stdout_is_tty():
        from rich.table import Table

        t = Table(title=title, show_lines=False, header_style="bold")
        for _key, label in columns:
            t.add_column(label, overflow="fold")
        for row in rows:
            t.add_row(*(fmt(key, row.get(key)) for key, _ in columns))
        out_console().print(t)
    else:
        for row in rows:
            sys.stdout.write("\t".join(one_line(row.get(key)) for key, _ in columns) + "\n")


def render(rows: list[dict], columns, *, as_json: bool, as_nl: bool, title=None, fmt=None) -> None:
    if as_json and as_nl:
        from memcli.errors import UsageError

        raise UsageError("use --json or --nl, not both")
    if as_json:
        write_json(rows)
    elif as_nl:
        write_nl(rows)
    else:
        table(rows, columns, title=title, fmt=fmt)


@contextmanager
def pager(*, enabled: bool = True):
    """Page long output on a terminal, as git log does; plain writes otherwise."""
    if not (enabled and stdout_is_tty() and os.environ.get("MEMCLI_PAGER", "1") != "0"):
        yield
        return
    os.environ.setdefault("LESS", "FRX")  # quit if one screen, keep colours, no clear
    with out_console().pager(styles=True):
        yield


@contextmanager
def progress(description: str, *, enabled: bool = True):
    """Yields a callback(done, total). A bar on a terminal's stderr, silent otherwise."""
    if not enabled or environment.current.quiet or not sys.stderr.isatty() or os.environ.get("CI"):
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console(),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update
