"""memcli add, memcli messages list|delete"""

from typing import Annotated

import typer

from memcli.cli import output
from memcli.cli.common import (
    JsonOpt,
    NlOpt,
    ResourceOpt,
    check_time,
    complete_threads,
    open_memory,
    parse_meta,
    read_text_arg,
)
from memcli.records import ROLES

app = typer.Typer(help="List and delete messages.", no_args_is_help=True)

COLUMNS = [("created_at", "time"), ("role", "role"), ("id", "id"), ("content", "content")]
ThreadOpt = Annotated[str, typer.Option("--thread", "-t", autocompletion=complete_threads, help="Thread id.")]


def add(
    text: Annotated[str | None, typer.Argument(help="Message text; - or a pipe reads stdin.")] = None,
    thread: ThreadOpt = ...,  # type: ignore[assignment]
    resource: ResourceOpt = None,
    role: Annotated[str, typer.Option("--role", help="|".join(ROLES))] = "user",
    meta: Annotated[list[str] | None, typer.Option("--meta", help="Metadata key=value.")] = None,
    no_embed: Annotated[
        bool, typer.Option("--no-embed", help="No vector (run `memcli embed` later).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Save a message to a thread (created on first use); prints the message id.

    Its vector is computed by the next command that loads the embedding model
    (recall, ask, import, embed), so a loop of adds stays fast and every
    message is still found by meaning.
    """
    from memcli.errors import UsageError

    if role not in ROLES:
        raise UsageError(f"--role takes one of {', '.join(ROLES)}")
    content = read_text_arg(text)
    notices: list[str] = []
    with open_memory() as mem:
        message = mem.add_message(
            content,
            thread,
            resource,
            role=role,
            metadata=parse_meta(meta),
            # the vector is made by the next command that loads the model anyway
            # (recall, ask, import, embed): loading it here cost 1.3 s per add
            embed=False if no_embed else "later",
            notices=notices,
        )
    for line in notices:
        output.warn(line)
    if as_json:
        output.write_json(message.to_dict())
    else:
        print(message.id)


@app.command("list")
def list_(
    thread: ThreadOpt,
    resource: ResourceOpt = None,
    last: Annotated[int | None, typer.Option("--last", "-n", min=1, help="The last N messages.")] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=1, help="The newest messages that fit N tokens.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", callback=check_time, help="ISO date/time or age like 7d.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", callback=check_time, help="ISO date/time or age like 7d.")
    ] = None,
    as_json: JsonOpt = False,
    as_nl: NlOpt = False,
) -> None:
    """Messages of a thread in time order: all, the last N, or those fitting a token budget."""
    with open_memory() as mem:
        messages = mem.list_messages(
            thread,
            resource,
            last=last,
            max_tokens=max_tokens,
            since=since,
            until=until,
        )
    rows = []
    for m in messages:
        row = m.to_dict()
        row["token_count"] = m.token_count
        rows.append(row)
    output.render(rows, COLUMNS, as_json=as_json, as_nl=as_nl)


@app.command("delete")
def delete(
    ids: Annotated[list[str], typer.Argument(help="Message ids.")],
    resource: ResourceOpt = None,
) -> None:
    """Delete messages (with their search rows and vectors)."""
    with open_memory() as mem:
        removed = mem.delete_messages(ids, resource)
    output.notice(f"deleted {removed} message{'s' if removed != 1 else ''}")
