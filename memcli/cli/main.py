"""The `memcli` entry point: the Typer app, global options, and error handling.

Every user-facing failure becomes one line on stderr and a documented exit
code (see memcli.errors.ExitCode); --debug shows the traceback instead.
"""

import os
import sys
from typing import Annotated

import typer

from memcli import __version__
from memcli.cli import common, environment


def _version(value: bool) -> None:
    if value:
        print(f"memcli {__version__}")
        raise typer.Exit()


def _global(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="SQLite file, or a postgresql:// URL, to use (default: MEMCLI_DB or the user data dir).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or notices.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    env = environment.current
    env.db, env.debug, env.quiet = db, debug, quiet


def mcp_command(
    resource: Annotated[
        str | None,
        typer.Option(
            "--resource", "-r", help="Serve only this resource: every tool and resource acts for it."
        ),
    ] = None,
) -> None:
    """Serve memory to agent clients over stdio (Model Context Protocol).

    Tools: recall, remember, working_memory_get, working_memory_update,
    threads_list, observations_show, recall_messages, add_memory, search_memories,
    update_memory, delete_memory, memory_history; resources memcli://threads
    and memcli://threads/{id}. Arguments: docs/reference.md.
    """
    from memcli.mcp_server import serve

    with common.open_memory(resource=resource, pinned=resource is not None) as mem:
        serve(mem)


# name -> (module, attribute, summary): a sub-app (Typer) or a command function,
# in the order `memcli --help` lists them. The summary is the first paragraph
# of its help, so root help needs no command module (a test keeps them equal).
COMMANDS = {
    "threads": ("memcli.cli.threads", "app", "Create, list, show, rename and delete threads."),
    "messages": ("memcli.cli.messages", "app", "List and delete messages."),
    "db": (
        "memcli.cli.db",
        "app",
        "The database (a SQLite file or PostgreSQL): where it is, what it holds, copies, backups, health.",
    ),
    "models": ("memcli.cli.models", "app", "The embedding model used for semantic recall."),
    "working-memory": (
        "memcli.cli.memory_cmd",
        "app",
        "The working memory: a small profile kept per resource or per thread.",
    ),
    "facts": (
        "memcli.cli.memories",
        "app",
        "Facts memory: what a model learned about a user, versioned, with sources.",
    ),
    "observations": (
        "memcli.cli.observe",
        "app",
        "The observation log kept by the Observer and the Reflector.",
    ),
    "config": (
        "memcli.cli.config_cmd",
        "app",
        "Settings in a TOML file (flag > environment > config > default).",
    ),
    "add": (
        "memcli.cli.messages",
        "add",
        "Save a message to a thread (created on first use); prints the message id.",
    ),
    "import": (
        "memcli.cli.transfer",
        "import_",
        "Import messages from JSONL (one message per line; see README for the format).",
    ),
    "export": (
        "memcli.cli.transfer",
        "export",
        "Export messages as JSONL (re-importable as is) or Markdown.",
    ),
    "recall": (
        "memcli.cli.recall",
        "recall",
        "Find past messages by meaning and by words (hybrid vector + keyword search).",
    ),
    "embed": (
        "memcli.cli.models",
        "embed",
        "Compute vectors for messages that have none (or all, with --rebuild).",
    ),
    "chat": (
        "memcli.cli.repl",
        "chat",
        "Chat in the terminal with a model that remembers (Ctrl-D or /exit to leave).",
    ),
    "ask": (
        "memcli.cli.chat",
        "ask",
        "One turn with memory: prints only the reply (streamed), so it scripts well.",
    ),
    "tokens": ("memcli.cli.chat", "tokens", "The token budget of the next request, before anything is sent."),
    "observe": (
        "memcli.cli.observe",
        "observe",
        "Run the Observer now: compress unobserved messages into the observation log.",
    ),
    "reflect": (
        "memcli.cli.observe",
        "reflect",
        "Run the Reflector now: condense an observation log that has grown too long.",
    ),
    "ui": (
        "memcli.cli.ui_cmd",
        "ui",
        "Browse, search, edit and forget memories in a local web page.",
    ),
    "mcp": (
        "memcli.cli.main",
        "mcp_command",
        "Serve memory to agent clients over stdio (Model Context Protocol).",
    ),
}
# earlier names, still accepted (hidden from help): "memory" and "memories" side by side
# confused new users about which was which
ALIASES = {"memory": "working-memory", "memories": "facts"}
_GLOBAL_WITH_VALUE = ("--db",)
ROOT_HELP = "--help"  # requested_command's answer for `memcli`, `memcli --help`


def requested_command(args: list[str]) -> str | None:
    """The command these arguments run, if it can be told without loading the others.

    None (load every command) for help or --version before a command, shell
    completion, and names that are not commands (so click's errors and
    suggestions see them all).
    """
    if os.environ.get("_MEMCLI_COMPLETE"):
        return None
    args = iter(args)  # type: ignore[assignment]
    for arg in args:
        if arg in _GLOBAL_WITH_VALUE:
            next(args, None)  # type: ignore[call-overload]
        elif arg in ("-h", "--help"):
            return ROOT_HELP
        elif arg == "--version":
            return None
        elif not arg.startswith("-"):
            name = ALIASES.get(arg, arg)
            return name if name in COMMANDS else None
    return ROOT_HELP  # no command: the app prints its help


def _summary_only(module: str, attribute: str, summary: str):
    """A stand-in with the command's summary, for the root help's command list."""
    if attribute == "app":
        return typer.Typer(help=summary)

    def command() -> None:
        pass

    command.__doc__ = summary
    return command


def make_app(only: str | None = None) -> typer.Typer:
    """The Typer app with every command, just `only`, or (ROOT_HELP) stand-ins.

    Building click's tree for every command costs more than running a light
    one (each signature is inspected), so a command line that names its
    command loads that one module and nothing else (bench/startup.py).
    """
    import importlib

    app = typer.Typer(
        name="memcli",
        help=(
            "Local-first memory for AI conversations, in one SQLite file (or PostgreSQL).\n\n"
            "Import or add messages, then recall them by meaning and by words:\n\n"
            "  memcli import examples/conversation.jsonl\n\n"
            "  memcli recall 'where does alice live' -r alice --json\n\n"
            "Data: MEMCLI_DB (a file or a postgresql:// URL) or MEMCLI_HOME (folder); see `memcli db path`."
        ),
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        rich_markup_mode=None,
        suggest_commands=False,  # click already suggests; both printed it twice
    )
    app.callback()(_global)
    for name, (module, attribute, summary) in COMMANDS.items():
        if only is not None and only not in (name, ROOT_HELP):
            continue
        if only == ROOT_HELP:
            target = _summary_only(module, attribute, summary)
        else:
            target = getattr(importlib.import_module(module), attribute)
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=name)
            for alias in (a for a, real in ALIASES.items() if real == name):
                app.add_typer(target, name=alias, hidden=True)
        else:
            app.command(name)(target)
    return app


