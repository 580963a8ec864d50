"""memcli chat on a real terminal (a pty): Ctrl-C cancels the reply, not the session."""

import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
import time
from contextlib import contextmanager

from fake_llm import reply, slow


def _read_until(fd, needle: bytes, timeout: float = 60.0) -> bytes:
    seen = b""
    end = time.time() + timeout
    while needle not in seen:
        if time.time() > end:
            raise AssertionError(f"timed out waiting for {needle!r}; got {seen[-500:]!r}")
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    return seen


def _controlling_terminal():
    """Make the pty this process's terminal, so Ctrl-C becomes SIGINT as in a shell."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _chat_session(*args):
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "memcli", "chat", "-r", "alice", "--no-title", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        # a pty answers no cursor-position request; a real terminal does
        env={**os.environ, "TERM": "xterm", "COLUMNS": "100", "PROMPT_TOOLKIT_NO_CPR": "1"},
        preexec_fn=_controlling_terminal,
    )
    os.close(child)
    return proc, main


@contextmanager
def _chat(*args):
    """A `memcli chat` on a pty, past its banner; /exit and a clean exit when the block ends."""
    proc, main = _chat_session(*args)
    try:
        _read_until(main, b"/help for commands")
        yield main
        os.write(main, b"/exit\r")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)


def test_ctrl_c_cancels_the_reply_and_the_session_goes_on(llm_server):
    llm_server.script([slow(30, reply("too late")), reply("second answer"), reply("a title")])
    with _chat("-t", "tty-1") as main:
        os.write(main, b"hello\r")
        deadline = time.time() + 60
        while not llm_server.requests and time.time() < deadline:
            time.sleep(0.1)
        assert llm_server.requests, "the model was never called"
        os.write(main, b"\x03")  # Ctrl-C, delivered by the terminal as SIGINT
        _read_until(main, b"reply cancelled")
        os.write(main, b"and now?\r")
        _read_until(main, b"second answer")


def test_ctrl_c_mid_answer_leaves_the_partial_reply_on_screen_once(llm_server):
    """#25: the partial line was printed twice (rich's Live drew it again on the way out)."""
    import threading

    import pyte
    from fake_llm import stalled

    go = threading.Event()
    partial = "The first half of a long answer"
    llm_server.script([stalled(partial, go), reply("second answer")])
    screen = pyte.Screen(100, 40)
    stream = pyte.ByteStream(screen)
    try:
        with _chat("-t", "tty-2") as main:
            os.write(main, b"hello\r")
            stream.feed(_read_until(main, b"long answer"))
            os.write(main, b"\x03")
            stream.feed(_read_until(main, b"reply cancelled"))
            go.set()
            os.write(main, b"and now?\r")
            stream.feed(_read_until(main, b"second answer"))
    finally:
        go.set()
    shown = [line.rstrip() for line in screen.display]
    assert sum(partial in line for line in shown) == 1, "\n".join(shown)


def test_an_html_reply_is_shown_as_sent_on_a_terminal(llm_server):
    """#25: `<div class="card">Hello</div>` vanished from the screen and `<b>` was stripped."""
    llm_server.script([reply('Here:\n\n<div class="card">Hello</div>\n\nand <b>bold</b>.')])
    with _chat("-t", "tty-2") as main:
        os.write(main, b"show me a card\r")
        seen = _read_until(main, b"<b>bold</b>")
        assert b'<div class="card">Hello</div>' in seen


def test_history_line_editing_and_completion_across_sessions(llm_server, home):
    """#25: arrow keys printed ^[[A; now Up recalls the last message of an earlier session,
    Emacs keys edit the line, Tab completes a slash command; the history file is 0600."""
    llm_server.script([reply("first answer"), reply("second answer"), reply("third answer")])
    with _chat("-t", "hist") as main:
        os.write(main, b"remember the blue door\r")
        _read_until(main, b"first answer")
    with _chat("-t", "hist") as main:
        os.write(main, b"\x1b[A\x1b[A")  # Up, Up: past the last session's /exit to its message
        os.write(main, b"\x01again: \r")  # Ctrl-A (start of line), type, Enter
        _read_until(main, b"second answer")
        os.write(main, b"/tok\t\r")  # Tab completes /tokens
        _read_until(main, b"window")
    sent = [r["messages"][-1]["content"] for r in llm_server.requests if r.get("messages")]
    assert "again: remember the blue door" in sent, sent
    history = home / "chat-history"
    assert history.stat().st_mode & 0o777 == 0o600 and b"remember the blue door" in history.read_bytes()


def test_plain_output_on_a_terminal_keeps_the_markdown_as_sent(llm_server, monkeypatch):
    """#25: --plain (or chat.plain / MEMCLI_PLAIN) prints the reply's text as the model
    sent it, asterisks and all, even on a terminal."""
    llm_server.script([reply("some **bold** words"), reply("more **bold** words")])
    with _chat("-t", "plain-1", "--plain") as main:
        os.write(main, b"hello\r")
        _read_until(main, b"some **bold** words")
    monkeypatch.setenv("MEMCLI_PLAIN", "true")
    with _chat("-t", "plain-2") as main:
        os.write(main, b"hello\r")
        _read_until(main, b"more **bold** words")
