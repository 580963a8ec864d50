"""Recall scoped to a resource never returns another resource's messages (property test)."""

import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import jsonl

pytestmark = pytest.mark.both_backends

words = st.sampled_from(["lisbon", "porto", "cat", "train", "dagster", "peanut", "sister", "flat", "job"])


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["alice", "bob", "carol"]), st.lists(words, min_size=1, max_size=6)),
        min_size=1,
        max_size=30,
    ),
    query=st.lists(words, min_size=1, max_size=3),
    who=st.sampled_from(["alice", "bob", "carol"]),
    scope_range=st.integers(0, 3),
)
def test_recall_stays_inside_the_resource(cli, rows, query, who, scope_range):
    lines = [
        {"content": " ".join(ws), "thread_id": f"{owner}-t{i % 3}", "resource_id": owner}
        for i, (owner, ws) in enumerate(rows)
    ]
    assert cli("import", "-", "--no-embed", input=jsonl(lines)).code == 0
    hits = cli(
        "recall",
        " ".join(query),
        "-r",
        who,
        "--mode",
        "keyword",
        "-k",
        "50",
        "--message-range",
        str(scope_range),
        "--json",
    ).json()
    assert all(h["resource_id"] == who for h in hits)
    assert all(h["thread_id"].startswith(f"{who}-") for h in hits)
