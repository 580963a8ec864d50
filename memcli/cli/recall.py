"""memcli recall"""

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from memcli.cli import output
from memcli.cli.common import (
    AllResourcesOpt,
    ResourceOpt,
    check_time,
    choices,
    complete_threads,
    open_memory,
    read_text_arg,
)
from memcli.errors import InputError, UsageError
from memcli.io import safejson
from memcli.recall import MODES
from memcli.records import ROLES
from memcli.timefmt import to_public

FORMATS = ("table", "json", "nl", "context")


def _read_batch(source: str) -> list[dict]:
    stream = sys.stdin.buffer if source == "-" else None
    if stream is None:
        if not Path(source).is_file():
            raise InputError(f"no such file: {source}")
        stream = open(source, "rb")  # noqa: SIM115
    queries = []
    with stream:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            obj = safejson.loads(raw, f"batch line {number}")
            if not isinstance(obj, dict) or not isinstance(obj.get("query"), str) or not obj["query"].strip():
                raise InputError(f'batch line {number}: needs a non-empty "query" string')
            for key in ("resource_id", "thread_id"):
                if not isinstance(obj.get(key), str | None):
                    raise InputError(f"batch line {number}: {key} must be a string")
            top_k = obj.get("top_k")
            if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
                raise InputError(f"batch line {number}: top_k must be a positive integer")
            queries.append(obj)
    return queries


def recall(
    query: Annotated[
        str | None, typer.Argument(help="What to look for; - reads it from stdin (omit with --batch).")
    ] = None,
    resource: ResourceOpt = None,
    thread: Annotated[
        str | None,
        typer.Option("--thread", "-t", autocompletion=complete_threads, help="The current thread."),
    ] = None,
    scope: Annotated[
        str,
        typer.Option(
            "--scope",
            autocompletion=choices("resource", "thread"),
            help="resource: all the resource's threads; thread: only --thread.",
        ),
    ] = "resource",
    top_k: Annotated[
        int | None, typer.Option("--top-k", "-k", min=1, help="Best hits to return [config recall.top_k: 4].")
    ] = None,
    message_range: Annotated[
        int | None,
        typer.Option(
            "--message-range",
            min=0,
            help="Neighbours before/after each hit [config recall.message_range: 1].",
        ),
    ] = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", min=0.0, max=1.0, help="Minimum score (0-1).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", callback=check_time, help="ISO date/time or age like 30d.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", callback=check_time, help="ISO date/time or age like 30d.")
    ] = None,
    role: Annotated[list[str] | None, typer.Option("--role", help="Only these roles (repeatable).")] = None,
    mode: Annotated[
        str,
        typer.Option(
            "--mode", autocompletion=choices("hybrid", "vector", "keyword"), help="hybrid, vector or keyword."
        ),
    ] = "hybrid",
    half_life: Annotated[
        str | None, typer.Option("--half-life", help="Weigh older messages less, e.g. 30d.")
    ] = None,
    batch: Annotated[
        str | None, typer.Option("--batch", help="JSONL queries from FILE or - ; one result line each.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON array of hits.")] = False,
    as_nl: Annotated[bool, typer.Option("--nl", help="One JSON hit per line.")] = False,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            autocompletion=choices("table", "json", "nl", "context"),
            help="table, json, nl or context (a prompt-ready transcript).",
        ),
    ] = None,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Why each hit came up: keyword, bm25, vector, neighbour share, decay, memory.",
        ),
    ] = False,
    memory_route: Annotated[
        bool,
        typer.Option(
            "--memory-route/--no-memory-route",
            help="Hybrid recall also ranks the messages the resource's facts memories cite.",
        ),
    ] = True,
    include: Annotated[
        list[str] | None,
        typer.Option(
            "--include", help="Also return facts memories ('memories'), with their source messages."
        ),
    ] = None,
    all_resources: AllResourcesOpt = False,
) -> None:
    """Find past messages by meaning and by words (hybrid vector + keyword search).

    Examples:

      memcli recall "where does alice live" -r alice

      memcli recall "deadline" -r alice --json | jq '.[0].content'

      memcli recall "trip plans" -r alice --format context | llm -s -
    """
    if sum([as_json, as_nl, fmt is not None]) > 1:
        raise UsageError("use one of --json, --nl and --format")
    if query == "-":
        query = read_text_arg("-").strip()  # `... | memcli recall - -r alice`
    fmt = fmt or ("json" if as_json else "nl" if as_nl else "table")
    if fmt not in FORMATS:
        raise UsageError(f"--format takes one of {', '.join(FORMATS)}")
    if mode not in MODES:
        raise UsageError(f"--mode takes one of {', '.join(MODES)}")
    for r in role or []:
        if r not in ROLES:
            raise UsageError(f"--role takes one of {', '.join(ROLES)}")
    if (query is None) == (batch is None):
        raise UsageError("give a QUERY or --batch FILE, not both or neither")
    common = dict(
        scope=scope,
        top_k=top_k,
        message_range=message_range,
        threshold=threshold,
        since=since,
        until=until,
        roles=role,
        mode=mode,
        half_life=half_life,
        explain=explain,
        all_resources=all_resources,
        memory_route=memory_route,
    )
    resource_id = resource
    if batch is not None:
        queries = _read_batch(batch)
        for q in queries:
            q.setdefault("resource_id", resource_id)
            q.setdefault("thread_id", thread)
        with open_memory() as mem:
            results = mem.recall_many(queries, **common) if queries else []
        _warn_once([n for r in results for n in r.notices])
        for r in results:
            sys.stdout.write(
                json.dumps({"query": r.query, "hits": [h.to_dict() for h in r.hits]}, ensure_ascii=False)
                + "\n"
            )
        return
    for name in include or []:
        if name != "memories":
            raise UsageError("--include takes memories")
    with open_memory() as mem:
        result = mem.recall_many(
            [{"query": query, "resource_id": resource_id, "thread_id": thread}], **common
        )[0]
        memories = mem.recall_memories(query, resource_id=resource_id, top_k=top_k) if include else []
    _warn_once(result.notices)
    hits = [h.to_dict() for h in result.hits] + memories
    if fmt == "json":
        output.write_json(hits)
    elif fmt == "nl":
        output.write_nl(hits)
    elif fmt == "context":
        from memcli.io import context

        sys.stdout.write(context.render(result.hits, query, memories))
    else:
        columns = [
            ("score", "score"),
            ("created_at", "time"),
            ("thread_id", "thread"),
            ("role", "role"),
            ("content", "content"),
        ]

        def show(key, value):
            if key == "score":
                return "  ·" if value is None else f"{value:.3f}"
            return to_public(value) if key == "created_at" else str(value)

        # a memory shows as a row of its own: its thread is "memory", its role its category
        hits = [h if h.get("type") != "memory" else _memory_row(h) for h in hits]

        # like `git log`: a long result on a terminal opens in the pager ($PAGER, else less)
        with output.pager(enabled=len(hits) > 12):
            output.table(hits, columns, fmt=show)
        if not hits:
            output.notice("no matches")


def _warn_once(notices: list[str]) -> None:
    for text in dict.fromkeys(notices):
        output.warn(text)


def _memory_row(memory: dict) -> dict:
    return {
        "score": memory["score"],
        "created_at": memory["valid_from"] or memory["created_at"],
        "thread_id": "memory",
        "role": memory.get("category") or "fact",
        "content": memory["text"],
    }
