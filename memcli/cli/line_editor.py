"""The chat's prompt on a terminal: line editing (Emacs keys), history kept between
sessions, Ctrl-R search, and completion of slash commands and thread ids — through
prompt_toolkit, imported only when a terminal chat starts. Piped input does not
come here: it is read line by line as before."""

import os
from collections.abc import Callable
from pathlib import Path

from memcli.paths import ensure_private_dir, home_dir

SLASH_COMMANDS = ["/help", "/exit", "/quit", "/tokens", "/memory", "/recall", "/thread", "/context"]


def history_file() -> Path:
    """One history for the user, in memcli's home; 0600 in a 0700 folder (prompts are private)."""
    path = home_dir() / "chat-history"
    ensure_private_dir(path.parent)
    if not path.exists():
        path.touch(mode=0o600)
    os.chmod(path, 0o600)
    return path


def reader(thread_ids: list[str]) -> Callable[[str], str]:
    """A function prompt -> line (EOFError on Ctrl-D, KeyboardInterrupt on Ctrl-C)."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import WordCompleter
    from prompt_toolkit.history import FileHistory
    from prompt_toolkit.shortcuts import CompleteStyle

    words = SLASH_COMMANDS + [f"/thread {t}" for t in thread_ids]
    session: PromptSession = PromptSession(
        history=FileHistory(str(history_file())),
        completer=WordCompleter(words, sentence=True),
        complete_while_typing=False,  # Tab completes; typing a message shows no menu
        complete_style=CompleteStyle.READLINE_LIKE,  # as in a shell: Tab inserts what is certain
        enable_history_search=False,  # Ctrl-R searches; Up walks back line by line
    )
    return lambda prompt: session.prompt(prompt)
