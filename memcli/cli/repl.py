"""memcli chat: an interactive conversation with memory.

Slash commands: /help /exit /tokens /memory /recall QUERY /thread /context.
A line of three double quotes starts and ends a multi-line message.
Ctrl-C cancels the reply being written, not the session; Ctrl-D or /exit ends it.
"""

import json
import sys
from collections.abc import Callable
from contextlib import contextmanager
from typing import Annotated

import typer

from memcli.cli import output
from memcli.cli.chat import (
    ContinueOpt,
    MaxContextOpt,
    ModelOpt,
    NoMemoryOpt,
    NoTitleOpt,
    ResourceOpt,
    SystemOpt,
    ThreadOpt,
    TitleModelOpt,
)
from memcli.cli.common import open_memory

HELP = """/help            this help
/exit            leave (or Ctrl-D)
/tokens          the budget of the next request
/memory          the working memory
/recall QUERY    search memory
/thread          the current thread
/context         exactly what the last request sent
\"\"\"              start or end a multi-line message
Up/Down          earlier messages (kept between sessions); Ctrl-R searches them
Tab              complete a slash command or a thread id; Emacs keys edit the line"""


def _read_message(prompt: str, read_line=input) -> str | None:
    """One message: a line, or the lines between two lines of three double quotes."""
    try:
        line = read_line(prompt)
    except EOFError:
        return None
    if line.strip() != '"""':
        return line
    lines = []
    while True:
        try:
            more = read_line("... ")
        except EOFError:
            break
        if more.strip() == '"""':
            break
        lines.append(more)
    return "\n".join(lines)


def chat(
    model: ModelOpt = None,
    thread: ThreadOpt = None,
    cont: ContinueOpt = False,
    resource: ResourceOpt = None,
    system: SystemOpt = None,
    max_context: MaxContextOpt = None,
    no_memory: NoMemoryOpt = False,
    no_title: NoTitleOpt = False,
    title_model: TitleModelOpt = None,
    plain: Annotated[
        bool | None,
        typer.Option(
            "--plain/--markdown",
            help="Replies as plain text, or rendered Markdown (default: chat.plain, else Markdown on a terminal).",
        ),
    ] = None,
) -> None:
    """Chat in the terminal with a model that remembers (Ctrl-D or /exit to leave)."""
    from memcli.cli.chat import session_options
    from memcli.errors import MemcliError

    tty = sys.stdin.isatty() and sys.stdout.isatty()
    with open_memory(model=model, chat_plain=plain) as mem:
        plain = mem.settings.chat_plain
        session = mem.chat_session(
            **session_options(thread, cont, resource, system, max_context, no_memory, no_title, title_model)
        )
        s = session.settings
        if tty:
            where = f"thread {s.thread_id}" if s.thread_id else "a new thread"
            output.notice(
                f"chatting with {session.llm.model} as {s.resource_id} in {where}; /help for commands"
            )
        read_line: Callable[[str], str] = input
        if tty:
            from memcli.cli import line_editor

            read_line = line_editor.reader(mem.complete_ids("threads", ""))
        while True:
            try:
                text = _read_message("> " if tty else "", read_line)
            except KeyboardInterrupt:
                print("\n(use /exit or Ctrl-D to leave)", file=sys.stderr)
                continue
            if text is None:
                break
            text = text.strip()
            if not text:
                continue
            if text.startswith("/"):
                if _command(session, text):
                    break
                continue
            try:
                _turn(session, text, tty and not plain)
            except KeyboardInterrupt:
                print("\n(reply cancelled)", file=sys.stderr)
            except MemcliError as exc:
                print(f"memcli: error: {exc}", file=sys.stderr)


def _turn(session, text: str, tty: bool) -> None:
    if not tty:
        result = session.send(text, on_token=lambda t: (sys.stdout.write(t), sys.stdout.flush()))
        sys.stdout.write("\n")
    else:
        from rich.live import Live

        from memcli.cli.faithful_markdown import faithful_markdown

        parts: list[str] = []
        console = output.out_console()
        # the terminal echoes nothing while the reply is drawn: its "^C" (or a key typed
        # ahead) would move the cursor under rich's live view, which then drew the partial
        # reply a second time
        with _no_echo(), Live(faithful_markdown(""), console=console, refresh_per_second=12) as live:

            def on_token(token: str) -> None:
                parts.append(token)
                live.update(faithful_markdown("".join(parts)))

            result = session.send(text, on_token=on_token)
            if not parts:
                live.update(faithful_markdown(result.reply))
    for notice in result.notices:
        output.warn(notice)
    for line in result.info:
        output.notice(line)
    if result.title:
        output.notice(f"thread titled: {result.title}")


@contextmanager
def _no_echo():
    """Turn the terminal's echo off (typed keys still reach the next prompt), then back on."""
    import termios

    try:
        fd = sys.stdin.fileno()
        before = termios.tcgetattr(fd)
    except (OSError, ValueError, termios.error):
        yield
        return
    quiet = list(before)
    quiet[3] &= ~(termios.ECHO | termios.ECHOCTL)
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, before)


def _command(session, text: str) -> bool:
    """Run a slash command; True means leave."""
    name, _, arg = text.partition(" ")
    s = session.settings
    if name in ("/exit", "/quit"):
        return True
    if name == "/help":
        print(HELP)
    elif name == "/thread":
        print(s.thread_id or "(no thread yet: it starts with your first message)")
    elif name == "/memory":
        print(session.working_memory_text() or "(working memory is empty)")
    elif name == "/tokens":
        plan = session.plan(arg)
        for key, value in plan.sections.items():
            print(f"{key:15} {value:>8}")
        print(f"{'total':15} {plan.total:>8}   window {plan.window}, reserve {plan.reserve}")
    elif name == "/context":
        plan = session.last_plan
        print(json.dumps(plan.messages, indent=2, ensure_ascii=False) if plan else "(nothing sent yet)")
    elif name == "/recall":
        if not arg.strip():
            print("usage: /recall QUERY")
        else:
            result = session.memory.recall(arg, resource_id=s.resource_id, top_k=5, message_range=0)
            for hit in result.hits:
                print(
                    f"{hit.score:.2f}  {hit.message.created_at[:16]}  {hit.message.role}: {hit.message.content}"
                )
    else:
        print(f"unknown command {name}; /help lists them")
    return False
