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


def _version(value: bool) -> None:
    if value:
        print(f"memcli {__version__}")
        raise typer.Exit()


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


# name -> (module, attribute): a sub-app (Typer) or a command function, in
# the order `memcli --help` lists them.
COMMANDS = {
    "threads": ("memcli.cli.threads", "app"),
    "messages": ("memcli.cli.messages", "app"),
    "db": ("memcli.cli.db", "app"),
    "models": ("memcli.cli.models", "app"),
    "memory": ("memcli.cli.memory_cmd", "app"),
    "observations": ("memcli.cli.observe", "app"),
    "config": ("memcli.cli.config_cmd", "app"),
    "add": ("memcli.cli.messages", "add"),
    "import": ("memcli.cli.transfer", "import_"),
    "export": ("memcli.cli.transfer", "export"),
    "recall": ("memcli.cli.recall", "recall"),
    "embed": ("memcli.cli.models", "embed"),
    "chat": ("memcli.cli.repl", "chat"),
    "ask": ("memcli.cli.chat", "ask"),
    "tokens": ("memcli.cli.chat", "tokens"),
    "observe": ("memcli.cli.observe", "observe"),
    "reflect": ("memcli.cli.observe", "reflect"),
    "mcp": ("memcli.cli.main", "mcp_command"),
}
_GLOBAL_WITH_VALUE = ("--db",)


def requested_command(args: list[str]) -> str | None:
    """The command these arguments run, if it can be told without loading the others.

    None (load every command) for help or --version before a command, shell
    completion, and names that are not commands (so click's errors and
    suggestions see them all).
    """
    if os.environ.get("_MEMCLI_COMPLETE"):
        return None
    args = iter(args)
    for arg in args:
        if arg in _GLOBAL_WITH_VALUE:
            next(args, None)
        elif arg in ("-h", "--help", "--version"):
            return None
        elif not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def make_app(only: str | None = None) -> typer.Typer:
    """The Typer app with every command, or just `only`.

    Building click's tree for every command costs more than running a light
    one (each signature is inspected), so a command line that names its
    command loads that one module and nothing else (bench/startup.py).
    """
    import importlib

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
    app.callback()(_global)
    for name, (module, attribute) in COMMANDS.items():
        if only is not None and name != only:
            continue
        target = getattr(importlib.import_module(module), attribute)
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=name)
        else:
            app.command(name)(target)
    return app


def main(argv: list[str] | None = None) -> None:
    import click

    from memcli.errors import ExitCode, MemcliError

    debug = "--debug" in (argv if argv is not None else sys.argv)
    code = ExitCode.OK
    try:
        args = argv if argv is not None else sys.argv[1:]
        app = make_app(requested_command(args))
        result = app(args=args, prog_name="memcli", standalone_mode=False)
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
