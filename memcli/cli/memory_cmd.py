"""memcli memory show|set|edit|clear|history|schema"""

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from memcli.cli import output
from memcli.cli.common import JsonOpt, NlOpt, open_memory, read_text_arg
from memcli.errors import InputError, UsageError

app = typer.Typer(
    help="The working memory: a small profile kept per resource or per thread.", no_args_is_help=True
)

ResourceOpt = Annotated[str | None, typer.Option("--resource", "-r", help="Resource scope (default).")]
ThreadOpt = Annotated[str | None, typer.Option("--thread", "-t", help="Thread scope instead.")]


def _scope(mem, resource, thread) -> tuple[str, str]:
    if thread:
        mem.get_thread(thread, resource)
        return "thread", thread
    return "resource", resource or os.environ.get("MEMCLI_RESOURCE") or "default"


@app.command("show")
def show(resource: ResourceOpt = None, thread: ThreadOpt = None, as_json: JsonOpt = False) -> None:
    """Print the working memory."""
    with open_memory() as mem:
        scope, scope_id = _scope(mem, resource, thread)
        content = mem.store.working_memory.get(scope, scope_id)
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
        raise InputError("working memory text is empty (use `memcli memory clear`)")
    with open_memory() as mem:
        scope, scope_id = _scope(mem, resource, thread)
        with mem.store.transaction():
            mem.store.working_memory.set(scope, scope_id, content.rstrip() + "\n", source="user")


@app.command("edit")
def edit(resource: ResourceOpt = None, thread: ThreadOpt = None) -> None:
    """Edit the working memory in $EDITOR."""
    from memcli import working_memory

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise UsageError("set EDITOR (for example EDITOR=nano) to edit the working memory")
    with open_memory() as mem:
        scope, scope_id = _scope(mem, resource, thread)
        current = mem.store.working_memory.get(scope, scope_id) or working_memory.DEFAULT_TEMPLATE
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "working-memory.md"
            path.write_text(current, encoding="utf-8")
            if subprocess.call([*editor.split(), str(path)]) != 0:
                raise InputError("the editor failed; working memory unchanged")
            new = path.read_text(encoding="utf-8")
        if new != current:
            with mem.store.transaction():
                mem.store.working_memory.set(scope, scope_id, new, source="user")


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
        scope, scope_id = _scope(mem, resource, thread)
        with mem.store.transaction():
            mem.store.working_memory.set(scope, scope_id, None, source="user")


@app.command("history")
def history(
    resource: ResourceOpt = None, thread: ThreadOpt = None, as_json: JsonOpt = False, as_nl: NlOpt = False
) -> None:
    """Every change to the working memory, newest first."""
    with open_memory() as mem:
        scope, scope_id = _scope(mem, resource, thread)
        rows = mem.store.working_memory.history(scope, scope_id)
    output.render(
        rows, [("created_at", "time"), ("source", "by"), ("content", "content")], as_json=as_json, as_nl=as_nl
    )


@app.command("schema")
def schema(
    source: Annotated[str | None, typer.Argument(help="JSON schema file, or - ; omit to show.")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Back to the Markdown template.")] = False,
) -> None:
    """Switch working memory to a JSON schema (updates merge) or back to Markdown."""
    from memcli import working_memory

    with open_memory() as mem:
        if markdown:
            with mem.store.transaction():
                mem.store.delete_setting("working_memory_schema")
            return
        if source is None:
            print(mem.store.get_setting("working_memory_schema") or "(Markdown template mode)")
            return
        text = read_text_arg("-") if source == "-" else Path(source).read_text(encoding="utf-8")
        parsed = working_memory.load_schema(text)
        with mem.store.transaction():
            mem.store.set_setting("working_memory_schema", json_dumps(parsed))


def json_dumps(value) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)
