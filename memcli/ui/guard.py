"""Who may talk to `memcli ui`, checked once for every request (an ASGI middleware).

- The token: the printed URL carries it (`/?token=...`, as Jupyter does); the
  first visit trades it for an HttpOnly, SameSite=Strict cookie named after the
  port (cookies do not tell ports apart) and redirects to the URL without it.
  Without the token or the cookie, every path is refused.
- The Host header must name the address served (DNS rebinding: a page on
  evil.example resolving to 127.0.0.1 sends `Host: evil.example`).
- State changes are POSTs from this origin only (Origin, Sec-Fetch-Site) that
  carry the form token derived from the secret (`csrf_token`).
- Every answer has a Content-Security-Policy that allows no script at all, no
  framing, no caching, and no Referer to other sites (the URL may hold the token).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import parse_qsl, urlencode

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # not no-referrer: with it, browsers send `Origin: null` on this page's own form posts
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]

MAX_FORM_BYTES = 2 * 1024 * 1024  # a working memory or a fact, with room to spare


def new_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(secret: str) -> str:
    """The value every form carries; a page of another origin cannot read it."""
    return hmac.new(secret.encode(), b"memcli-ui-form", hashlib.sha256).hexdigest()


class Guard:
    """ASGI middleware: token, Host, method and origin checks, and security headers."""

    def __init__(self, app, *, secret: str, hosts: set[str] | None, port: int):
        self.app = app
        self.secret = secret
        self.hosts = hosts  # None: any Host (serving beyond loopback, when asked)
        self.cookie = f"memcli-ui-{port}"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}

        async def send_secured(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        refusal = self._refusal(scope, headers)
        if refusal is not None:
            return await _plain(send_secured, *refusal)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        if scope["path"] == "/favicon.ico":  # browsers ask before any page has set the cookie
            return await _plain(send_secured, 204, "")
        if "token" in query:
            if not self._is_secret(query["token"]):
                return await _plain(send_secured, 403, "this token is not the one memcli ui printed")
            return await self._trade_token_for_cookie(scope, query, send_secured)
        if not self._is_secret(_cookie(headers.get("cookie", ""), self.cookie)):
            return await _plain(
                send_secured, 403, "open the URL that `memcli ui` printed: it carries the access token"
            )
        return await self.app(scope, receive, send_secured)

    def _refusal(self, scope, headers: dict[str, str]) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if self.hosts is not None and host not in self.hosts:
            return 421, "this server answers only to the address memcli ui printed"
        method = scope["method"]
        if method not in ("GET", "HEAD", "POST"):
            return 405, f"{method} is not used here"
        if method == "POST":
            origin = headers.get("origin")
            if origin is not None and origin != f"{scope.get('scheme', 'http')}://{host}":
                return 403, "a change must come from this page, not from another site"
            if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
                return 403, "a change must come from this page, not from another site"
        return None

    def _is_secret(self, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(str(value).encode(), self.secret.encode())

    async def _trade_token_for_cookie(self, scope, query: dict[str, str], send):
        query.pop("token")
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        # one leading slash: "//evil.example" (or "/\\evil.example") would leave this host
        location = "/" + raw_path.lstrip("/\\") + ("?" + urlencode(query) if query else "")
        cookie = f"{self.cookie}={self.secret}; HttpOnly; SameSite=Strict; Path=/"
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [(b"location", location.encode()), (b"set-cookie", cookie.encode())],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


async def _plain(send, status: int, text: str) -> None:
    body = f"memcli ui: {text}\n".encode() if text else b""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
