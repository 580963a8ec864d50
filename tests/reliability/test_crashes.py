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


def _kill_after(proc, seconds):
    time.sleep(seconds)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()


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


def test_killed_imports_leave_whole_batches_and_resume(home, db_path, big_file):
    rng = random.Random(1234)
    for _ in range(TRIALS):
        if db_path.exists():
            for suffix in ("", "-wal", "-shm"):
                p = db_path.with_name(db_path.name + suffix)
                if p.exists():
                    p.unlink()
        _kill_after(_memcli("import", str(big_file), "--no-embed"), rng.uniform(0.3, 2.5))
        count, distinct = _check(db_path)
        assert count == distinct and (count % 512 == 0 or count == 3000), count  # whole batches only
        done = _memcli("import", str(big_file), "--no-embed")
        assert done.wait(timeout=120) == 0, done.stderr.read()
        assert _check(db_path) == (3000, 3000)


def test_killed_embedding_backfill_resumes_without_duplicates(home, local_model, db_path, big_file):
    first = _memcli("import", str(big_file), "--no-embed")
    assert first.wait(timeout=120) == 0
    rng = random.Random(99)
    for _ in range(TRIALS):
        _kill_after(_memcli("embed"), rng.uniform(1.0, 4.0))
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
    for _ in range(TRIALS):
        llm_server.script([slow(rng.uniform(0, 0.5), reply(GOOD)) for _ in range(4)])
        _kill_after(_memcli("observe", "-t", "t", "--force"), rng.uniform(3.0, 7.0))
        _check(db_path)
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
