"""The JSONL line format of docs/design.md: one message per line.

Reading is strict: a bad line is reported with its number and nothing of the
import is written. Lines are read as bytes so invalid UTF-8 is caught here,
not deep inside SQLite.
"""

import json
import math
import uuid
from collections.abc import Iterator
from typing import IO, Any

from memcli.errors import InputError
from memcli.io import safejson
from memcli.records import ROLES, Message
from memcli.timefmt import now, to_stored

MAX_CONTENT_BYTES = 16 * 1024 * 1024
MAX_ID_CHARS = 512


def new_message_id() -> str:
    return "m_" + uuid.uuid4().hex[:20]


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{what} must be a non-empty string")
    if len(value) > MAX_ID_CHARS:
        raise InputError(f"{what} is longer than {MAX_ID_CHARS} characters")
    _check_unicode(value, what)
    return value


def _check_unicode(value: str, what: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{what} holds invalid Unicode (a lone surrogate)") from None


def _check_metadata(value: Any, depth: int = 0) -> None:
    if depth > 32:
        raise InputError("metadata is nested more than 32 levels deep")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_unicode(k, "metadata key")
            _check_metadata(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _check_metadata(v, depth + 1)
    elif isinstance(value, str):
        _check_unicode(value, "metadata value")
    elif isinstance(value, float) and not math.isfinite(value):
        # json reads NaN, Infinity and 1e400, but no JSON export could carry them back
        raise InputError("metadata holds NaN or an infinite number, which JSON cannot represent")


def message_from_obj(obj: Any, *, thread_id: str | None = None, resource_id: str | None = None) -> Message:
    """Validate one decoded line (or API dict) into a Message; raise InputError."""
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {type(obj).__name__}")
    content = obj.get("content")
    if not isinstance(content, str):
        raise InputError("content must be a string")
    if not content.strip():
        raise InputError("content is empty")
    try:
        size = len(content.encode("utf-8"))
    except UnicodeEncodeError:
        raise InputError("content holds invalid Unicode (a lone surrogate)") from None
    if size > MAX_CONTENT_BYTES:
        raise InputError(f"content is larger than {MAX_CONTENT_BYTES // (1024 * 1024)} MiB")
    role = obj.get("role", "user")
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    tid = obj.get("thread_id") or thread_id
    rid = obj.get("resource_id") or resource_id
    if tid is None:
        raise InputError("thread_id is missing (in the line, and no default thread was given)")
    if rid is None:
        raise InputError("resource_id is missing (in the line, and no default resource was given)")
    metadata = obj.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise InputError("metadata must be a JSON object")
    _check_metadata(metadata)
    mid = obj.get("id")
    created = obj.get("created_at")
    return Message(
        id=_text(mid, "id") if mid is not None else new_message_id(),
        thread_id=_text(tid, "thread_id"),
        resource_id=_text(rid, "resource_id"),
        role=role,
        content=content,
        created_at=to_stored(created) if created is not None else now(),
        metadata=metadata,
        keep_stored_time=created is None,
    )


def read_lines(
    stream: IO[bytes], *, thread_id: str | None = None, resource_id: str | None = None
) -> Iterator[tuple[int, Message]]:
    """(line number, message) for each non-blank line; InputError names the line."""
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        obj = safejson.loads(raw, f"line {number}")
        try:
            yield number, message_from_obj(obj, thread_id=thread_id, resource_id=resource_id)
        except InputError as exc:
            raise InputError(f"line {number}: {exc}") from None


def dumps(message: Message) -> str:
    return json.dumps(message.to_dict(), ensure_ascii=False)
