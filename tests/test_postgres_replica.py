"""A read replica (MEMCLI_DB_READ): reads from it, writes and this process's own writes
from the primary; a replica that is behind, unreachable or of another database never
gives a wrong answer. A real streaming replica started by the tests."""

import os
import subprocess
import sys
import time

import pytest

from memcli import Memory
from memcli.settings import Settings

from conftest import sql
from pg_cluster import on, start_primary_and_replica

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("MEMCLI_TEST_PG_URL")), reason="needs servers the tests start themselves"
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, pg_server):  # pg_server: the PostgreSQL half is not skipped here
    primary, replica = start_primary_and_replica(tmp_path_factory.mktemp("cluster"))
    yield primary.get_uri(), replica.get_uri()
    replica.cleanup()
    primary.cleanup()


_names = iter(range(1, 1000))


@pytest.fixture
def urls(cluster):
    """(primary URL, replica URL) of a new database, already on the replica."""
    primary, replica = cluster
    name = f"replica_test_{next(_names)}"
    sql(primary, f"CREATE DATABASE {name}")
    Memory(on(primary, name)).close()  # the schema
    _until_replayed(on(primary, name), on(replica, name))
    return on(primary, name), on(replica, name)


def _until_replayed(primary: str, replica: str) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    target = sql(primary, "SELECT pg_current_wal_lsn()::text")[0][0]
    for _ in range(2000):
        try:
            if sql(replica, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")[0][0]:
                return
        except Exception:  # the database may not be there yet
            pass
        time.sleep(0.01)  # polling the replica's own replay position
    raise AssertionError("the replica did not catch up")


def _pause(replica: str, paused: bool) -> None:
    sql(replica, "SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")
    want = "paused" if paused else "not paused"
    for _ in range(2000):
        if sql(replica, "SELECT pg_get_wal_replay_pause_state()")[0][0] == want:
            return
        time.sleep(0.01)
    raise AssertionError(f"replay never became {want}")


def _note(mid: str) -> dict:
    return {"id": mid, "content": f"note {mid}", "thread_id": "t", "resource_id": "r"}


def _listed(mem: Memory) -> list[str]:
    return [m.id for m in mem.list_messages("t", "r")]


def test_reads_go_to_the_replica_and_own_writes_to_the_primary(urls):
    primary, replica = urls
    mem = Memory(primary, settings=Settings(db_read=replica))
    other = Memory(primary)
    other.save_messages([_note("first")], embed=False)
    _until_replayed(primary, replica)
    _pause(replica, True)
    try:
        other.save_messages([_note("unseen")], embed=False)
        # this process wrote nothing: its reads are the replica's, paused before "unseen"
        assert _listed(mem) == ["first"]
        mem.save_messages([_note("mine")], embed=False)
        # it wrote: until the replica has replayed that, the primary answers
        assert _listed(mem) == ["first", "unseen", "mine"]
    finally:
        _pause(replica, False)
    _until_replayed(primary, replica)
    assert _listed(mem) == ["first", "unseen", "mine"]
    _pause(replica, True)
    try:
        other.save_messages([_note("later")], embed=False)
        assert _listed(mem) == ["first", "unseen", "mine"]  # caught up: the replica again
    finally:
        _pause(replica, False)
    checks = {name: (ok, detail) for name, ok, detail in mem.store.health()}
    assert checks["replica"][0] and "reads from the replica" in checks["replica"][1]


def test_a_replica_of_another_database_is_not_used(urls, cluster):
    """Another memcli database on the replica server (same schema, other data)."""
    primary, _ = urls
    name = f"replica_test_{next(_names)}"
    sql(cluster[0], f"CREATE DATABASE {name}")
    Memory(on(cluster[0], name)).close()
    _until_replayed(on(cluster[0], name), on(cluster[1], name))
    mem = Memory(primary, settings=Settings(db_read=on(cluster[1], name)))
    mem.save_messages([_note("one")], embed=False)
    assert _listed(mem) == ["one"]
    ok, detail = {n: (o, d) for n, o, d in mem.store.health()}["replica"]
    assert not ok and "not a replica of this database" in detail


def test_an_unreachable_replica_leaves_reads_on_the_primary_and_doctor_says_so(urls, tmp_path):
    primary, _ = urls
    gone = f"postgresql://postgres@/nowhere?host={tmp_path}"
    env = dict(os.environ, MEMCLI_DB=primary, MEMCLI_DB_READ=gone)
    add = [sys.executable, "-m", "memcli", "add", "hello", "-t", "t", "-r", "r", "--no-embed"]
    assert subprocess.run(add, env=env).returncode == 0
    r = subprocess.run(
        [sys.executable, "-m", "memcli", "threads", "list", "-r", "r", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and '"t"' in r.stdout, r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "memcli", "db", "doctor"], env=env, capture_output=True, text=True
    )
    assert r.returncode == 1 and "replica" in r.stdout + r.stderr


def test_a_replica_for_a_sqlite_file_is_one_line(tmp_path):
    env = dict(os.environ, MEMCLI_DB=str(tmp_path / "m.db"), MEMCLI_DB_READ="postgresql://u@h/db")
    r = subprocess.run(
        [sys.executable, "-m", "memcli", "threads", "list"], env=env, capture_output=True, text=True
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "MEMCLI_DB_READ" in r.stderr, r.stderr
