"""The vector search path: int8 codes, packed sign-bit segments, exact tail.

Vectors here are synthetic (clusters in 384 dims, seeded) and written through
the store with the real sqlite-vec extension, so a few thousand of them take
a second instead of minutes of embedding; the model is not what is tested.
"""

import io
import json

import numpy as np
import pytest

from memcli import Memory
from memcli.records import Filters
from memcli.store import Store
from memcli.store import vector_search as vectors_module
from memcli.store.vectors import SEGMENT, ChunkVector

DIM = 384


def _vectors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, DIM)).astype(np.float32)
    v = centres[rng.integers(0, 40, n)] + rng.normal(0, 0.6, (n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _fill(path, per_resource: dict[str, int], seed: int = 1) -> tuple[Memory, dict]:
    """Messages without vectors (import), then one synthetic vector each."""
    mem = Memory(path)
    lines = []
    for resource, n in per_resource.items():
        lines += [
            {
                "id": f"{resource}-{i}",
                "resource_id": resource,
                "thread_id": f"{resource}-t{i // 500}",
                "role": "user",
                "content": f"message {i} of {resource}",
            }
            for i in range(n)
        ]
    mem.import_stream(io.BytesIO("".join(json.dumps(x) + "\n" for x in lines).encode()), embed=False)
    rows = mem.store.conn.execute("SELECT rowid, resource_id FROM messages ORDER BY rowid").fetchall()
    matrix = _vectors(len(rows), seed)
    with mem.store.transaction():
        mem.store.vectors.ensure("synthetic", DIM)
        mem.store.vectors.add(
            [ChunkVector(r[0], 0, f"h{r[0]}", r[1], v.tobytes()) for r, v in zip(rows, matrix)]
        )
    truth = {int(r[0]): (r[1], v) for r, v in zip(rows, matrix)}
    return mem, truth


def _exact(truth: dict, query: np.ndarray, resource: str, k: int) -> list[int]:
    rowids = [r for r, (res, _) in truth.items() if res == resource]
    sims = np.array([truth[r][1] @ query for r in rowids])
    return [rowids[i] for i in np.argsort(-sims)[:k]]


def _queries(truth: dict, resource: str, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    own = [v for res, v in truth.values() if res == resource]
    out = []
    for i in rng.choice(len(own), n, replace=False):
        # a paraphrase: noise about a third the length of the unit vector
        q = own[i] + rng.normal(0, 0.02, DIM).astype(np.float32)
        out.append((q / np.linalg.norm(q)).astype(np.float32))
    return out


def test_search_matches_exact_search(tmp_path):
    mem, truth = _fill(tmp_path / "m.db", {"alice": 3000, "bob": 1500})
    segments = mem.store.conn.execute(
        "SELECT count(*) FROM vector_segments WHERE resource_id = 'alice'"
    ).fetchone()[0]
    assert segments == 3000 // SEGMENT  # the rest waits in the tail, scored exactly
    found = []
    for q in _queries(truth, "alice", 30, seed=2):
        got = [r for r, _ in mem.store.vectors.search(q.tobytes(), Filters(resource_id="alice"), 10)]
        assert all(truth[r][0] == "alice" for r in got)
        found.append(len(set(got) & set(_exact(truth, q, "alice", 10))) / 10)
    assert np.mean(found) >= 0.95


def test_newest_vector_is_found_before_it_is_packed(tmp_path):
    mem, truth = _fill(tmp_path / "m.db", {"alice": SEGMENT * 2 + 3})
    newest = max(truth)
    q = truth[newest][1]
    got = mem.store.vectors.search(q.tobytes(), Filters(resource_id="alice"), 1)
    assert got[0][0] == newest and got[0][1] > 0.99


def test_deleted_messages_never_come_back_and_many_deletions_repack(tmp_path, monkeypatch):
    monkeypatch.setattr(vectors_module, "CANDIDATES", 50)
    mem, truth = _fill(tmp_path / "m.db", {"alice": SEGMENT * 8})
    conn = mem.store.conn
    doomed = sorted(truth)[: SEGMENT * 2]
    ids = [
        r[0] for r in conn.execute(f"SELECT id FROM messages WHERE rowid IN ({','.join(map(str, doomed))})")
    ]
    with mem.store.transaction():
        mem.store.messages.delete(ids)
    stale = conn.execute("SELECT stale FROM vector_partitions WHERE resource_id = 'alice'").fetchone()[0]
    assert stale == SEGMENT * 2
    for rowid in doomed[:20]:
        got = mem.store.vectors.search(truth[rowid][1].tobytes(), Filters(resource_id="alice"), 10)
        assert rowid not in {r for r, _ in got} and len(got) == 10
    assert mem.store.vectors.orphans() == 0
    # the next write notices that a quarter of the packed codes are gone and repacks
    lines = [
        {"id": "late", "resource_id": "alice", "thread_id": "alice-t0", "role": "user", "content": "late"}
    ]
    mem.import_stream(io.BytesIO((json.dumps(lines[0]) + "\n").encode()), embed=False)
    rowid = conn.execute("SELECT rowid FROM messages WHERE id = 'late'").fetchone()[0]
    with mem.store.transaction():
        mem.store.vectors.add([ChunkVector(rowid, 0, "late", "alice", _vectors(1, 9)[0].tobytes())])
    packed = conn.execute("SELECT sum(length(ids)) / 8 FROM vector_segments").fetchone()[0]
    assert conn.execute("SELECT stale FROM vector_partitions").fetchone()[0] == 0
    assert packed == (SEGMENT * 6 + 1) // SEGMENT * SEGMENT


def test_narrow_filters_score_exactly(tmp_path):
    mem, truth = _fill(tmp_path / "m.db", {"alice": 1200})
    q = _queries(truth, "alice", 1, seed=3)[0]
    got = mem.store.vectors.search(q.tobytes(), Filters(resource_id="alice", thread_id="alice-t1"), 5)
    in_thread = {r for r in truth if 500 <= r - min(truth) < 1000}
    assert {r for r, _ in got} <= in_thread
    best = max(in_thread, key=lambda r: truth[r][1] @ q)
    assert got[0][0] == best


def test_unscoped_search_covers_every_resource(tmp_path):
    mem, truth = _fill(tmp_path / "m.db", {"alice": 600, "bob": 600})
    for rowid in (min(truth), max(truth)):
        got = mem.store.vectors.search(truth[rowid][1].tobytes(), Filters(), 1)
        assert got[0][0] == rowid


def test_vectors_from_before_the_codes_are_indexed_on_upgrade(tmp_path):
    path = tmp_path / "m.db"
    mem, truth = _fill(path, {"alice": 700})
    conn = mem.store.conn
    # back to the m002 layout: no codes, segments or partitions, migration not applied
    for table in ("vector_codes", "vector_segments", "vector_partitions"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm003_search_indexes'")
    mem.close()
    store = Store(path)
    assert store.conn.execute("SELECT count(*) FROM vector_codes").fetchone()[0] == 700
    assert store.vectors.orphans() == 0
    q = truth[max(truth)][1]
    assert store.vectors.search(q.tobytes(), Filters(resource_id="alice"), 1)[0][0] == max(truth)
    store.close()


@pytest.mark.parametrize("resource", ["user0", "a@b.c", "Ünïcode 名前", "@@@", 'say "hi"'])
def test_keyword_search_stays_within_the_resource(tmp_path, resource):
    mem = Memory(tmp_path / "m.db")
    lines = [
        {"id": f"{r}-{i}", "resource_id": r, "thread_id": f"{r}-t", "role": "user", "content": "lisbon trip"}
        for r in (resource, resource + "x", "other")
        for i in range(3)
    ]
    mem.import_stream(io.BytesIO("".join(json.dumps(x) + "\n" for x in lines).encode()), embed=False)
    got = mem.store.keyword.search(["lisbon"], Filters(resource_id=resource), 10)
    owners = {m.resource_id for m in mem.store.messages.by_rowids([r for r, _ in got]).values()}
    assert owners == {resource} and len(got) == 3


def test_segments_cached_by_a_long_lived_process_follow_new_writes(tmp_path):
    mem, truth = _fill(tmp_path / "m.db", {"alice": SEGMENT * 2})
    where = Filters(resource_id="alice")
    first = max(truth)
    assert mem.store.vectors.search(truth[first][1].tobytes(), where, 1)[0][0] == first  # now cached
    # another process packs two more segments
    other = Memory(tmp_path / "m.db")
    lines = [
        {"id": f"late{i}", "resource_id": "alice", "thread_id": "late", "content": "x"}
        for i in range(SEGMENT * 2)
    ]
    other.import_stream(io.BytesIO("".join(json.dumps(x) + "\n" for x in lines).encode()), embed=False)
    rows = other.store.conn.execute(
        "SELECT rowid FROM messages WHERE thread_id = 'late' ORDER BY rowid"
    ).fetchall()
    fresh = _vectors(len(rows), seed=5)
    with other.store.transaction():
        other.store.vectors.add(
            [ChunkVector(r[0], 0, f"l{r[0]}", "alice", v.tobytes()) for r, v in zip(rows, fresh)]
        )
    other.close()
    packed_new = rows[10][0]  # in a segment now, not in the tail
    assert mem.store.vectors.search(fresh[10].tobytes(), where, 1)[0][0] == packed_new


def test_warm_batch_search_agrees_and_notices_writes(tmp_path):
    mem, truth = _fill(tmp_path / "m.db", {"alice": SEGMENT * 3})
    where = Filters(resource_id="alice")
    queries = _queries(truth, "alice", 10, seed=4)
    cold = [[r for r, _ in mem.store.vectors.search(q.tobytes(), where, 10)] for q in queries]
    mem.store.vectors.warm("alice")
    warm = [[r for r, _ in mem.store.vectors.search(q.tobytes(), where, 10)] for q in queries]
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(cold, warm)]) >= 0.95
    # a write makes the warm copy stale: the new vector is found
    mem.import_stream(
        io.BytesIO(b'{"id": "new", "resource_id": "alice", "thread_id": "n", "content": "x"}\n'), embed=False
    )
    rowid = mem.store.conn.execute("SELECT rowid FROM messages WHERE id = 'new'").fetchone()[0]
    fresh = _vectors(1, seed=8)[0]
    with mem.store.transaction():
        mem.store.vectors.add([ChunkVector(rowid, 0, "new", "alice", fresh.tobytes())])
    assert mem.store.vectors.search(fresh.tobytes(), where, 1)[0][0] == rowid
