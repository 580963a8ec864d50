"""Hostile input: every line is stored byte for byte or refused in one line, never half-written."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import db_snapshot, jsonl

# derandomize: CI runs the same examples every time, so a failure is reproducible
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
ids = st.text(min_size=1, max_size=40)
lines = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(ids, json_scalars),
        "content": st.one_of(st.text(max_size=200), json_scalars),
        "thread_id": st.one_of(ids, st.sampled_from(["t/../../x", "t'; DROP TABLE messages;--", "t\x00"])),
        "resource_id": st.one_of(ids, json_scalars),
        "role": st.one_of(
            st.sampled_from(["user", "assistant", "system", "tool", "robot", ""]), json_scalars
        ),
        "created_at": st.one_of(st.sampled_from(["2024-01-01T00:00:00Z", "yesterday", ""]), json_scalars),
        "metadata": json_values,
    },
)


def _fresh(cli):
    cli(
        "import",
        "-",
        "--no-embed",
        input='{"id": "keep", "content": "kept", "thread_id": "k", "resource_id": "k"}\n',
    )


@pytest.mark.both_backends
@SETTINGS
@given(line=lines)
def test_random_import_lines(cli, db_path, line):
    _fresh(cli)
    before = db_snapshot(db_path)
    r = cli("import", "-", "--no-embed", input=json.dumps(line) + "\n")
    assert "Traceback" not in r.err
    if r.code != 0:
        assert r.code in (1, 4) and r.err.count("\n") == 1 and r.err.startswith("memcli: error: line 1")
        assert db_snapshot(db_path) == before
        return
    exported = [json.loads(x) for x in cli("export", "-t", line["thread_id"]).out.splitlines()]
    mine = [m for m in exported if m["id"] == line.get("id", m["id"])][-1]
    assert mine["content"] == line["content"]
    assert mine["metadata"] == (line.get("metadata") or {})


@pytest.mark.both_backends
@SETTINGS
@given(data=st.binary(max_size=300))
def test_random_bytes(cli, db_path, data):
    _fresh(cli)
    before = db_snapshot(db_path)
    r = cli("import", "-", "--no-embed", input=data)
    assert "Traceback" not in r.err
    if r.code != 0:
        assert r.err.count("\n") == 1 and db_snapshot(db_path) == before


@SETTINGS
@given(query=st.text(min_size=1, max_size=60))
def test_random_recall_queries(cli, query):
    _fresh(cli)
    r = cli("recall", "-r", "k", "--mode", "keyword", "--json", "--", query)  # -- : queries may start with -
    assert "Traceback" not in r.err
    if query.strip():
        assert r.code == 0, r.err
        assert isinstance(json.loads(r.out), list)
    else:
        assert r.code == 1


@SETTINGS
@given(thread=ids, resource=ids)
def test_odd_ids_round_trip(cli, thread, resource):
    r = cli("add", "hello", "-t", thread, "-r", resource, "--no-embed", "--json")
    assert "Traceback" not in r.err
    if r.code == 0:
        shown = cli("threads", "show", "--json", "--", thread)  # -- lets ids start with a dash
        assert shown.code == 0 and shown.json()["thread"]["resource_id"] == resource


def test_ten_megabyte_message_is_stored_byte_for_byte(cli, local_model):
    big = ("Ünïcødé line with\ttabs and \\ backslashes " * 250_000)[:10_000_000]
    r = cli("import", "-", input=jsonl([{"id": "big", "content": big, "thread_id": "b", "resource_id": "r"}]))
    assert r.code == 0, r.err
    [m] = [json.loads(x) for x in cli("export", "-t", "b").out.splitlines()]
    assert m["content"] == big


def test_deeply_nested_metadata(cli, db_path):
    _fresh(cli)
    before = db_snapshot(db_path)
    deep = "[" * 5000 + "]" * 5000
    r = cli(
        "import",
        "-",
        "--no-embed",
        input='{"content": "x", "thread_id": "t", "resource_id": "r", "metadata": {"a": ' + deep + "}}\n",
    )
    assert r.code == 1 and r.err.count("\n") == 1 and db_snapshot(db_path) == before


def test_bad_config_file_is_one_line(cli, home, llm_server, monkeypatch):
    monkeypatch.delenv("MEMCLI_MODEL")  # so the model is looked up in the config file
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("model = [unclosed\n")
    r = cli("ask", "hi")
    assert r.code == 2 and r.err.count("\n") == 1 and "config file" in r.err
