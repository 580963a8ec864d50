"""What keyword search matches is the same on SQLite and PostgreSQL: diacritics fold on
both, a message too long for PostgreSQL's tsvector is stored (and copied) whole, and a
resource's ranking depends on its own messages only (PostgreSQL keeps its statistics
per resource)."""

import json

import pytest

pytestmark = pytest.mark.both_backends


def _ids(cli, query: str, k: int, resource: str = "r") -> list[str]:
    """The best k keyword hits (a store may fill the rest of top-k with weaker ones)."""
    r = cli(
        "recall", query, "-r", resource, "--mode", "keyword", "--message-range", "0", "-k", str(k), "--json"
    )
    assert r.code == 0, r.err
    return sorted(h["id"] for h in json.loads(r.out) if h.get("context_of") is None)


def test_diacritics_match_both_ways(cli):
    rows = [
        {"id": "accented", "content": "We moved to São Paulo in June", "thread_id": "t", "resource_id": "r"},
        {"id": "plain", "content": "Sao Paulo traffic is terrible", "thread_id": "t", "resource_id": "r"},
        {"id": "other", "content": "Lisbon is calm", "thread_id": "t", "resource_id": "r"},
        {"id": "cafe", "content": "the café on Ångström street", "thread_id": "t", "resource_id": "r"},
    ]
    assert cli("import", "-", "--no-embed", input="".join(json.dumps(r) + "\n" for r in rows)).code == 0
    assert _ids(cli, "São Paulo", 2) == ["accented", "plain"]
    assert _ids(cli, "sao paulo", 2) == ["accented", "plain"]
    assert _ids(cli, "cafe angstrom", 1) == ["cafe"]


def test_a_message_longer_than_a_tsvector_holds_is_stored_whole_and_found(cli):
    """PostgreSQL refuses a tsvector over 1 MB; the message is kept in full and found by
    a word near its start."""
    long = "needle " + " ".join(f"w{i}x{i * 7919 % 100003}" for i in range(200_000))
    assert len(long.encode()) > 2_000_000
    row = {"id": "long", "content": long, "thread_id": "t", "resource_id": "r"}
    r = cli("import", "-", "--no-embed", input=json.dumps(row) + "\n")
    assert r.code == 0, r.err
    assert _ids(cli, "needle", 1) == ["long"]
    r = cli("export", "-t", "t")
    assert r.code == 0 and json.loads(r.out.splitlines()[0])["content"] == long