_GLOBAL_FLAGS = ("-q", "--quiet", "--debug")


def value_options(command, args: list[str]) -> set[str]:
    """Options of the command these arguments run that take a value (`-r`, `--top-k`):
    the word after one is its value, even when it looks like `--quiet`."""
    import click

    names: set[str] = set()
    for arg in args:
        if not isinstance(command, click.Group) or arg not in command.commands:
            continue
        command = command.commands[arg]
        for param in command.params:
            if isinstance(param, click.Option) and not param.is_flag and not param.count:
                names.update(param.opts)
    return names


def hoist_globals(args: list[str], takes_value: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Global options given after the command (`memcli threads list --db x.db`) moved in
    front of it, where click looks for them; nothing after a `--` is touched, nor the
    value of an option that takes one (`-r --quiet` names a resource)."""
    front, rest = [], []
    items = iter(args)
    for arg in items:
        if arg == "--":
            rest.append(arg)
            rest.extend(items)
            break
        if arg in takes_value:
            rest.append(arg)
            rest.append(next(items, ""))
        elif arg in _GLOBAL_FLAGS or arg.startswith("--db="):
            front.append(arg)
        elif arg == "--db":
            front.append(arg)
            front.append(next(items, ""))
        else:
            rest.append(arg)
    return front + rest


def _plain_help() -> None:
    """typer escapes '[required]' for rich markup even with markup off, so plain help
    showed a literal backslash; memcli's help is plain text, so nothing needs escaping."""
    from typer import rich_utils

    rich_utils.escape_before_html_export = lambda text: text.strip()  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> None:
    import click

    from memcli.database import redact
    from memcli.errors import ExitCode, MemcliError

    debug = "--debug" in (argv if argv is not None else sys.argv)
    environment.begin()
    code = ExitCode.OK
    try:
        import typer.main

        given = argv if argv is not None else sys.argv[1:]
        command = typer.main.get_command(make_app(requested_command(given)))
        args = hoist_globals(given, value_options(command, given))
        if "-h" in args or "--help" in args:
            _plain_help()
        options = args[: args.index("--")] if "--" in args else args
        if "--json" in options and "--nl" in options:
            from memcli.errors import UsageError

            raise UsageError("use --json or --nl, not both")
        result = command.main(args=args, prog_name="memcli", standalone_mode=False)
        if isinstance(result, int):
            code = result  # type: ignore[assignment]
    except MemcliError as exc:
        if debug:
            raise
        print(redact(f"memcli: error: {exc}"), file=sys.stderr)
        code = exc.exit_code
    except click.exceptions.Exit as exc:
        code = exc.exit_code  # type: ignore[assignment]
    except SystemExit:
        # click answers a closed pipe (EPIPE) with exit 1 after wrapping stdout;
        # for `memcli export | head` that is how a pipe ends, not a failure
        if isinstance(sys.stdout, click.utils.PacifyFlushWrapper):  # type: ignore[arg-type]
            code = ExitCode.OK
        else:
            raise
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code  # type: ignore[assignment]
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
        print(
            redact(f"memcli: internal error: {type(exc).__name__}: {exc} (rerun with --debug)"),
            file=sys.stderr,
        )
        code = ExitCode.ERROR
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    sys.exit(int(code))
