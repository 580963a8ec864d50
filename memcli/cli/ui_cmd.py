"""`memcli ui`: the local web viewer (memcli/ui), started from the command line."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from memcli.cli import common, output
from memcli.database import shown
from memcli.errors import UsageError

UI_PACKAGES = ("starlette", "uvicorn", "jinja2")


def ui(
    resource: Annotated[
        str | None,
        typer.Option(
            "--resource", "-r", help="Show only this resource: other ids are answered as not found."
        ),
    ] = None,
    host: Annotated[
        str,
        typer.Option(help="Address to serve on. Anything but loopback is reachable by others: warned."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: a free one).")] = 0,
    no_open: Annotated[bool, typer.Option("--no-open", help="Print the URL; do not open a browser.")] = False,
) -> None:
    """Browse, search, edit and forget memories in a local web page.

    Prints a URL with a one-time access token (every request needs it, then a
    cookie) and opens it in your browser. Pages: resources and threads,
    messages, working memory with its history, the observation log, facts
    memories with their versions, a recall playground with score parts, and
    the context the next chat turn would send. Every change asks to confirm.
    Stop with Ctrl-C.

    \b
    memcli ui                      # every resource; opens your browser
    memcli ui -r alice --no-open   # alice only; print the URL
    """
    missing = [name for name in UI_PACKAGES if not _importable(name)]
    if missing:
        raise UsageError(f"memcli ui needs {', '.join(missing)}: pip install 'memcli[ui]'")
    from memcli.ui import server
    from memcli.ui.app import build_app
    from memcli.ui.guard import new_token

    try:
        sock = server.bind(host, port)
    except OSError as exc:
        raise UsageError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    if not server.is_loopback(host):
        output.warn(
            f"serving on {host}: anyone who can reach this machine and has the URL can read and change this memory"
        )
    with common.open_memory(resource=resource, pinned=resource is not None) as mem:
        if resource is None:  # every resource is shown; none is assumed
            mem.settings = dataclasses.replace(mem.settings, resource=None)
        chosen = sock.getsockname()[1]
        token = new_token()
        app = build_app(mem, secret=token, port=chosen, hosts=server.allowed_hosts(host, chosen))
        link = server.url(host, chosen, token)
        typer.echo(f"memcli ui: {shown(mem.path)} at {link}")
        typer.echo("(Ctrl-C to stop)", err=True)
        if not no_open:
            import webbrowser

            webbrowser.open(link)
        server.run(app, sock)


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
