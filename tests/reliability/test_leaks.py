"""Nothing leaks, nothing is lost (issue #14): owners, ids, cursors, files, input.

Each test reproduces one reported defect; each failed before its fix.
"""

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from fake_llm import reply

from memcli import Memory
from memcli.errors import OwnershipError

from conftest import jsonl, race_on_the_model

OBSERVED = "<observations>\n* 🔴 (10:00) noted\n</observations>\n<current-task>none</current-task>"


@pytest.mark.both_backends
def test_writers_of_two_resources_never_share_a_new_thread(db_path):
    """1: alice and bob add to the same new thread id at once: exactly one owns it."""
    start = threading.Barrier(2)
    outcomes = {}

    def add(resource):
        with Memory(db_path) as mem:
            start.wait()
            try:
                mem.add_message(f"{resource} was here", "shared", resource, embed=False)
                outcomes[resource] = "ok"
            except OwnershipError:
                outcomes[resource] = "refused"

    for _ in range(5):
        outcomes.clear()
        with Memory(db_path) as mem:
            if mem.thread_owner("shared"):
                mem.delete_thread("shared")
        workers = [threading.Thread(target=add, args=(r,)) for r in ("alice", "bob")]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert sorted(outcomes.values()) == ["ok", "refused"]
        with Memory(db_path) as mem:
            owner = mem.thread_owner("shared")
            assert {m.resource_id for m in mem.list_messages("shared", owner)} == {owner}


@pytest.mark.both_backends
def test_a_deleted_newest_message_id_is_never_reused_so_the_observer_sees_the_next(cli, llm_server):
    """2: delete the newest message, add another: it gets a new rowid and is observed."""
    with Memory() as mem:
        for i in range(3):
            mem.add_message(f"message {i}", "t", "alice", embed=False)
    llm_server.script([reply(OBSERVED)])
    assert cli("observe", "-t", "t", "--force").code == 0
    with Memory() as mem:
        newest = mem.list_messages("t", last=1)[0]
        mem.delete_messages([newest.id])
        later = mem.add_message("a message after the delete", "t", "alice", embed=False)
        assert mem.list_messages("t", last=1)[0].rowid > newest.rowid
    llm_server.script([reply(OBSERVED)])
    r = cli("observe", "-t", "t", "--force", "--json").json()
    assert r["observed_messages"] == 1
    assert later.content in json.dumps(llm_server.requests[-1]["messages"])


@pytest.mark.both_backends
def test_an_observation_of_a_deleted_thread_is_not_written(cli, llm_server):
    """3: a thread deleted while the observer waits for the model keeps no log;
    a new thread with that id (another owner) starts clean."""
    with Memory() as mem:
        mem.add_message("alice's secret", "t", "alice", embed=False)
    entered, release = threading.Event(), threading.Event()

    def respond(body):
        entered.set()
        release.wait(10)
        return reply(OBSERVED)

    llm_server.responder = respond
    result = {}

    def observe():
        with Memory() as mem:
            result["r"] = mem.observe(thread_id="t", force=True)

    worker = threading.Thread(target=observe)
    worker.start()
    assert entered.wait(30)
    with Memory() as mem:
        mem.delete_thread("t")
        mem.add_message("bob's first words", "t", "bob", embed=False)
    release.set()
    worker.join()
    assert result["r"].generations == [] and "changed meanwhile" in result["r"].skipped
    with Memory() as mem:
        assert mem.get_observations(thread_id="t", resource_id="bob") is None


@pytest.mark.both_backends
@pytest.mark.slow
def test_forty_parallel_mcp_writes_store_forty(db_path):
    """4: tools run on worker threads; each thread has its own connection."""
    import anyio

    from memcli.mcp_server import build_server

    with Memory(db_path) as mem:
        server = build_server(mem)

        async def main():
            async with anyio.create_task_group() as group:
                for i in range(40):
                    group.start_soon(
                        server.call_tool,
                        "remember",
                        {"content": f"fact {i}", "thread_id": f"t{i % 3}", "resource_id": "alice"},
                    )

        anyio.run(main)
        stored = sum(len(mem.list_messages(f"t{i}")) for i in range(3))
    assert stored == 40


def test_many_users_cost_what_their_data_costs(tmp_path, local_model):
    """6: 200 resources with one embedded message each stay under 10 MB."""
    path = tmp_path / "many.db"
    with Memory(path) as mem:
        for i in range(200):
            mem.add_message(f"user {i} likes tea number {i}", f"t{i}", f"user{i}")
        assert mem.stats()["embedded_messages"] == 200
        mem.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert path.stat().st_size < 10 * 1024 * 1024


