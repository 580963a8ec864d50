"""Semantic recall on the real model (int8 all-MiniLM-L6-v2 from PyPI) and sqlite-vec."""

import json

import pytest

from conftest import EXAMPLE, jsonl, sql

pytestmark = pytest.mark.both_backends

CONTRACT_KEYS = {"id", "thread_id", "resource_id", "role", "content", "created_at", "score", "metadata"}


@pytest.fixture
def example(cli, local_model):
    r = cli("import", str(EXAMPLE))
    assert r.code == 0, r.err
    return r


def test_vector_recall_finds_meaning_not_words(cli, example):
    hits = cli(
        "recall",
        "which city did the user relocate to",
        "-r",
        "alice",
        "--mode",
        "vector",
        "--message-range",
        "0",
        "-k",
        "3",
        "--json",
    ).json()
    assert "Lisbon" in " ".join(h["content"] for h in hits)


def test_json_contract(cli, example):
    hits = cli("recall", "peanut allergy", "-r", "alice", "--message-range", "0", "--json").json()
    assert hits and set(hits[0]) == CONTRACT_KEYS
    assert "peanut" in hits[0]["content"]
    assert hits[0]["metadata"] == {"source": "example"}
    assert hits[0]["created_at"].endswith("Z")
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1


def test_scope_thread_vs_resource(cli, example):
    everywhere = cli("recall", "Lisbon", "-r", "alice", "-k", "10", "--message-range", "0", "--json").json()
    assert len({h["thread_id"] for h in everywhere}) > 1
    one = cli(
        "recall",
        "Lisbon",
        "-r",
        "alice",
        "-t",
        "t-2024-05-20-work",
        "--scope",
        "thread",
        "-k",
        "10",
        "--message-range",
        "0",
        "--json",
    ).json()
    assert one and {h["thread_id"] for h in one} == {"t-2024-05-20-work"}


def test_other_resources_never_leak(cli, example):
    cli("add", "Bob lives in Lisbon too", "-t", "bob-1", "-r", "bob")
    hits = cli("recall", "Lisbon", "-r", "alice", "-k", "20", "--json").json()
    assert hits and all(h["resource_id"] == "alice" for h in hits)


def test_message_range_adds_marked_neighbours_once(cli, example):
    hits = cli("recall", "peanut allergy", "-r", "alice", "-k", "1", "--message-range", "1", "--json").json()
    primary = [h for h in hits if not h.get("context")]
    context = [h for h in hits if h.get("context")]
    assert len(primary) == 1 and hits[0] == primary[0]
    assert 1 <= len(context) <= 2 and all(
        h["context_of"] == primary[0]["id"] and h["score"] is None for h in context
    )
    assert len({h["id"] for h in hits}) == len(hits)
    wide = cli("recall", "peanut allergy", "-r", "alice", "-k", "4", "--message-range", "2", "--json").json()
    assert len({h["id"] for h in wide}) == len(wide)


def test_threshold(cli, example):
    all_hits = cli(
        "recall", "Dagster migration", "-r", "alice", "-k", "10", "--message-range", "0", "--json"
    ).json()
    cut = all_hits[2]["score"]
    kept = cli(
        "recall",
        "Dagster migration",
        "-r",
        "alice",
        "-k",
        "10",
        "--message-range",
        "0",
        "--threshold",
        str(cut),
        "--json",
    ).json()
    assert kept and all(h["score"] >= cut for h in kept) and len(kept) < len(all_hits)


def test_role_and_date_filters(cli, example):
    hits = cli(
        "recall", "Lisbon", "-r", "alice", "--role", "assistant", "-k", "10", "--message-range", "0", "--json"
    ).json()
    assert hits and {h["role"] for h in hits} == {"assistant"}
    hits = cli(
        "recall",
        "Lisbon",
        "-r",
        "alice",
        "--since",
        "2024-08-01",
        "-k",
        "10",
        "--message-range",
        "0",
        "--json",
    ).json()
    assert hits and all(h["created_at"] >= "2024-08-01" for h in hits)


def test_batch_answers_in_order(cli, example):
    queries = ["peanut", "Joana dashboard", "vegetarian restaurant", "cat pet passport"]
    batch = jsonl({"query": q, "resource_id": "alice", "top_k": 2} for q in queries)
    out = cli("recall", "--batch", "-", "--message-range", "0", "--json", input=batch).lines()
    assert [o["query"] for o in out] == queries
    assert all(len(o["hits"]) == 2 for o in out)
    assert "Joana" in out[1]["hits"][0]["content"]


def test_batch_bad_line(cli, example):
    r = cli("recall", "--batch", "-", input='{"query": "ok"}\n{"nope": 1}\n')
    assert r.code == 1 and "batch line 2" in r.err and r.out == ""


@pytest.mark.parametrize(
    "query", ['"', "NEAR(", "*", "-", "a OR", "col:x", "^", "'); DROP TABLE messages;--"]
)
def test_fts_syntax_in_queries_is_harmless(cli, example, query):
    # `recall -` reads the query from stdin (like add and ask), so "-" arrives that way
    r = cli("recall", query, "-r", "alice", "--json", input=query + "\n")
    assert r.code == 0, r.err
    assert isinstance(r.json(), list)


