"""memcli working-memory (was: memory) show|set|edit|clear|history|schema"""

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from memcli.cli import output
from memcli.cli.common import JsonOpt, NlOpt, complete_resources, complete_threads, open_memory, read_text_arg
from memcli.errors import InputError, UsageError

app = typer.Typer(
    help="The working memory: a small profile kept per resource or per thread.", no_args_is_help=True
)

ResourceOpt = Annotated[
    str | None,
    typer.Option(
        "--resource",
        "-r",
        autocompletion=complete_resources,
        help="Resource scope (default: config resource, else default).",
    ),
]
ThreadOpt = Annotated[
    str | None, typer.Option("--thread", "-t", autocompletion=complete_threads, help="Thread scope instead.")
]


def _where(resource, thread) -> dict:
    return {"resource_id": resource, "thread_id": thread}


@app.command("show")
def show(resource: ResourceOpt = None, thread: ThreadOpt = None, as_json: JsonOpt = False) -> None:
    """Print the working memory."""
    with open_memory() as mem:
        content = mem.get_working_memory(**_where(resource, thread))
        scope, scope_id = ("thread", thread) if thread else ("resource", mem.resource_for(resource))
    if as_json:
        output.write_json({"scope": scope, "id": scope_id, "content": content})
    elif content:
        print(content.rstrip())
    else:
        output.notice("working memory is empty")


@app.command("set")
def set_(
    text: Annotated[str | None, typer.Argument(help="New content; - or a pipe reads stdin.")] = None,
    resource: ResourceOpt = None,
    thread: ThreadOpt = None,
) -> None:
    """Replace the working memory."""
    content = read_text_arg(text)
    if not content.strip():
        raise InputError("working memory text is empty (use `memcli working-memory clear`)")
    with open_memory() as mem:
        mem.set_working_memory(content, **_where(resource, thread))


@app.command("edit")
def edit(resource: ResourceOpt = None, thread: ThreadOpt = None) -> None:
    """Edit the working memory in $EDITOR."""
    from memcli import working_memory

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise UsageError("set EDITOR (for example EDITOR=nano) to edit the working memory")
    with open_memory() as mem:
        where = _where(resource, thread)
        current = mem.get_working_memory(**where) or working_memory.DEFAULT_TEMPLATE
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "working-memory.md"
            path.write_text(current, encoding="utf-8")
            if subprocess.call([*editor.split(), str(path)]) != 0:
                raise InputError("the editor failed; working memory unchanged")
            new = path.read_text(encoding="utf-8")
        if new != current:
            mem.set_working_memory(new, **where)


@app.command("clear")
def clear(
    resource: ResourceOpt = None,
    thread: ThreadOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Empty the working memory (the history keeps the old text)."""
    if not yes:
        raise UsageError("clearing needs --yes")
    with open_memory() as mem:
        mem.clear_working_memory(**_where(resource, thread))


@app.command("history")
def history(
    resource: ResourceOpt = None, thread: ThreadOpt = None, as_json: JsonOpt = False, as_nl: NlOpt = False
) -> None:
    """Every change to the working memory, newest first."""
    with open_memory() as mem:
        rows = mem.working_memory_history(**_where(resource, thread))
    output.render(
        rows, [("created_at", "time"), ("source", "by"), ("content", "content")], as_json=as_json, as_nl=as_nl
    )


@app.command("schema")
def schema(
    source: Annotated[str | None, typer.Argument(help="JSON schema file, or - ; omit to show.")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Back to the Markdown template.")] = False,
) -> None:
    """Switch working memory to a JSON schema (updates merge) or back to Markdown."""
    import json

    with open_memory() as mem:
        if markdown:
            mem.set_working_memory_schema(None)
            return
        if source is None:
            schema = mem.working_memory_schema()
            print(json.dumps(schema, ensure_ascii=False) if schema else "(Markdown template mode)")
            return
        mem.set_working_memory_schema(read_text_arg("-") if source == "-" else Path(source))
