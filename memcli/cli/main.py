"""The `memcli` entry point: the Typer app, global options, and error handling.

Every user-facing failure becomes one line on stderr and a documented exit
code (see memcli.errors.ExitCode); --debug shows the traceback instead.
"""

import os
import sys
from typing import Annotated

import typer

from memcli import __version__
from memcli.cli import common, output

app = typer.Typer(
    name="memcli",
    help=(
        "Local-first memory for AI conversations, in one SQLite file.\n\n"
        "Import or add messages, then recall them by meaning and by words:\n\n"
        "  memcli import examples/conversation.jsonl\n\n"
        "  memcli recall 'where does alice live' -r alice --json\n\n"
        "Data: MEMCLI_DB (file) or MEMCLI_HOME (folder); see `memcli db path`."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"memcli {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    db: Annotated[
        str | None, typer.Option("--db", help="SQLite file to use (default: MEMCLI_DB or the user data dir).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or notices.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    common.STATE["db"] = db
    common.STATE["debug"] = debug
    output.QUIET["on"] = quiet


def mcp_command() -> None:
    """Serve memory to agent clients over stdio (Model Context Protocol).

    Tools: recall, remember, working_memory_get/update, threads_list,
    observations_show; resources memcli://threads and memcli://threads/{id}.
    """
    from memcli.mcp_server import serve

    with common.open_memory() as mem:
        serve(mem)


def _register() -> None:
    from memcli.cli import (
        chat,
        config_cmd,
        db,
        memory_cmd,
        messages,
        models,
        observe,
        recall,
        repl,
        threads,
        transfer,
    )

    app.add_typer(threads.app, name="threads")
    app.add_typer(messages.app, name="messages")
    app.add_typer(db.app, name="db")
    app.add_typer(models.app, name="models")
    app.add_typer(memory_cmd.app, name="memory")
    app.add_typer(observe.app, name="observations")
    app.add_typer(config_cmd.app, name="config")
    app.command("add")(messages.add)
    app.command("import")(transfer.import_)
    app.command("export")(transfer.export)
    app.command("recall")(recall.recall)
    app.command("embed")(models.embed)
    app.command("chat")(repl.chat)
    app.command("ask")(chat.ask)
    app.command("tokens")(chat.tokens)
    app.command("observe")(observe.observe)
    app.command("reflect")(observe.reflect)
    app.command("mcp")(mcp_command)


_register()


def main(argv: list[str] | None = None) -> None:
    import click

    from memcli.errors import ExitCode, MemcliError

    debug = "--debug" in (argv if argv is not None else sys.argv)
    code = ExitCode.OK
    try:
        result = app(args=argv, prog_name="memcli", standalone_mode=False)
        if isinstance(result, int):
            code = result
    except MemcliError as exc:
        if debug:
            raise
        print(f"memcli: error: {exc}", file=sys.stderr)
        code = exc.exit_code
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        print("memcli: interrupted", file=sys.stderr)
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        # the reader went away (`memcli export | head`): not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = ExitCode.OK
    except Exception as exc:  # a bug, not a user error: one line unless --debug
        if debug:
            raise
        print(f"memcli: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", file=sys.stderr)
        code = ExitCode.ERROR
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    sys.exit(int(code))
