"""`recall --include memories`: facts beside messages in every output format (the
table showed `None None None`, TSV an empty text, and --format context dropped them)."""

import pytest

from conftest import jsonl

pytestmark = pytest.mark.both_backends


@pytest.fixture
def diet(cli):
    rows = [{"content": "I stopped eating meat last year", "thread_id": "t", "resource_id": "alice"}]
    assert cli("import", "-", "--no-embed", input=jsonl(rows)).code == 0
    assert cli("memories", "add", "Is vegetarian", "-r", "alice", "--category", "food").code == 0


def test_memories_appear_in_every_format(cli, diet):
    hits = cli("recall", "vegetarian meat", "-r", "alice", "--include", "memories", "--json").json()
    assert [h["text"] for h in hits if h.get("type") == "memory"] == ["Is vegetarian"]
    tsv = cli("recall", "vegetarian meat", "-r", "alice", "--include", "memories").out
    row = next(line.split("\t") for line in tsv.splitlines() if "Is vegetarian" in line)
    assert row[2:] == ["memory", "food", "Is vegetarian"] and "None" not in tsv
    context = cli(
        "recall", "vegetarian meat", "-r", "alice", "--include", "memories", "--format", "context"
    ).out
    assert "Facts remembered about the user:" in context and "- Is vegetarian" in context
