"""#27 (3): time in what the model reads — a conversation resumed after a gap is marked
(Mastra: 10 minutes or more), and an observation log's dates are sent with how long ago
they were, so a month-old "last Tuesday" is read against its own date."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from fake_llm import reply

from memcli import temporal

pytestmark = pytest.mark.both_backends


def _at(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_gaps_are_marked_in_the_request_not_in_the_store(cli, llm_server):
    rows = [
        {"content": "first", "role": "user", "created_at": _at(-timedelta(days=1, hours=3, minutes=5))},
        {"content": "second", "role": "assistant", "created_at": _at(-timedelta(days=1, hours=3, minutes=3))},
        {"content": "third", "role": "user", "created_at": _at(-timedelta(days=1))},
    ]
    lines = "\n".join(json.dumps({**r, "thread_id": "t", "resource_id": "alice"}) for r in rows)
    assert cli("import", "-", "--no-embed", input=lines).code == 0
    llm_server.script([reply("ok")])
    assert cli("ask", "fourth", "-t", "t", "-r", "alice", "--no-title").code == 0
    sent = [m["content"] for m in llm_server.requests[0]["messages"] if m["role"] in ("user", "assistant")]
    assert sent[0] == "first" and sent[1] == "second"  # two minutes: no marker
    assert sent[2].startswith("[3 hours later: ") and sent[2].endswith("UTC]\nthird")
    assert sent[3].startswith("[1 day later: ") and sent[3].endswith("\nfourth")
    stored = [m["content"] for m in cli("messages", "list", "-t", "t", "--json").json()]
    assert stored == ["first", "second", "third", "fourth", "ok"]


def test_the_token_report_counts_the_markers_it_sends(cli, llm_server):
    rows = [
        {"content": "hello " * 20, "role": "user", "created_at": _at(-timedelta(days=40))},
        {"content": "hi", "role": "assistant", "created_at": _at(-timedelta(days=40))},
    ]
    lines = "\n".join(json.dumps({**r, "thread_id": "t", "resource_id": "alice"}) for r in rows)
    assert cli("import", "-", "--no-embed", input=lines).code == 0
    from memcli.context import message_tokens

    report = cli("tokens", "-t", "t", "-r", "alice", "-p", "again", "--json").json()
    plain = message_tokens({"role": "user", "content": "again"})
    now = datetime.now(UTC)
    expected = temporal.marker(now - timedelta(days=40), now)
    marked = message_tokens({"role": "user", "content": f"{expected}\nagain"})
    assert report["sections"]["user"] == marked > plain


def test_observation_dates_are_sent_with_how_long_ago_they_were():
    now = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    log = "Date: Nov 3, 2026\n* 🔴 (10:00) User met Marta last Tuesday (meaning Oct 27, 2026)\nDate: Dec 2, 2026\n* x"
    shown = temporal.relative_dates(log, now)
    assert "Date: Nov 3, 2026 (4 weeks ago)" in shown and "Date: Dec 2, 2026 (today)" in shown
    assert "last Tuesday (meaning Oct 27, 2026)" in shown
    assert temporal.relative_dates("Date: Dec 1, 2026", now) == "Date: Dec 1, 2026 (yesterday)"
    assert temporal.relative_dates("Date: Foo 1, 2026", now) == "Date: Foo 1, 2026"


def test_markers_and_spans():
    t = datetime(2026, 12, 2, 14, 5, tzinfo=UTC)
    assert temporal.marker(t - timedelta(minutes=9, seconds=59), t) is None
    assert temporal.marker(t - timedelta(minutes=10), t) == "[10 minutes later: Wed, Dec 2, 2026, 14:05 UTC]"
    assert [temporal.span(timedelta(days=d)) for d in (1, 6, 7, 59, 61, 800)] == [
        "1 day",
        "6 days",
        "1 week",
        "8 weeks",
        "2 months",
        "2 years",
    ]
