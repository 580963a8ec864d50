"""Time in what the model reads (after Mastra's temporal markers and relative dates).

- Where a conversation resumes after a gap (10 minutes or more, as Mastra), the message
  after the gap — and the new message, against the last one — is sent with a marker:
  "[3 hours later: Wed, Dec 2, 2026, 14:05 UTC]". What is stored is unchanged.
- Date headers of an observation log ("Date: Nov 3, 2026") are sent with how long ago
  that was, computed when the request is made, so "last Tuesday" in a month-old
  observation is read against its own date, not today's.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from memcli.timefmt import parse

GAP = timedelta(minutes=10)
_DATE_HEADER = re.compile(r"^(\s*Date:\s*)([A-Z][a-z]{2,8}\.? \d{1,2}, \d{4})\s*$", re.M)


def span(delta: timedelta) -> str:
    """'15 minutes', '3 hours', '2 days', '5 weeks', '4 months', '2 years'."""
    seconds = delta.total_seconds()
    for unit, size in (
        ("year", 365 * 86400),
        ("month", 30 * 86400),
        ("week", 7 * 86400),
        ("day", 86400),
        ("hour", 3600),
    ):
        if seconds >= size * (2 if unit in ("month", "year") else 1):
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    n = max(1, int(seconds // 60))
    return f"{n} minute{'s' if n != 1 else ''}"


def marker(previous: datetime, current: datetime) -> str | None:
    """The marker for a message sent `current` after one sent `previous`, or None (no gap)."""
    if current - previous < GAP:
        return None
    return f"[{span(current - previous)} later: {current.strftime('%a, %b %-d, %Y, %H:%M')} UTC]"


def with_markers(messages: list[dict], times: list[str], now: datetime) -> list[dict]:
    """History messages (and the new one last, sent `now`) with markers where gaps are;
    times are the stored times of all but the last message."""
    out = []
    stamps = [parse(t) for t in times] + [now]
    for i, message in enumerate(messages):
        found = marker(stamps[i - 1], stamps[i]) if i > 0 else None
        if found and isinstance(message.get("content"), str) and message.get("role") in ("user", "assistant"):
            message = {**message, "content": f"{found}\n{message['content']}"}
        out.append(message)
    return out


def relative_dates(log: str, now: datetime) -> str:
    """Date headers annotated with how long before `now` they are."""

    def annotate(match: re.Match) -> str:
        try:
            day = datetime.strptime(match.group(2).replace(".", ""), "%b %d, %Y")
        except ValueError:
            return match.group(0)
        days = (now.date() - day.date()).days
        if days <= 0:
            when = "today"
        elif days == 1:
            when = "yesterday"
        else:
            when = span(timedelta(days=days)) + " ago"
        return f"{match.group(1)}{match.group(2)} ({when})"

    return _DATE_HEADER.sub(annotate, log)
