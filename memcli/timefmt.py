"""Timestamps: stored as sortable UTC text, shown without needless zeros.

Stored form is always `YYYY-MM-DDTHH:MM:SS.ffffffZ` so that string order is
time order in SQL; the contract form drops `.000000` so that
"2023-05-08T13:56:00Z" round-trips through import and export unchanged.
"""

import re
from datetime import UTC, datetime, timedelta

from memcli.errors import InputError

STORED = "%Y-%m-%dT%H:%M:%S.%fZ"


def _format(dt: datetime) -> str:
    # isoformat is ~4x faster than strftime(STORED) and gives the same text for UTC
    return dt.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def now() -> str:
    return _format(datetime.now(UTC))


def parse(value: str) -> datetime:
    """ISO 8601 (date, or date-time with or without zone; naive means UTC)."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"invalid timestamp {value!r}: expected ISO 8601 like 2023-05-08T13:56:00Z")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"invalid timestamp {value!r}: expected ISO 8601 like 2023-05-08T13:56:00Z"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00, 9999-12-31T23:59-05:00
        raise InputError(f"invalid timestamp {value!r}: outside the years 1 to 9999 in UTC") from None


def to_stored(value: str | datetime) -> str:
    dt = value if isinstance(value, datetime) else parse(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return _format(dt.astimezone(UTC))
    except OverflowError:
        raise InputError(f"invalid timestamp {value!r}: outside the years 1 to 9999 in UTC") from None


def to_public(stored: str) -> str:
    return stored.replace(".000000Z", "Z") if stored else stored


_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: str) -> timedelta:
    """'30d', '12h', '2w' -> timedelta."""
    match = _RELATIVE.match(value.strip().lower())
    if not match:
        raise InputError(f"invalid duration {value!r}: use a number and s/m/h/d/w, e.g. 30d")
    try:
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        raise InputError(f"invalid duration {value!r}: too long") from None


def parse_bound(value: str) -> str:
    """A --since/--until value: an ISO date or time, or a duration ago ('7d')."""
    if _RELATIVE.match(value.strip().lower()):
        try:
            return (datetime.now(UTC) - parse_duration(value)).strftime(STORED)
        except OverflowError:
            raise InputError(f"invalid age {value!r}: reaches before year 1") from None
    return to_stored(value)


def optional_bound(value: str | None) -> str | None:
    """parse_bound for an optional value: None (or empty) stays None."""
    return parse_bound(value) if value else None
