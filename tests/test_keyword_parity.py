"""What keyword search matches is the same on SQLite and PostgreSQL: diacritics fold on
both, a message too long for PostgreSQL's tsvector is stored (and copied) whole, and a
resource's ranking depends on its own messages only (statistics per resource, and per
thread when recall is thread-scoped)."""

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


def test_a_message_longer_than_a_tsvector_holds_is_stored_whole_and_found(cli, backend):
    """PostgreSQL refuses a tsvector over 1 MB; the message is kept in full, found by
    a word near its start, and the writer is told what keyword search covers of it."""
    long = "needle " + " ".join(f"w{i}x{i * 7919 % 100003}" for i in range(200_000))
    assert len(long.encode()) > 2_000_000
    rows = [{"id": f"long{i}", "content": long, "thread_id": "t", "resource_id": "r"} for i in range(2)]
    r = cli("import", "-", "--no-embed", input="".join(json.dumps(row) + "\n" for row in rows))
    assert r.code == 0, r.err
    told = "2 messages longer than 100,000 characters: keyword search covers the first 100,000"
    assert (told in r.err) == (backend == "postgresql"), r.err
    assert _ids(cli, "needle", 2) == ["long0", "long1"]
    r = cli("export", "-t", "t")
    assert r.code == 0 and json.loads(r.out.splitlines()[0])["content"] == long
    r = cli("add", long, "-t", "t", "-r", "r")
    assert r.code == 0, r.err
    assert ("1 message longer than 100,000 characters" in r.err) == (backend == "postgresql"), r.err


_WORDS = "garden piano tokyo budget hiking coffee deadline sister python recipe marathon tax".split()


def _messages(resource: str, thread: str, count: int, seed: int, skew: str = "") -> list[dict]:
    """Messages of a few words each; `skew` makes one word far more common (it moves
    whole-file statistics a lot)."""
    import random

    rng = random.Random(seed)
    out = []
    for i in range(count):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(2, 12))] + (
            [skew] * rng.randint(0, 3) if skew else []
        )
        out.append(
            {
                "id": f"{resource}-{thread}-{i}",
                "content": " ".join(words),
                "thread_id": thread,
                "resource_id": resource,
            }
        )
    return out


def _ranking(cli, query: str, resource: str, *scope: str) -> list[tuple[str, float]]:
    r = cli(
        "recall",
        query,
        "-r",
        resource,
        *scope,
        "--mode",
        "keyword",
        "--message-range",
        "0",
        "-k",
        "8",
        "--json",
        "--explain",
    )
    assert r.code == 0, r.err
    return [(h["id"], round(h["explain"]["bm25"], 9)) for h in json.loads(r.out)]


_QUERIES = ["piano tokyo", "budget deadline tax", "coffee", "marathon hiking sister", "python recipe garden"]


def _import(cli, rows: list[dict]) -> None:
    r = cli("import", "-", "--no-embed", input="".join(json.dumps(m) + "\n" for m in rows))
    assert r.code == 0, r.err


def test_a_resources_keyword_ranking_depends_on_its_own_messages_only(cli):
    _import(cli, _messages("r", "t1", 40, seed=1) + _messages("r", "t2", 25, seed=2))
    before = {q: _ranking(cli, q, "r") for q in _QUERIES}
    thread_before = {q: _ranking(cli, q, "r", "-t", "t1", "--scope", "thread") for q in _QUERIES}
    assert all(before.values()) and all(thread_before.values())

    # another user writes a lot, with very different word frequencies
    _import(
        cli, _messages("s", "u", 300, seed=3, skew="piano") + _messages("s", "v", 200, seed=4, skew="coffee")
    )
    assert {q: _ranking(cli, q, "r") for q in _QUERIES} == before
    assert {q: _ranking(cli, q, "r", "-t", "t1", "--scope", "thread") for q in _QUERIES} == thread_before

    # another thread of the same resource changes the resource's ranking, not the thread's
    _import(cli, _messages("r", "t3", 60, seed=5, skew="budget"))
    assert {q: _ranking(cli, q, "r", "-t", "t1", "--scope", "thread") for q in _QUERIES} == thread_before
    assert {q: _ranking(cli, q, "r") for q in _QUERIES} != before

    # and the other user leaving changes nothing either
    for thread in ("u", "v"):
        r = cli("threads", "delete", thread, "-r", "s", "--yes")
        assert r.code == 0, r.err
    assert {q: _ranking(cli, q, "r", "-t", "t1", "--scope", "thread") for q in _QUERIES} == thread_before


def test_thread_scoped_keyword_search_takes_quotes_and_backslashes(cli):
    rows = [
        {"id": "quote", "content": "O'Brien's café", "thread_id": "t", "resource_id": "r"},
        {"id": "slash", "content": r"saved to C:\temp\notes", "thread_id": "t", "resource_id": "r"},
        {"id": "else", "content": "nothing here", "thread_id": "t", "resource_id": "r"},
    ]
    _import(cli, rows)
    for query, want in [("O'Brien's", "quote"), (r"C:\temp\notes", "slash")]:
        r = cli("recall", query, "-r", "r", "-t", "t", "--scope", "thread", "--mode", "keyword", "--json")
        assert r.code == 0, r.err
        assert json.loads(r.out)[0]["id"] == want