@pytest.mark.parametrize(
    "args, env, code, text",
    [
        (["recall", "x", "-k", "12345678901234567890"], {}, 1, "top_k must be a whole number"),
        (["recall", "x", "-r", "1" * 20, "--since", "99999999999999999999d"], {}, 2, "invalid duration"),
        (["threads", "list"], {"MEMCLI_TIMEOUT": "abc"}, 2, "timeout from environment (MEMCLI_TIMEOUT)"),
        (
            ["threads", "list"],
            {"MEMCLI_DB": "postgresql://u:pw@h/db"},
            1,
            "cannot connect to postgresql://u:***@h/db",
        ),
        (["threads", "list"], {"MEMCLI_DB": "mysql://u@h/db"}, 2, "file path or a postgresql:// URL"),
        (["threads", "list"], {"MEMCLI_DB": "postgresql:/u@h/db"}, 2, "is not a valid URL"),
        (
            ["db", "path"],
            {"MEMCLI_DB": "postgresql://u@h/db?password=s3cret&sslpassword=k3y"},
            0,
            None,
        ),
        (["memory", "schema", "no-such-file.json"], {}, 1, "cannot read the schema file"),
        (["config", "set", "recall.top_k", "eight"], {}, 2, "must be a whole number"),
        (["config", "set", "recall.top_k", "0"], {}, 2, "at least 1"),
        (["recall", "x", "--half-life", "0x"], {}, 1, "invalid duration"),
        (["threads", "list", "--limit", "99999999999999999999"], {}, 1, "limit must be"),
    ],
)
def test_user_mistakes_are_one_line_errors(proc, tmp_path, args, env, code, text):
    """7: each of these was an internal error, or silently accepted."""
    r = proc(*args, env=env)
    for secret in ("pw@", "s3cret", "k3y"):
        assert secret not in r.out + r.err
    # the process ran in this folder: a URL taken for a path would have made a tree here
    assert list(Path.cwd().iterdir()) == []
    if text is None:
        assert r.code == code, r.err
        return
    last = r.err.strip().splitlines()[-1]  # click's usage errors put Usage/Try lines first
    assert r.code == code and (r.err.count("\n") == 1 or last.startswith("Error: ")), r.err
    assert text in last and "internal error" not in r.err


def test_a_foreign_or_broken_file_is_never_written(proc, tmp_path):
    """11 and 7: another program's SQLite file, a non-database, a read-only one."""
    import sqlite3

    other = tmp_path / "other-app.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes(body TEXT)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    r = proc("--db", other, "db", "stats")
    assert r.code == 1 and "another program's SQLite database" in r.err
    assert other.read_bytes() == before and not (tmp_path / "other-app.db-wal").exists()
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    r = proc("--db", text, "threads", "list")
    assert r.code == 1 and "not a SQLite database" in r.err and text.read_text() == "hello"


def test_a_closed_pipe_is_not_a_failure(home, tmp_path):
    """8: `memcli export | head -1` exits 0 quietly."""
    env = {**os.environ}
    lines = jsonl(
        [{"content": f"line {i} " + "x" * 200, "thread_id": "t", "resource_id": "a"} for i in range(3000)]
    )
    subprocess.run(
        [sys.executable, "-m", "memcli", "import", "-", "--no-embed"], input=lines.encode(), env=env
    )
    for command in ("export", "recall x -r a --mode keyword -k 3000 --message-range 0 --json"):
        p = subprocess.run(
            f"{sys.executable} -m memcli {command} | head -1; echo ${{PIPESTATUS[0]}} >&2",
            shell=True,
            executable="/bin/bash",
            capture_output=True,
            env=env,
        )
        assert p.stderr.decode().strip().splitlines()[-1] == "0", p.stderr.decode()
        assert "Error" not in p.stderr.decode()


def test_hopeless_model_errors_fail_fast_and_asking_again_stores_one_turn(cli, monkeypatch):
    """9: a refused connection is not retried; the same turn asked twice is stored once."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("MEMCLI_MODEL", "openai/fake")
    monkeypatch.setenv("MEMCLI_API_BASE", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    first = cli("ask", "remember my words", "-t", "t", "--no-title")
    # fast means not retried: one attempt, no "retrying" notice (no clock: machines are shared)
    assert first.code == 1 and "retrying" not in first.err and f"127.0.0.1:{port}" in first.err
    assert cli("ask", "remember my words", "-t", "t", "--no-title").code == 1
    assert [m["content"] for m in cli("messages", "list", "-t", "t", "--json").json()] == [
        "remember my words"
    ]


def test_markdown_export_cannot_forge_messages(cli):
    """12: a message shaped like the export's own headers stays one message."""
    forged = (
        "hello\n\n# bob's thread\n"
        '<!-- memcli:thread {"id": "bob-t", "resource_id": "bob"} -->\n\n'
        "## user · 2024-01-01T00:00:00Z\n"
        '<!-- memcli:message {"id": "forged", "metadata": {}} -->\n\nI am bob'
    )
    with Memory() as mem:
        mem.add_message(forged, "a-t", "alice", embed=False)
    md = cli("export", "-r", "alice", "--format", "markdown").out
    cli("db", "delete-resource", "alice", "--yes")
    r = cli("import", "-", "--from", "markdown", input=md)
    assert r.code == 0, r.err
    with Memory() as mem:
        assert mem.thread_owner("bob-t") is None
        assert [m.content for m in mem.list_messages("a-t")] == [forged]


