"""The database setting: a SQLite file or a URL of a registered backend, and how it is shown.

Every place that takes a database (MEMCLI_DB, --db, `Memory(path)`, `db copy`)
goes through `target()`, and every message that names one goes through
`shown()`; `redact()` scrubs any password this process has seen from a text
before it is printed. A third backend is one package and one line in BACKENDS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from memcli.errors import UsageError

# URL scheme -> "module:StoreClass"; a path without a scheme is a SQLite file
BACKENDS = {
    "postgresql": "memcli.store.pg:PgStore",
    "postgres": "memcli.store.pg:PgStore",
}
SQLITE = "memcli.store.sqlite_store:Store"

# "name:" then "/" — a URL, or one that Path() folded ("postgresql:/u@h"); two letters
# at least, so a Windows drive ("C:/") stays a path
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/")
_SECRET_KEYS = re.compile(r"pass|secret|token|key", re.IGNORECASE)
_seen_secrets: set[str] = set()


@dataclass(frozen=True)
class Target:
    """A database memcli can open: a file path, or a URL and its backend's scheme."""

    location: Path | str
    scheme: str | None = None  # None: a SQLite file

    @property
    def is_url(self) -> bool:
        return self.scheme is not None

    @property
    def store_class(self) -> str:
        return BACKENDS[self.scheme] if self.scheme else SQLITE

    def __str__(self) -> str:
        return shown(self.location)


def target(value: str | Path | Target) -> Target:
    """The database a setting names; a value with a URL scheme memcli cannot use (a
    typo like 'postgresql:/u@h/db', or mysql://) is a one-line error, whatever its type."""
    if isinstance(value, Target):
        return value
    text = str(value)
    if text == ":memory:":
        return Target(text)
    match = _SCHEME.match(text)
    if match is None:
        return Target(Path(text).expanduser())
    scheme = match.group(1).lower()
    _remember_secrets(text)
    if scheme not in BACKENDS:
        raise UsageError(
            f"MEMCLI_DB / --db must be a file path or a postgresql:// URL, not a {scheme}: URL "
            "(write ./NAME for a file whose name has a colon)"
        )
    if isinstance(value, Path):
        raise UsageError(f"give a {scheme} URL as text, not as a Path (which folds its '//'): {shown(text)}")
    if not text[match.end() :].startswith("/"):
        raise UsageError(f"{redact(text)} is not a valid URL: write {scheme}://user@host/database")
    return Target(text, scheme)


def looks_like_url(value) -> bool:
    """Text that starts with a URL scheme (any, supported or not)."""
    return bool(_SCHEME.match(str(value)))


def is_url(value) -> bool:
    """A URL of a registered backend rather than a file path (no error for bad ones)."""
    match = _SCHEME.match(str(value)) if isinstance(value, str) else None
    return bool(match and match.group(1).lower() in BACKENDS and "://" in value)


def shown(value: Path | str | Target) -> str:
    """The database as printed anywhere: a URL without its password, in the user part or
    the query (password=, sslpassword=, ...)."""
    if isinstance(value, Target):
        value = value.location
    text = str(value)
    if not _SCHEME.match(text):
        return text
    text = _unfolded(text)
    _remember_secrets(text)
    try:
        parts = urlsplit(text)
        netloc, query = parts.netloc, parts.query
        if parts.password:  # an empty one ("postgres:@") hides nothing
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.split(':', 1)[0]}:***@{host}"
        pairs = parse_qsl(parts.query, True)
        if any(_SECRET_KEYS.search(k) for k, _ in pairs):  # else the query stays as written
            query = urlencode([(k, "***" if _SECRET_KEYS.search(k) else v) for k, v in pairs], safe="*/:")
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    except ValueError:  # not parseable as a URL: show only its scheme
        return text.split(":", 1)[0] + "://***"


def redact(text: str) -> str:
    """text with every password of a database URL this process has seen replaced by ***."""
    for secret in sorted(_seen_secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _unfolded(text: str) -> str:
    """'postgresql:/u:pw@h/db' (a URL that went through Path) read as the URL it was."""
    match = _SCHEME.match(text)
    if match and not text[match.end() :].startswith("/"):
        return f"{text[: match.end()]}/{text[match.end() :]}"
    return text


def _remember_secrets(text: str) -> None:
    try:
        parts = urlsplit(_unfolded(text))
        found = [parts.password] + [v for k, v in parse_qsl(parts.query, True) if _SECRET_KEYS.search(k)]
    except ValueError:
        return
    from urllib.parse import quote

    for secret in found:
        if secret and len(secret) >= 2:  # one character would scrub every message
            _seen_secrets.update({secret, quote(secret, safe="")})
