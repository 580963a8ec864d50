"""memcli threads new|list|show|rename|delete"""

from typing import Annotated

import typer

from memcli.cli import output
from memcli.cli.common import (
    AllResourcesOpt,
    JsonOpt,
    NlOpt,
    ResourceOpt,
    check_time,
    choices,
    complete_threads,
    open_memory,
    parse_meta,
)
from memcli.errors import UsageError
from memcli.timefmt import to_public

app = typer.Typer(help="Create, list, show, rename and delete threads.", no_args_is_help=True)

THREAD_COLUMNS = [
    ("id", "id"),
    ("title", "title"),
    ("resource_id", "resource"),
    ("message_count", "messages"),
    ("last_message_at", "last activity"),
]
MESSAGE_COLUMNS = [("created_at", "time"), ("role", "role"), ("id", "id"), ("content", "content")]

MetaOpt = Annotated[list[str] | None, typer.Option("--meta", help="Metadata key=value (repeatable).")]


@app.command("new")
def new(
    resource: ResourceOpt = None,
    title: Annotated[str | None, typer.Option("--title", help="Thread title.")] = None,
    thread_id: Annotated[str | None, typer.Option("--id", help="Thread id (default: generated).")] = None,
    meta: MetaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a thread owned by a resource; prints its id."""
    with open_memory() as mem:
        thread = mem.create_thread(thread_id, resource, title, parse_meta(meta))
    if as_json:
        output.write_json(thread.to_dict())
    else:
        print(thread.id)


@app.command("list")
def list_(
    resource: ResourceOpt = None,
    meta: MetaOpt = None,
    order: Annotated[
        str, typer.Option("--order", autocompletion=choices("created", "updated"), help="created or updated.")
    ] = "created",
    ascending: Annotated[bool, typer.Option("--asc", help="Oldest first.")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Threads per page.")] = 100,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    clones_of: Annotated[str | None, typer.Option("--clones-of", help="Only clones of this thread.")] = None,
    all_resources: AllResourcesOpt = False,
    as_json: JsonOpt = False,
    as_nl: NlOpt = False,
) -> None:
    """List a resource's threads, newest first, with message counts and last activity."""
    if order not in ("created", "updated"):
        raise UsageError("--order takes created or updated")
    with open_memory() as mem:
        page = mem.list_threads(
            resource, parse_meta(meta), order, not ascending, limit, offset, clones_of, all_resources
        )
    if as_json:
        output.write_json(page.to_dict())
        return
    rows = [t.to_dict() for t in page.threads]
    output.render(rows, THREAD_COLUMNS, as_json=False, as_nl=as_nl)
    if output.stdout_is_tty() and page.has_more:
        output.notice(f"showing {len(rows)} of {page.total}; next page: --offset {offset + len(rows)}")


@app.command("show")
def show(
    thread_id: Annotated[str, typer.Argument(help="Thread id.", autocompletion=complete_threads)],
    resource: ResourceOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Messages per page.")] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    as_json: JsonOpt = False,
    as_nl: NlOpt = False,
) -> None:
    """Show a thread and a page of its messages (oldest first)."""
    with open_memory() as mem:
        thread = mem.get_thread(thread_id, resource)
        messages = mem.list_messages(thread_id, limit=limit, offset=offset)
    rows = [m.to_dict() for m in messages]
    if as_json:
        output.write_json({"thread": thread.to_dict(), "messages": rows, "limit": limit, "offset": offset})
        return
    if as_nl:
        output.write_nl(rows)
        return
    if output.stdout_is_tty():
        head = f"{thread.id}  {thread.title or '(untitled)'}  resource {thread.resource_id}"
        head += f"  {thread.message_count} messages"
        if thread.cloned_from:
            head += f"  (clone of {thread.cloned_from})"
        output.out_console().print(head, style="bold", markup=False)
    output.table(rows, MESSAGE_COLUMNS)
    shown = offset + len(rows)
    if output.stdout_is_tty() and thread.message_count and shown < thread.message_count:
        output.notice(f"messages {offset + 1}-{shown} of {thread.message_count}; next: --offset {shown}")


@app.command("clone")
def clone(
    source: Annotated[str, typer.Argument(help="Thread to clone.", autocompletion=complete_threads)],
    new_id: Annotated[str | None, typer.Option("--id", help="Id of the clone (default: generated).")] = None,
    title: Annotated[str | None, typer.Option("--title", help="Title of the clone.")] = None,
    resource: Annotated[
        str | None, typer.Option("--resource", "-r", help="Owner of the clone (default: the source's owner).")
    ] = None,
    source_resource: Annotated[
        str | None, typer.Option("--from-resource", help="Check the source thread belongs to this resource.")
    ] = None,
    last: Annotated[
        int | None, typer.Option("--last", min=0, help="Only the most recent N messages.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", callback=check_time, help="Messages at or after (ISO or 7d).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", callback=check_time, help="Messages at or before (ISO or 7d).")
    ] = None,
    messages: Annotated[
        str | None, typer.Option("--messages", help="Only these message ids, comma-separated.")
    ] = None,
    meta: MetaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Branch a thread: copy its messages (or a selection), vectors and observations.

    Prints the new thread's id; --json adds the number cloned and the old->new id map.
    """
    with open_memory() as mem:
        result = mem.clone_thread(
            source,
            new_thread_id=new_id,
            resource_id=resource,
            source_resource_id=source_resource,
            title=title,
            metadata=parse_meta(meta),
            last=last,
            since=since,
            until=until,
            message_ids=[m.strip() for m in messages.split(",") if m.strip()]
            if messages is not None
            else None,
        )
    if as_json:
        output.write_json(result.to_dict())
    else:
        print(result.thread.id)
        output.notice(f"cloned {result.cloned} messages from {source}")


@app.command("lineage")
def lineage(
    thread_id: Annotated[str, typer.Argument(help="Thread id.", autocompletion=complete_threads)],
    as_json: JsonOpt = False,
) -> None:
    """The chain of clones from the root thread to this one."""
    with open_memory() as mem:
        chain = mem.get_clone_history(thread_id)
    rows = [
        {
            "id": link["id"],
            "deleted": link["thread"] is None,
            **(link["thread"].to_dict() if link["thread"] else {}),
        }
        for link in chain
    ]
    if as_json:
        output.write_json(rows)
        return
    for depth, row in enumerate(rows):
        label = "(deleted)" if row["deleted"] else (row.get("title") or "")
        print(f"{'  ' * depth}{'└─ ' if depth else ''}{row['id']}  {label}".rstrip())


@app.command("rename")
def rename(
    thread_id: Annotated[str, typer.Argument(help="Thread id.", autocompletion=complete_threads)],
    title: Annotated[str, typer.Argument(help="New title.")],
    resource: ResourceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Give a thread a new title."""
    with open_memory() as mem:
        thread = mem.rename_thread(thread_id, title, resource)
    if as_json:
        output.write_json(thread.to_dict())


@app.command("delete")
def delete(
    thread_id: Annotated[str, typer.Argument(help="Thread id.", autocompletion=complete_threads)],
    resource: ResourceOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete a thread with its messages, search index rows, vectors and observations."""
    with open_memory() as mem:
        thread = mem.get_thread(thread_id, resource)
        if not yes:
            if not output.stdout_is_tty():
                raise UsageError("deleting needs --yes when not on a terminal")
            if not typer.confirm(f"Delete thread {thread.id} and its {thread.message_count} messages?"):
                output.notice("nothing deleted")  # a "no" is an answer, not an interruption
                return
        removed = mem.delete_thread(thread_id, resource)
    output.notice(f"deleted thread {thread_id} ({removed} messages)")


def _fmt_time(key, value):
    return to_public(value) if key.endswith("_at") and value else ("" if value is None else str(value))
