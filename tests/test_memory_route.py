"""Hybrid recall also reaches messages through the facts memories that cite them
(memcli/recall_routes.py), and only ever the resource's own messages."""

import json

import pytest

from memcli import Memory

pytestmark = pytest.mark.usefixtures("no_model")

TURNS = [
    {
        "id": "shelter",
        "content": "We brought Rex home from the shelter today!",
        "thread_id": "t",
        "resource_id": "r",
    },
    {"id": "walk", "content": "The park was muddy after the rain", "thread_id": "t", "resource_id": "r"},
    {"id": "budget", "content": "I need a budget for the new kitchen", "thread_id": "u", "resource_id": "r"},
    {"id": "cat", "content": "My neighbour's dog barks all night", "thread_id": "u", "resource_id": "r"},
    {"id": "theirs", "content": "Our dog Bella turned five", "thread_id": "x", "resource_id": "s"},
]


def _memory(db_path) -> Memory:
    mem = Memory(db_path)
    mem.import_stream(__import__("io").BytesIO("".join(json.dumps(t) + "\n" for t in TURNS).encode()))
    mem.add_memory("Alice adopted a dog named Rex", resource_id="r", sources=["shelter"])
    return mem


def _ids(result) -> list[str]:
    return [h.message.id for h in result.hits]


def test_a_message_is_found_through_the_memory_that_cites_it(db_path):
    with _memory(db_path) as mem:
        routed = mem.recall(
            "which dog did alice adopt", resource_id="r", top_k=2, message_range=0, explain=True
        )
        plain = mem.recall(
            "which dog did alice adopt", resource_id="r", top_k=2, message_range=0, memory_route=False
        )
    # the turn shares no word with the question: only the memory leads to it
    assert "shelter" not in _ids(plain)
    found = {h.message.id: h for h in routed.hits}
    assert "shelter" in found and found["shelter"].explain["memory"] > 0


def test_the_route_never_leads_to_another_resources_message(db_path):
    with _memory(db_path) as mem:
        # a memory row that names another resource's message (written behind memcli's back)
        mem.store.conn.execute(
            "INSERT INTO memory_sources(version_id, message_id, thread_id) "
            "SELECT v.id, 'theirs', 'x' FROM memory_versions v"
        )
        mem.store.conn.commit()
        hits = mem.recall("which dog did alice adopt", resource_id="r", top_k=10, message_range=0)
    assert "theirs" not in _ids(hits) and "shelter" in _ids(hits)


def test_cli_can_leave_the_route_out(cli, db_path):
    _memory(db_path).close()
    ask = ["recall", "which dog did alice adopt", "-r", "r", "-k", "2", "--message-range", "0", "--json"]
    on, off = cli(*ask), cli(*ask, "--no-memory-route")
    assert on.code == off.code == 0, on.err + off.err
    assert "shelter" in [h["id"] for h in json.loads(on.out)]
    assert "shelter" not in [h["id"] for h in json.loads(off.out)]