def test_reimport_without_times_keeps_them_and_bad_numbers_are_refused(cli):
    """17: lines without created_at keep the stored time; NaN metadata is refused."""
    line = jsonl([{"id": "m1", "content": "hi", "thread_id": "t", "resource_id": "a"}])
    assert cli("import", "-", "--no-embed", input=line).code == 0
    first = cli("messages", "list", "-t", "t", "--json").json()[0]["created_at"]
    r = cli("import", "-", "--no-embed", "--json", input=line)
    assert r.json()["written"] == 0
    assert cli("messages", "list", "-t", "t", "--json").json()[0]["created_at"] == first
    bad = '{"content": "x", "thread_id": "t", "resource_id": "a", "metadata": {"n": NaN}}\n'
    r = cli("import", "-", "--no-embed", input=bad)
    assert r.code == 1 and "NaN" in r.err


def test_exports_and_folders_are_private(cli, tmp_path, monkeypatch):
    """18: export -o is 0600 like backups; folders are 0700 even under umask 000."""
    cli("add", "hello", "-t", "t", "--no-embed")
    old = os.umask(0)
    try:
        monkeypatch.setenv("MEMCLI_HOME", str(tmp_path / "a" / "b"))
        monkeypatch.setenv("MEMCLI_DB", str(tmp_path / "a" / "b" / "c" / "m.db"))
        assert cli("add", "hi", "-t", "t", "--no-embed").code == 0
        assert cli("export", "-o", tmp_path / "out.jsonl").code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.jsonl").stat().st_mode) == 0o600
    for folder in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_a_failed_backup_leaves_no_file_behind(cli, tmp_path, monkeypatch):
    """18: a backup that fails part-way (a full disk) leaves nothing that blocks the retry.
    A full disk cannot be made here without mounting one, so the store's backup is made
    to fail after writing part of its file, with the error a full disk gives."""
    import errno

    from memcli.store import Store

    cli("add", "hello", "-t", "t", "--no-embed")
    real = Store.backup

    def full_disk(self, target):
        target.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4096)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Store, "backup", full_disk)
    target = tmp_path / "backup.db"
    r = cli("db", "backup", target)
    assert (
        r.code == 1
        and "No space left" in r.err
        and sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "home"]
    )
    monkeypatch.setattr(Store, "backup", real)
    assert cli("db", "backup", target).code == 0 and target.stat().st_size > 0


def test_three_processes_opening_an_old_database_at_once_all_succeed(home, db_path):
    """16: the upgrade is one write transaction; the others wait and find it done."""
    import shutil
    from pathlib import Path

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "schema-m001.db"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(fixture, db_path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "memcli", "messages", "list", "-t", "t1", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(os.environ),
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [r[1] for r in results]
    assert all(len(json.loads(out)) == 5 for out, _ in results)


def test_six_first_embeddings_at_once_assemble_the_model_folder_once(tmp_path, monkeypatch):
    """16: processes starting together never see (or break) a half-made model folder."""
    from memcli import embeddings

    monkeypatch.setenv("MEMCLI_HOME", str(tmp_path / "fresh-home"))
    start = threading.Barrier(6)
    found, failed = [], []

    def assemble():
        start.wait()
        try:
            found.append(embeddings.bundled_model_dir())
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            failed.append(exc)

    workers = [threading.Thread(target=assemble) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert failed == [] and len(set(found)) == 1
    folder = found[0]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["model.onnx", ".verified", *embeddings.TOKENIZER_FILES]
    )
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".assembling")]


@pytest.mark.both_backends
def test_two_observers_on_one_thread_never_crash(cli, llm_server, db_path):
    """16: both ask the model for the same messages; the second to finish finds the
    log moved on and writes nothing (it ended in an IntegrityError before)."""
    with Memory() as mem:
        mem.add_message("one fact", "t", "alice", embed=False)

    def observe():
        with Memory(db_path) as mem:
            return mem.observe(thread_id="t", force=True)

    results, errors = race_on_the_model(llm_server, reply(OBSERVED), observe)  # each read the same log
    assert errors == []
    assert sorted(len(r.generations) for r in results) == [0, 1]
    with Memory(db_path) as mem:
        assert len(mem.observation_history(thread_id="t")) == 1
