"""JSON from outside (import lines, archives, batch queries, model replies): any
malformed input is an InputError, never a crash deep in the decoder."""

import json
from typing import Any

from memcli.errors import InputError


def loads(text: str | bytes, where: str = "") -> Any:
    """The decoded value; InputError naming `where` ("line 3: ...") for malformed JSON,
    nesting deep enough to exhaust the decoder, an integer too long to convert, bad UTF-8."""
    prefix = f"{where}: " if where else ""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{prefix}invalid UTF-8 at byte {exc.start}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{prefix}malformed JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise InputError(f"{prefix}JSON nested too deeply") from None
    except ValueError as exc:  # an integer of thousands of digits
        raise InputError(f"{prefix}unreadable JSON ({exc})") from None
