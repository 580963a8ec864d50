"""Writers of different resources commit in parallel on PostgreSQL; writers of one
resource, and every write that names no resource, still queue (pg/parallel_writes.py).

Each test holds one transaction open on a thread and watches the other writer
through pg_stat_activity (waiting on a lock, or finished): events, not sleeps.
"""

import threading
import time

import pytest

from memcli import Memory
from memcli.errors import OwnershipError

from conftest import sql


@pytest.fixture
def pg(pg_database):
    url, drop = pg_database
    yield url
    drop()


def _note(resource: str, thread: str, i: int = 0) -> dict:
    return {
        "id": f"{resource}-{thread}-{i}",
        "content": f"note {i}",
        "thread_id": thread,
        "resource_id": resource,
    }


class Holder:
    """A write transaction on a thread of its own, open until `release` is set."""

    def __init__(self, mem: Memory, resources, body=lambda: None):
        self.opened, self.release, self.error = threading.Event(), threading.Event(), None
        self.thread = threading.Thread(target=self._run, args=(mem, resources, body))
        self.thread.start()
        assert self.opened.wait(30)

    def _run(self, mem, resources, body):
        try:
            with mem.store.transaction(resources=resources):
                body()
                self.opened.set()
                assert self.release.wait(60)
        except BaseException as exc:  # seen by the test through .error
            self.error = exc
            self.opened.set()

    def finish(self):
        self.release.set()
        self.thread.join(60)
        assert self.error is None, self.error


def _in_background(fn):
    done, box = threading.Event(), {}

    def run():
        try:
            box["result"] = fn()
        except BaseException as exc:
            box["error"] = exc
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done, box


def _lock_waiters(url: str) -> int:
    return sql(url, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")[0][0]


def _wait_for_a_lock_waiter(url: str, done: threading.Event) -> None:
    """Until the other writer is seen waiting on a lock (it must not finish instead)."""
    for _ in range(3000):
        assert not done.is_set(), "the second writer did not wait"
        if _lock_waiters(url):
            return
        time.sleep(0.01)  # polling the server's own view of the wait, not guessing a duration
    raise AssertionError("the second writer never waited on a lock")


def test_a_writer_of_another_resource_commits_while_one_holds_its_lock(pg):
    mem, other = Memory(pg), Memory(pg)
    mem.save_messages([_note("alice", "a1")], embed=False)
    held = Holder(mem, {"alice"}, lambda: mem.store.messages.upsert_many([]))
    done, box = _in_background(lambda: other.save_messages([_note("bob", "b1")], embed=False))
    try:
        assert done.wait(60) and "error" not in box, box  # before alice's transaction ends
        assert sql(pg, "SELECT resource_id FROM messages WHERE thread_id = 'b1'") == [("bob",)]
    finally:
        held.finish()


def test_a_writer_of_the_same_resource_waits_for_the_holder(pg):
    mem, other = Memory(pg), Memory(pg)
    held = Holder(mem, {"alice"})
    done, box = _in_background(lambda: other.save_messages([_note("alice", "a2")], embed=False))
    _wait_for_a_lock_waiter(pg, done)
    held.finish()
    assert done.wait(60) and "error" not in box, box
    assert sql(pg, "SELECT count(*) FROM messages") == [(1,)]


def test_a_write_naming_no_resource_waits_for_every_resource_writer(pg):
    """Deleting a resource (an exclusive write) waits for another resource's open write."""
    mem, other = Memory(pg), Memory(pg)
    mem.save_messages([_note("carol", "c1")], embed=False)
    held = Holder(mem, {"bob"})
    done, box = _in_background(lambda: other.delete_resource("carol"))
    _wait_for_a_lock_waiter(pg, done)
    held.finish()
    assert done.wait(60) and "error" not in box, box


def test_two_resources_creating_one_thread_id_at_once_never_share_it(pg):
    """alice's writer has created thread t (not yet committed) when bob's writes to t:
    bob's insert waits on the unique key, then finds alice's thread and is refused."""
    from memcli.records import Thread

    mem, other = Memory(pg), Memory(pg)
    held = Holder(mem, {"alice"}, lambda: mem.store.threads.claim(Thread(id="t", resource_id="alice")))
    done, box = _in_background(lambda: other.save_messages([_note("bob", "t")], embed=False))
    _wait_for_a_lock_waiter(pg, done)
    held.finish()
    assert done.wait(60)
    assert isinstance(box.get("error"), OwnershipError), box
    assert sql(pg, "SELECT id, resource_id FROM threads") == [("t", "alice")]
    assert sql(pg, "SELECT count(*) FROM messages") == [(0,)]


def test_rowids_stay_unique_and_grow_within_each_thread_under_parallel_writers(pg):
    """Eight writers, each its own resource, 25 batches each: no rowid is given twice, and
    each thread's rowids grow in the order its messages were written."""

    def writer(r: int) -> None:
        mem = Memory(pg)
        for b in range(25):
            mem.save_messages([_note(f"r{r}", f"t{r}", b * 4 + i) for i in range(4)], embed=False)

    threads = [threading.Thread(target=writer, args=(r,)) for r in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    rows = sql(pg, "SELECT thread_id, id, rowid FROM messages ORDER BY rowid")
    assert len(rows) == 800 and len({r[2] for r in rows}) == 800
    for r in range(8):
        ids = [row[1] for row in rows if row[0] == f"t{r}"]
        assert ids == [f"r{r}-t{r}-{i}" for i in range(100)]
    # the BM25 statistics are still exact per resource
    kept = sql(pg, "SELECT resource_id, docs FROM keyword_totals ORDER BY 1")
    assert kept == sql(pg, "SELECT resource_id, count(*) FROM messages GROUP BY 1 ORDER BY 1")
