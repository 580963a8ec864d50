"""Recall ranks real matches first (#19): the rule, its property, and --explain."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memcli import Memory

WORDS = ["lisbon", "porto", "train", "cello", "garden", "violin", "harbor", "museum", "coffee", "bridge"]
FILLER = ["we", "talked", "about", "the", "plan", "today", "and", "later", "then", "again"]


def test_a_neighbour_share_never_lifts_a_turn_above_a_real_match(cli):
    """The README's example: the weakest real match kept 0.0 and a turn with no
    'vegetarian' outranked it through its neighbour's share."""
    with Memory() as mem:
        for text in (
            "Book the 9:00 train",
            "Marta is vegetarian",
            "Yes, the Alfa Pendular. Marta is vegetarian, so we need the dining car menu first.",
            "Sure, I will check the menus.",
            "In Porto, try Da Terra for a vegetarian buffet near the river, it is popular with locals.",
        ):
            mem.add_message(text, "trip", "alice", embed=False)
    hits = cli(
        "recall",
        "vegetarian",
        "-r",
        "alice",
        "--mode",
        "keyword",
        "-k",
        "6",
        "--message-range",
        "0",
        "--json",
        "--explain",
    ).json()
    with_word = [h for h in hits if "vegetarian" in h["content"]]
    assert [h["content"] for h in hits[: len(with_word)]] == [h["content"] for h in with_word]
    assert all(h["score"] > 0 for h in with_word)  # the weakest real match keeps its strength
    assert {"keyword", "bm25", "vector", "neighbour", "decay"} <= set(hits[0]["explain"])
    # --threshold no longer drops real matches first
    kept = cli(
        "recall",
        "vegetarian",
        "-r",
        "alice",
        "--mode",
        "keyword",
        "--threshold",
        "0.2",
        "--message-range",
        "0",
        "--json",
    ).json()
    assert len([h for h in kept if "vegetarian" in h["content"]]) == 3


def _check_property(hits: list[dict], query_words: list[str]) -> None:
    """A turn without all the query's words ranks above one with them only on its own score."""

    def complete(h):
        text = h["content"].lower().split()
        return all(w in text for w in query_words)

    for i, above in enumerate(hits):
        if complete(above):
            continue
        own = above["score"] - above["explain"]["neighbour"]
        for below in hits[i + 1 :]:
            if complete(below):
                assert own >= below["score"] - 1e-6, (above, below)


conversation = st.lists(
    st.lists(st.sampled_from(WORDS + FILLER), min_size=3, max_size=9).map(" ".join),
    min_size=4,
    max_size=14,
)
query = st.lists(st.sampled_from(WORDS), min_size=1, max_size=2, unique=True)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(turns=conversation, words=query)
def test_property_keyword_mode(tmp_path_factory, turns, words):
    path = tmp_path_factory.mktemp("rank") / "k.db"
    with Memory(path) as mem:
        mem.save_messages([{"content": t, "thread_id": "t", "resource_id": "r"} for t in turns], embed=False)
        result = mem.recall(
            " ".join(words), resource_id="r", mode="keyword", top_k=50, message_range=0, explain=True
        )
    _check_property([h.to_dict() for h in result.hits], words)


@pytest.fixture(scope="module")
def embedder(model_dir):
    import os

    os.environ["MEMCLI_EMBEDDING_MODEL"] = "sentence-transformers/all-MiniLM-L6-v2"
    os.environ["MEMCLI_EMBEDDING_MODEL_PATH"] = str(model_dir)
    from memcli import embeddings

    try:
        yield embeddings.load()
    finally:
        del os.environ["MEMCLI_EMBEDDING_MODEL"], os.environ["MEMCLI_EMBEDDING_MODEL_PATH"]


@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(turns=conversation, words=query)
def test_property_hybrid_mode(tmp_path_factory, embedder, turns, words):
    path = tmp_path_factory.mktemp("rank") / "h.db"
    with Memory(path, embedder=embedder) as mem:
        mem.save_messages([{"content": t, "thread_id": "t", "resource_id": "r"} for t in turns])
        result = mem.recall(" ".join(words), resource_id="r", top_k=50, message_range=0, explain=True)
        assert result.mode == "hybrid"
    _check_property([h.to_dict() for h in result.hits], words)


def test_a_match_lends_its_neighbours_and_the_turns_two_away_a_share(cli):
    """0.3 of a turn's score to the turns beside it, 0.2 to those two away, none further."""
    with Memory() as mem:
        for text in ("one two", "three four", "the cello concert", "five six", "seven eight", "nine ten"):
            mem.add_message(text, "t", "alice", embed=False)
    hits = cli(
        "recall",
        "cello",
        "-r",
        "alice",
        "--mode",
        "keyword",
        "-k",
        "9",
        "--message-range",
        "0",
        "--json",
        "--explain",
    ).json()
    shares = {h["content"]: round(h["explain"]["neighbour"], 6) for h in hits}
    assert hits[0]["content"] == "the cello concert"
    assert shares == {
        "the cello concert": 0.0,
        "three four": 0.3,
        "five six": 0.3,
        "one two": 0.2,
        "seven eight": 0.2,
    }
