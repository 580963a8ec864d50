"""memcli add and memcli messages list|delete: windows by count, tokens and time."""

import pytest  # noqa: E402

from conftest import jsonl, sql

pytestmark = pytest.mark.both_backends


def _thread_of(cli, n=10):
    rows = [
        {
            "id": f"m{i}",
            "thread_id": "t",
            "resource_id": "alice",
            "role": "user" if i % 2 else "assistant",
            "content": f"message number {i} " + "word " * i,
            "created_at": f"2024-01-{i + 1:02d}T10:00:00Z",
        }
        for i in range(n)
    ]
    assert cli("import", "-", "--no-embed", input=jsonl(rows)).code == 0
    return rows


def test_add_from_argument_and_stdin(cli):
    assert cli("add", "first", "-t", "t", "-r", "alice", "--no-embed").code == 0
    r = cli("add", "-t", "t", "--role", "assistant", "--meta", "k=v", "--no-embed", "--json", input="piped\n")
    assert r.code == 0
    added = r.json()
    assert added["content"] == "piped" and added["role"] == "assistant" and added["metadata"] == {"k": "v"}
    assert added["resource_id"] == "alice"  # the thread's owner
    listed = cli("messages", "list", "-t", "t", "--json").json()
    assert [m["content"] for m in listed] == ["first", "piped"]
    assert all(m["token_count"] > 0 for m in listed)


def test_add_rejects_empty_and_bad_role(cli, db_path):
    r = cli("add", "   ", "-t", "t", "--no-embed")
    assert r.code == 1 and r.err.strip() == "memcli: error: content is empty"
    r = cli("add", "x", "-t", "t", "--role", "robot", "--no-embed")
    assert r.code == 2 and "--role" in r.err


def test_last_n_is_chronological(cli):
    _thread_of(cli)
    last = cli("messages", "list", "-t", "t", "--last", "3", "--json").json()
    assert [m["id"] for m in last] == ["m7", "m8", "m9"]


def test_max_tokens_keeps_newest_that_fit(cli):
    _thread_of(cli)
    everything = cli("messages", "list", "-t", "t", "--json").json()
    budget = sum(m["token_count"] for m in everything[-3:])
    window = cli("messages", "list", "-t", "t", "--max-tokens", str(budget), "--json").json()
    assert [m["id"] for m in window] == ["m7", "m8", "m9"]
    window = cli("messages", "list", "-t", "t", "--max-tokens", str(budget - 1), "--json").json()
    assert [m["id"] for m in window] == ["m8", "m9"]


def test_since_until(cli):
    _thread_of(cli)
    r = cli(
        "messages", "list", "-t", "t", "--since", "2024-01-03", "--until", "2024-01-05T23:00:00Z", "--json"
    )
    assert [m["id"] for m in r.json()] == ["m2", "m3", "m4"]


def test_delete_messages(cli):
    _thread_of(cli, 3)
    assert cli("messages", "delete", "m0", "m1").code == 0
    assert [m["id"] for m in cli("messages", "list", "-t", "t", "--json").json()] == ["m2"]
    r = cli("messages", "delete", "nope")
    assert r.code == 3 and "no message with id nope" in r.err


def test_tsv_output_escapes_newlines(cli):
    cli("add", "line one\nline two", "-t", "t", "--no-embed")
    out = cli("messages", "list", "-t", "t").out.splitlines()
    assert len(out) == 1 and out[0].endswith("line one\\nline two")


def test_add_leaves_the_vector_to_the_next_model_load_and_stays_findable(cli, local_model, db_path):
    """#17: `memcli add` no longer loads the embedding model (1.3 s) for one message, and a
    vector recall right after it still finds the message by meaning."""
    import subprocess
    import sys

    probe = (
        "import sys\nfrom memcli.cli.main import main\n"
        "sys.argv = ['memcli', 'add', 'Our cat Miso loves the balcony', '-t', 'pets', '-r', 'alice']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert not {"fastembed", "onnxruntime"} & {m.split(".")[0] for m in done.stderr.split()}
    assert sql(db_path, "SELECT count(*) FROM pending_embeddings") == [(1,)]
    hits = cli("recall", "feline pet", "-r", "alice", "--mode", "vector", "-k", "1", "--json").json()
    assert hits[0]["content"] == "Our cat Miso loves the balcony"
    assert sql(db_path, "SELECT count(*) FROM pending_embeddings") == [(0,)]
    assert cli("add", "not embedded", "-t", "pets", "-r", "alice", "--no-embed").code == 0
    assert sql(db_path, "SELECT count(*) FROM pending_embeddings") == [(0,)]
