"""Serving the viewer: a socket on a free port, the URL with its token, uvicorn."""

from __future__ import annotations

import ipaddress
import socket

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: a free one, chosen by the system)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def allowed_hosts(host: str, port: int) -> set[str] | None:
    """Host headers this server answers (DNS rebinding); None beyond loopback (any name)."""
    if not is_loopback(host):
        return None
    return {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}


def url(host: str, port: int, token: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"


def run(app, sock: socket.socket) -> None:
    """Serve until Ctrl-C (uvicorn: one process, requests in threads for Memory's calls)."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", server_header=False)
    uvicorn.Server(config).run(sockets=[sock])
