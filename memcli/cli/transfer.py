"""memcli import, memcli export"""

import os
import sys
import time
from typing import Annotated

import typer

from memcli.cli import output
from memcli.cli.common import AllResourcesOpt, ResourceOpt, choices, complete_threads, open_memory
from memcli.errors import UsageError


def import_(
    source: Annotated[str, typer.Argument(help="JSONL file, or - for stdin.")],
    thread: Annotated[
        str | None,
        typer.Option(
            "--thread", "-t", autocompletion=complete_threads, help="Thread for lines without thread_id."
        ),
    ] = None,
    resource: ResourceOpt = None,
    no_embed: Annotated[
        bool, typer.Option("--no-embed", help="Skip vectors (run `memcli embed` later).")
    ] = False,
    source_format: Annotated[
        str,
        typer.Option(
            "--from",
            autocompletion=choices("jsonl", "archive", "chatgpt", "claude", "llm", "markdown"),
            help="jsonl, archive (memcli's, lossless), chatgpt, claude, llm (logs.db) or markdown.",
        ),
    ] = "jsonl",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
) -> None:
    """Import messages from JSONL (one message per line; see README for the format).

    Ids are kept, so importing the same file twice changes nothing. Every line
    is checked first: a bad line is reported with its number and nothing is written.
    """
    from memcli.api.transfer import IMPORT_FORMATS

    if source_format not in IMPORT_FORMATS:
        raise UsageError(f"--from takes one of {', '.join(IMPORT_FORMATS)}")
    start = time.perf_counter()
    options = dict(format=source_format, resource_id=resource, thread_id=thread, embed=not no_embed)
    with open_memory() as mem, output.progress("importing") as bar:
        if source == "-":
            summary = mem.import_stream(sys.stdin.buffer, progress=bar, **options)
        else:
            summary = mem.import_file(source, progress=bar, **options)
    seconds = time.perf_counter() - start
    if isinstance(summary, dict):  # an archive: more than messages
        summary["seconds"] = round(seconds, 2)
        if as_json:
            output.write_json(summary)
        else:
            output.notice("restored " + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in summary.items()))
        return
    for text in summary.notices:
        output.warn(text)
    result = {
        "written": summary.written,
        "unchanged": summary.unchanged,
        "embedded": summary.embedded,
        "threads_created": summary.threads_created,
        "seconds": round(seconds, 2),
    }
    if as_json:
        output.write_json(result)
    else:
        total = summary.written + summary.unchanged
        output.notice(
            f"imported {total:,} messages ({summary.written:,} new or changed, {summary.unchanged:,} "
            f"unchanged, {summary.embedded:,} embedded, {summary.threads_created:,} new threads) "
            f"in {seconds:.1f}s"
        )


def export(
    thread: Annotated[
        str | None, typer.Option("--thread", "-t", autocompletion=complete_threads, help="Only this thread.")
    ] = None,
    resource: ResourceOpt = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            autocompletion=choices("jsonl", "archive", "markdown"),
            help="jsonl (messages), archive (everything a resource owns) or markdown.",
        ),
    ] = "jsonl",
    out: Annotated[str, typer.Option("--output", "-o", help="File to write (default stdout).")] = "-",
    all_resources: AllResourcesOpt = False,
) -> None:
    """Export messages as JSONL (re-importable as is) or Markdown.

    --format archive writes everything a resource owns (threads with titles and
    metadata, empty ones too, messages, working memory and its history,
    observation logs, facts memories): `import --from archive` restores it.
    """
    if fmt not in ("jsonl", "archive", "markdown"):
        raise UsageError("--format takes jsonl, archive or markdown")
    with open_memory() as mem:
        if out == "-":
            mem.export(
                sys.stdout, format=fmt, thread_id=thread, resource_id=resource, all_resources=all_resources
            )
            return
        from memcli import database
        from memcli.errors import InputError

        if database.looks_like_url(out):
            raise UsageError("--output takes a file; to copy a memory into a database use `memcli db copy`")
        # like `db backup`: conversations are private, the file is the owner's alone
        try:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            raise InputError(f"cannot write {out}: {exc.strerror}") from None
        with os.fdopen(fd, "w", encoding="utf-8") as target:
            mem.export(
                target, format=fmt, thread_id=thread, resource_id=resource, all_resources=all_resources
            )
