"""memcli facts (was: memories) list|search|show|history|add|edit|delete|extract|export|import"""

import sys
from typing import Annotated

import typer

from memcli.cli import output
from memcli.cli.common import AllResourcesOpt, JsonOpt, NlOpt, ResourceOpt, check_time, open_memory

app = typer.Typer(
    help="Facts memory: what a model learned about a user, versioned, with sources.", no_args_is_help=True
)

ThreadOpt = Annotated[str | None, typer.Option("--thread", "-t", help="Only memories from this thread.")]
CategoryOpt = Annotated[str | None, typer.Option("--category", help="Only this category (home, work, ...).")]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", callback=check_time, help="What was true then: ISO date or an age like 30d."),
]
IdArg = Annotated[str, typer.Argument(help="Memory id (from list or search).")]
COLUMNS = [("id", "id"), ("category", "category"), ("valid_from", "since"), ("text", "memory")]


def _rows(versions) -> list[dict]:
    return [v.to_dict() for v in versions]


@app.command("list")
def list_(
    resource: ResourceOpt = None,
    thread: ThreadOpt = None,
    category: CategoryOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    as_nl: NlOpt = False,
) -> None:
    """Current memories of a resource (or those true --as-of a date), oldest first."""
    with open_memory() as mem:
        rows = _rows(
            mem.list_memories(resource_id=resource, thread_id=thread, category=category, as_of=as_of)
        )
    output.render(rows, COLUMNS, as_json=as_json, as_nl=as_nl)


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    resource: ResourceOpt = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=1000, help="Memories to return.")] = 10,
    category: CategoryOpt = None,
    as_of: AsOfOpt = None,
    half_life: Annotated[
        str | None, typer.Option("--half-life", help="Weigh older memories less, e.g. 90d.")
    ] = None,
    as_json: JsonOpt = False,
    as_nl: NlOpt = False,
) -> None:
    """Memories relevant to a query, best first (meaning and words)."""
    with open_memory() as mem:
        found = mem.search_memories(
            query, resource_id=resource, top_k=top_k, category=category, as_of=as_of, half_life=half_life
        )
    rows = [{**v.to_dict(), "score": round(score, 4)} for v, score in found]
    output.render(rows, [("score", "score"), *COLUMNS], as_json=as_json, as_nl=as_nl)


@app.command("show")
def show(memory_id: IdArg, resource: ResourceOpt = None, as_json: JsonOpt = False) -> None:
    """A memory's latest version with its sources."""
    with open_memory() as mem:
        row = mem.get_memory(memory_id, resource_id=resource).to_dict()
    if as_json:
        output.write_json(row)
        return
    for key, value in row.items():
        print(f"{key + ':':15}{'' if value is None else value}")


@app.command("history")
def history(
    memory_id: IdArg, resource: ResourceOpt = None, as_json: JsonOpt = False, as_nl: NlOpt = False
) -> None:
    """Every version of a memory, oldest first: what changed, when and from where."""
    with open_memory() as mem:
        rows = _rows(mem.memory_history(memory_id, resource_id=resource))
    columns = [
        ("version", "v"),
        ("event", "event"),
        ("created_at", "learned"),
        ("valid_from", "since"),
        ("valid_to", "until"),
        ("text", "memory"),
    ]
    output.render(rows, columns, as_json=as_json, as_nl=as_nl)


@app.command("add")
def add(
    text: Annotated[str, typer.Argument(help="The fact, as a short sentence.")],
    resource: ResourceOpt = None,
    thread: Annotated[str | None, typer.Option("--thread", "-t", help="Tie it to a thread.")] = None,
    category: Annotated[str | None, typer.Option("--category", help="A short category.")] = None,
    valid_from: Annotated[
        str | None, typer.Option("--valid-from", help="Since when it is true (ISO).")
    ] = None,
    expires: Annotated[str | None, typer.Option("--expires", help="When to stop using it (ISO).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a memory by hand; prints its id."""
    with open_memory() as mem:
        v = mem.add_memory(
            text,
            resource_id=resource,
            thread_id=thread,
            category=category,
            valid_from=valid_from,
            expires_at=expires,
        )
    output.write_json(v.to_dict()) if as_json else print(v.memory_id)


@app.command("edit")
def edit(
    memory_id: IdArg,
    text: Annotated[str | None, typer.Argument(help="The new text (omit to keep it).")] = None,
    resource: ResourceOpt = None,
    category: Annotated[str | None, typer.Option("--category", help="A new category.")] = None,
    valid_from: Annotated[
        str | None, typer.Option("--valid-from", help="Since when the new version holds.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a memory: a new version; the old one is kept in its history."""
    with open_memory() as mem:
        v = mem.update_memory(memory_id, text, resource_id=resource, category=category, valid_from=valid_from)
    if as_json:
        output.write_json(v.to_dict())


@app.command("delete")
def delete(
    memory_id: IdArg,
    resource: ResourceOpt = None,
    valid_to: Annotated[str | None, typer.Option("--valid-to", help="When it stopped being true.")] = None,
) -> None:
    """End a memory: no longer current, its history kept."""
    with open_memory() as mem:
        mem.delete_memory(memory_id, resource_id=resource, valid_to=valid_to)
    output.notice(f"ended memory {memory_id}")


@app.command("extract")
def extract(
    thread: Annotated[
        str | None, typer.Option("--thread", "-t", help="One thread (default: all of -r's).")
    ] = None,
    resource: ResourceOpt = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="litellm model (default: MEMCLI_MODEL).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Let the model extract memories from messages not seen before (one call per batch)."""
    with open_memory(model=model) as mem, output.progress("extracting"):
        result = mem.extract_memories(thread_id=thread, resource_id=resource)
    for text in result.notices:
        output.warn(text)
    if as_json:
        output.write_json(result.to_dict())
    elif result.skipped:
        output.notice(f"nothing extracted: {result.skipped}")
    else:
        output.notice(
            f"{result.messages} messages, {result.calls} model calls: {len(result.added)} added, "
            f"{len(result.updated)} updated, {len(result.deleted)} ended"
        )


@app.command("export")
def export(resource: ResourceOpt = None, all_resources: AllResourcesOpt = False) -> None:
    """Every version of a resource's memories as JSONL (re-importable with `facts import`)."""
    with open_memory() as mem:
        mem.export_memories(sys.stdout, resource_id=resource, all_resources=all_resources)


@app.command("import")
def import_(
    source: Annotated[str, typer.Argument(help="memcli memory JSONL, or a Mem0 get_all JSON dump.")],
    resource: ResourceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import memories (ids kept: importing twice changes nothing)."""
    with open_memory() as mem:
        summary = mem.import_memories(source, resource_id=resource)
    if as_json:
        output.write_json(summary)
    else:
        output.notice(f"imported {summary['added']} memories ({summary['unchanged']} already here)")