def test_context_format(cli, example):
    out = cli("recall", "peanut allergy", "-r", "alice", "-k", "2", "--format", "context").out
    assert out.startswith("Memories relevant to: peanut allergy")
    assert "From conversation t-2024-08-11-trip" in out and "] user: Thanks. I'm allergic to peanuts" in out


def test_keyword_recall_without_a_model(cli, no_model):
    r = cli("import", str(EXAMPLE))
    assert r.code == 0
    assert "semantic recall is off" in r.err and "MEMCLI_EMBEDDING_MODEL" in r.err
    r = cli("recall", "peanuts", "-r", "alice", "--message-range", "0", "--json")
    assert r.code == 0 and "peanut" in r.json()[0]["content"]
    assert "run `memcli embed`" in r.err


def test_backfill_after_no_embed(cli, local_model):
    assert cli("import", str(EXAMPLE), "--no-embed").code == 0
    status = cli("models", "status", "--json").json()
    assert status["missing_messages"] == 22 and status["present"]
    r = cli("embed", "--json")
    assert r.code == 0 and r.json()["embedded"] == 22
    assert cli("models", "status", "--json").json()["missing_messages"] == 0
    hits = cli("recall", "relocate city", "-r", "alice", "--mode", "vector", "-k", "3", "--json").json()
    assert hits


def test_model_change_is_detected_and_rebuild_fixes_it(cli, example, db_path):
    sql(db_path, "UPDATE settings SET value = 'some/other-model' WHERE key = 'embedding_model'")
    r = cli("recall", "Lisbon", "-r", "alice", "--json")
    assert r.code == 0 and "made with some/other-model" in r.err and "embed --rebuild" in r.err
    status = cli("models", "status", "--json").json()
    assert status["mismatch"] is True
    r = cli("embed", "--rebuild", "--json")
    assert r.code == 0 and r.json()["embedded"] == 22
    r = cli("recall", "Lisbon", "-r", "alice", "--json")
    assert r.code == 0 and r.err == ""


def test_deletes_leave_no_orphan_vectors(cli, example, db_path):
    from memcli.store import open_store

    store = open_store(db_path)
    vec_rows = lambda: store.conn.execute("SELECT count(*) FROM vec_floats").fetchone()[0]  # noqa: E731
    assert vec_rows() == 22
    store.close()
    cli("messages", "delete", "ex-001", "ex-002")
    cli("threads", "delete", "t-2024-08-11-trip", "--yes")
    store = open_store(db_path)
    assert vec_rows() == 22 - 2 - 8
    assert store.vectors.orphans() == 0
    store.close()


def test_identical_content_is_embedded_once(local_model, db_path):
    from memcli import Memory, embeddings

    real = embeddings.load()
    seen: list[str] = []

    class Counting:
        name, dim = real.name, real.dim

        def embed(self, texts):
            seen.extend(texts)
            return real.embed(texts)

    mem = Memory(db_path, embedder=Counting())
    rows = [{"content": "same words", "thread_id": f"t{i}", "resource_id": "r"} for i in range(5)]
    mem.save_messages(rows)
    mem.save_messages([{"content": "same words", "thread_id": "t9", "resource_id": "r"}])
    assert seen == ["same words"]
    assert mem.stats()["embedded_messages"] == 6


def test_long_messages_are_chunked_and_found_by_their_end(local_model, db_path):
    from memcli import Memory

    mem = Memory(db_path)
    filler = " ".join(f"The weather on day {i} was mild and uneventful." for i in range(120))
    text = filler + " Finally, the secret launch code word is periwinkle elephant."
    mem.add_message(text, thread_id="long", resource_id="r")
    mem.add_message("Short note about lunch.", thread_id="long", resource_id="r")
    assert mem.stats()["chunks"] > 3
    res = mem.recall(
        "secret launch code periwinkle elephant", resource_id="r", mode="vector", top_k=1, message_range=0
    )
    assert res.hits[0].message.content == text


def test_recall_unknown_thread(cli, example):
    r = cli("recall", "x", "-t", "nope", "--scope", "thread")
    assert r.code == 3


def test_half_life_prefers_recent(cli, local_model):
    rows = [
        {
            "content": "I love hiking in the mountains",
            "thread_id": "old",
            "resource_id": "r",
            "created_at": "2015-01-01T00:00:00Z",
        },
        {
            "content": "I love hiking in the mountains!",
            "thread_id": "new",
            "resource_id": "r",
            "created_at": "2026-01-01T00:00:00Z",
        },
    ]
    cli("import", "-", input=jsonl(rows))
    plain = cli("recall", "hiking mountains", "-r", "r", "--message-range", "0", "--json").json()
    decayed = cli(
        "recall", "hiking mountains", "-r", "r", "--message-range", "0", "--half-life", "90d", "--json"
    ).json()
    assert decayed[0]["thread_id"] == "new"
    assert decayed[-1]["score"] < plain[-1]["score"] or plain[0]["thread_id"] == "new"
    assert json.dumps(decayed)
