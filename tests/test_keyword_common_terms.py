"""Keyword search in large stores: very common terms stop driving the match.

The threshold is lowered here so a few hundred messages stand in for the
millions where it matters; with the real threshold (20,000) a store smaller
than that ranks exactly as plain BM25 over all terms.
"""

import io
import json

import pytest

from memcli import Memory
from memcli.records import Filters
from memcli.store import keyword

pytestmark = pytest.mark.both_backends


@pytest.fixture
def mem(tmp_path, monkeypatch):
    monkeypatch.setattr(keyword, "COMMON_TERM_MESSAGES", 50)
    mem = Memory()
    texts = (
        ["caroline went home"] * 120 + ["caroline joined the pottery class"] * 3 + ["melanie went home"] * 60
    )
    lines = [
        {"id": f"m{i}", "resource_id": "r", "thread_id": "t", "role": "user", "content": text}
        for i, text in enumerate(texts)
    ]
    mem.import_stream(io.BytesIO("".join(json.dumps(x) + "\n" for x in lines).encode()), embed=False)
    return mem


def _texts(mem, hits):
    found = mem.store.messages.by_rowids([r for r, _ in hits])
    return {found[r].content for r, _ in hits}


def test_rare_terms_drive_the_match_when_the_query_has_them(mem):
    hits = mem.store.keyword.search(["caroline", "pottery"], Filters(resource_id="r"), 100)
    assert _texts(mem, hits) == {"caroline joined the pottery class"} and len(hits) == 3


def test_all_common_terms_must_all_match(mem):
    hits = mem.store.keyword.search(["caroline", "home"], Filters(resource_id="r"), 100)
    assert _texts(mem, hits) == {"caroline went home"} and len(hits) == 100


def test_too_few_matches_for_all_common_terms_falls_back_to_any(mem):
    hits = mem.store.keyword.search(["melanie", "caroline"], Filters(resource_id="r"), 100)
    assert len(hits) == 100 and "melanie went home" in _texts(mem, hits)


def test_below_the_threshold_every_term_counts(mem, monkeypatch):
    monkeypatch.setattr(keyword, "COMMON_TERM_MESSAGES", 20_000)
    hits = mem.store.keyword.search(["caroline", "pottery"], Filters(resource_id="r"), 200)
    assert len(hits) == 123
    assert _texts(mem, hits[:3]) == {"caroline joined the pottery class"}
