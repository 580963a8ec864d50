"""Pieces every command shares: opening Memory, option types, argument parsing."""

import json
import sys
from typing import Annotated, Any

import typer

from memcli.errors import UsageError


def choices(*values: str):
    """Shell completion of an option's fixed values."""
    return lambda incomplete: [v for v in values if v.startswith(incomplete)]


def _ids(kind: str):
    def complete(incomplete: str) -> list[str]:
        """Thread or resource ids from the database; nothing (never an error) if it cannot be read."""
        from memcli.errors import MemcliError

        try:
            with open_memory() as mem:
                return mem.complete_ids(kind, incomplete)
        except MemcliError:
            return []

    return complete


complete_threads = _ids("threads")
complete_resources = _ids("resources")

ResourceOpt = Annotated[
    str | None,
    typer.Option(
        "--resource",
        "-r",
        help="Resource (user) acted for; what a command names must be this resource's.",
        autocompletion=complete_resources,
    ),
]
AllResourcesOpt = Annotated[
    bool,
    typer.Option(
        "--all-resources",
        help="Every resource's data, not only one's (without -r: the configured resource, else 'default').",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Output JSON.")]
NlOpt = Annotated[bool, typer.Option("--nl", help="Output one JSON object per line.")]


def open_memory(**flags):
    """Memory with settings resolved from these flags (None: not given), the
    environment and the config file, in that order."""
    from memcli.cli import environment, output
    from memcli.memory import Memory
    from memcli.settings import Settings

    return Memory(settings=Settings.resolve(db=environment.current.db, **flags), notice=output.notice)


def parse_meta(pairs: list[str] | None) -> dict[str, Any]:
    """k=v pairs; a value that is valid JSON (1, true, [..]) keeps its type."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--meta takes key=value, not {pair!r}")
        try:
            out[key] = json.loads(value)
        except (ValueError, RecursionError):  # not JSON (or absurd JSON): the text itself
            out[key] = value
    return out


def prompt_with_stdin(text: str | None) -> str:
    """The prompt, with piped stdin after it (`git diff | memcli ask "Review this"`), as llm does."""
    if text is None or text == "-" or sys.stdin.isatty():
        return read_text_arg(text)
    piped = read_text_arg("-")
    return f"{text}\n\n{piped}" if piped.strip() else text


def read_text_arg(text: str | None) -> str:
    """TEXT, or stdin when TEXT is '-' or missing and stdin is piped."""
    if text is None or text == "-":
        if text is None and sys.stdin.isatty():
            raise UsageError("give the text as an argument, or pipe it in (use - for stdin)")
        data = sys.stdin.buffer.read()
        try:
            # `echo text | memcli add` should not store echo's newline
            return data.decode("utf-8").rstrip("\n")
        except UnicodeDecodeError as exc:
            from memcli.errors import InputError

            raise InputError(f"stdin is not valid UTF-8 (byte {exc.start})") from None
    return text


def check_time(value: str | None) -> str | None:
    """Callback for --since/--until/--as-of: a bad date or age is a usage error (exit 2)."""
    if value:
        from memcli.errors import InputError
        from memcli.timefmt import parse_bound

        try:
            parse_bound(value)
        except InputError as exc:
            raise typer.BadParameter(str(exc)) from None
    return value
