"""kill -9 at random points: nothing half-written, and re-running finishes the job."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from fake_llm import reply, slow

TRIALS = 20


def _memcli(*args, env=None, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "memcli", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        **kw,
    )


def _kill_when(proc, ready, timeout=120) -> bool:
    """SIGKILL proc as soon as ready() sees its work under way; True if the kill landed
    while it was still running (mid-work), False if it had already exited."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if ready():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return proc.returncode == -signal.SIGKILL
        time.sleep(0.002)
    proc.wait()
    return False


def _count(db_path, sql) -> int:
    """A read of the file as it is now (stdlib sqlite3: these tables need no extension)."""
    import sqlite3

    if not db_path.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute(sql).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def _check(db_path):
    from memcli.store import Store

    store = Store(db_path)
    try:
        conn = store.conn
        assert store.integrity_check() == "ok"
        conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
        assert store.vectors.orphans() == 0
        return conn.execute("SELECT count(*), count(DISTINCT id) FROM messages").fetchone()[:]
    finally:
        store.close()


@pytest.fixture
def big_file(tmp_path):
    path = tmp_path / "big.jsonl"
    rows = [
        {
            "id": f"m{i}",
            "content": f"message {i} " + "text " * (i % 30),
            "thread_id": f"t{i % 9}",
            "resource_id": "r",
        }
        for i in range(3000)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.slow
def test_killed_imports_leave_whole_batches_and_resume(home, db_path, big_file):
    rng = random.Random(1234)
    landed = 0
    for _ in range(TRIALS):
        if db_path.exists():
            for suffix in ("", "-wal", "-shm"):
                p = db_path.with_name(db_path.name + suffix)
                if p.exists():
                    p.unlink()
        target = 512 * rng.randint(1, 4)  # of 6 batches: the kill lands between two commits
        proc = _memcli("import", str(big_file), "--no-embed")
        landed += _kill_when(proc, lambda t=target: _count(db_path, "SELECT count(*) FROM messages") >= t)
        count, distinct = _check(db_path)
        assert count == distinct and (count % 512 == 0 or count == 3000), count  # whole batches only
        done = _memcli("import", str(big_file), "--no-embed")
        assert done.wait(timeout=120) == 0, done.stderr.read()
        assert _check(db_path) == (3000, 3000)
    assert landed == TRIALS  # every kill hit a running import with work left


@pytest.mark.slow
def test_killed_embedding_backfill_resumes_without_duplicates(home, local_model, db_path, big_file):
    first = _memcli("import", str(big_file), "--no-embed")
    assert first.wait(timeout=120) == 0
    rng = random.Random(99)
    landed = 0
    chunks = "SELECT count(DISTINCT message_rowid) FROM chunks"
    for _ in range(TRIALS):
        start = _count(db_path, chunks)
        if start >= 3000 - 512:
            break  # too little left to kill mid-way; the final run below finishes it
        target = start + rng.randint(1, 256)
        landed += _kill_when(_memcli("embed"), lambda t=target: _count(db_path, chunks) >= t)
        _check(db_path)
        from memcli.store import Store

        store = Store(db_path)
        # every message has all of its chunks or none
        partial = store.conn.execute(
            "SELECT count(*) FROM (SELECT message_rowid, count(*) n, max(seq) m FROM chunks "
            "GROUP BY message_rowid HAVING n != m + 1)"
        ).fetchone()[0]
        store.close()
        assert partial == 0
    assert landed >= 5  # each batch of 256 is one commit: some kills, all mid-run
    done = _memcli("embed")
    assert done.wait(timeout=600) == 0, done.stderr.read()
    from memcli.store import Store

    store = Store(db_path)
    assert store.conn.execute("SELECT count(DISTINCT message_rowid) FROM chunks").fetchone()[0] == 3000
    assert (
        store.conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        == store.conn.execute("SELECT count(*) FROM vec_floats").fetchone()[0]
    )
    store.close()


GOOD = """<observations>
Date: Jan 1, 2024
* 🔴 (10:00) something observed
</observations>
<current-task>t</current-task>
<suggested-response>s</suggested-response>"""


@pytest.mark.slow
def test_killed_observer_runs_observe_each_message_once(home, db_path, llm_server):
    rows = [
        {
            "id": f"o{i}",
            "content": f"fact {i} " + "detail " * 300,
            "thread_id": "t",
            "resource_id": "r",
            "created_at": f"2024-01-01T10:{i:02d}:00Z",
        }
        for i in range(40)
    ]
    importer = _memcli("import", "-", "--no-embed", stdin=subprocess.PIPE)
    importer.communicate("".join(json.dumps(r) + "\n" for r in rows).encode())
    assert importer.returncode == 0
    rng = random.Random(7)
    landed = 0
    generations = "SELECT count(*) FROM observations"
    # through litellm each process pays its import (seconds): fewer rounds of the same path
    trials = 5 if os.environ.get("MEMCLI_LLM_CLIENT") == "litellm" else TRIALS
    for _ in range(trials):
        before = _count(db_path, generations)
        if before >= 1:
            break  # a generation is written: the last run below must observe only the rest
        # the kill lands while the observer waits for the model, before any commit
        llm_server.script([slow(rng.uniform(1.0, 2.0), reply(GOOD)) for _ in range(4)])
        asked = len(llm_server.requests)
        landed += _kill_when(
            _memcli("observe", "-t", "t", "--force"), lambda a=asked: len(llm_server.requests) > a
        )
        assert _count(db_path, generations) == before  # nothing half-written
        _check(db_path)
        llm_server._script.clear()
    assert landed == trials
    # and once between two batches: the first generation is committed, the second is not
    llm_server.script([reply(GOOD)] + [slow(2.0, reply(GOOD)) for _ in range(3)])
    proc = _memcli("observe", "-t", "t", "--force")
    assert _kill_when(proc, lambda: _count(db_path, generations) >= 1)
    assert _count(db_path, generations) == 1
    llm_server._script.clear()
    llm_server.script([reply(GOOD)] * 4)
    done = _memcli("observe", "-t", "t", "--force")
    assert done.wait(timeout=120) == 0, done.stderr.read()
    from memcli.store import Store

    store = Store(db_path)
    history = store.observations.history("thread", "t")
    store.close()
    # the cursor only moves forward, batch by batch, and ends on the last message
    cursors = [h.last_observed_rowid for h in history]
    assert cursors == sorted(set(cursors)) and cursors[-1] == 40
    observed = [h.metadata["messages"] for h in history]
    assert sum(observed) == 40  # every message observed exactly once across all runs
