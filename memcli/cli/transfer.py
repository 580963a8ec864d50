"""memcli import, memcli export"""

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer

from memcli.cli import output
from memcli.cli.common import ResourceOpt, default_resource, open_memory
from memcli.errors import InputError, UsageError


def _open_source(path: str):
    """A seekable binary stream: the file itself, or stdin spooled to a temp file
    (import validates every line before writing anything, so it reads twice)."""
    if path == "-":
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - returned to the caller's with
        shutil.copyfileobj(sys.stdin.buffer, spool)
        spool.seek(0)
        return spool
    file = Path(path)
    if not file.is_file():
        raise InputError(f"no such file: {path}")
    return file.open("rb")


def _convert(source: str, source_format: str, resource_id: str):
    """Another tool's export as a temporary JSONL stream, plus thread titles."""
    from memcli.io.importers import READERS

    path = Path(source)
    if not path.is_file():
        raise InputError(f"no such file: {source}")
    lines, titles = READERS[source_format](path, resource_id)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - returned to the caller's with
    for line in lines:
        spool.write((json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8"))
    spool.seek(0)
    return spool, {k: v for k, v in titles.items() if v}


def import_(
    source: Annotated[str, typer.Argument(help="JSONL file, or - for stdin.")],
    thread: Annotated[
        str | None, typer.Option("--thread", "-t", help="Thread for lines without thread_id.")
    ] = None,
    resource: ResourceOpt = None,
    no_embed: Annotated[
        bool, typer.Option("--no-embed", help="Skip vectors (run `memcli embed` later).")
    ] = False,
    source_format: Annotated[
        str,
        typer.Option("--from", help="jsonl, chatgpt, claude, llm (logs.db) or markdown (memcli's export)."),
    ] = "jsonl",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
) -> None:
    """Import messages from JSONL (one message per line; see README for the format).

    Ids are kept, so importing the same file twice changes nothing. Every line
    is checked first: a bad line is reported with its number and nothing is written.
    """
    from memcli.io.importers import FORMATS

    if source_format not in FORMATS:
        raise UsageError(f"--from takes one of {', '.join(FORMATS)}")
    start = time.perf_counter()
    titles: dict[str, str] = {}
    if source_format == "jsonl":
        source_stream = _open_source(source)
    else:
        source_stream, titles = _convert(source, source_format, default_resource(resource) or "default")
    with open_memory() as mem, source_stream as stream:
        with output.progress("importing") as bar:
            summary = mem.import_jsonl(
                stream,
                thread_id=thread,
                resource_id=default_resource(resource),
                embed=not no_embed,
                progress=bar,
            )
        mem.set_missing_titles(titles)
    seconds = time.perf_counter() - start
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
    thread: Annotated[str | None, typer.Option("--thread", "-t", help="Only this thread.")] = None,
    resource: ResourceOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl or markdown.")] = "jsonl",
    out: Annotated[str, typer.Option("--output", "-o", help="File to write (default stdout).")] = "-",
) -> None:
    """Export messages as JSONL (re-importable as is) or Markdown."""
    from memcli.io import jsonl, markdown

    if fmt not in ("jsonl", "markdown"):
        raise UsageError("--format takes jsonl or markdown")
    with open_memory() as mem:
        messages = mem.export_messages(thread_id=thread, resource_id=default_resource(resource))
        target = sys.stdout if out == "-" else open(out, "w", encoding="utf-8")  # noqa: SIM115
        try:
            if fmt == "jsonl":
                for m in messages:
                    target.write(jsonl.dumps(m) + "\n")
            else:
                threads = {t.id: t for t in mem.list_threads(default_resource(resource), limit=1_000_000)[0]}
                for chunk in markdown.export(threads, messages):
                    target.write(chunk)
        finally:
            if target is not sys.stdout:
                target.close()
