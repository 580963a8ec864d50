"""Batch inserts index FTS in one statement; the index must match row by row inserts."""

import io
import json

from memcli import Memory
from memcli.records import Filters


def _lines(rows) -> io.BytesIO:
    return io.BytesIO("".join(json.dumps(r) + "\n" for r in rows).encode())


def _fts_ok(mem) -> None:
    # raises if the external-content index disagrees with the messages table
    mem.store.conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")


def test_imported_batch_is_searchable_and_the_index_is_exact(tmp_path):
    mem = Memory(tmp_path / "m.db")
    rows = [
        {
            "id": f"m{i}",
            "resource_id": "alice",
            "thread_id": "t",
            "role": "user",
            "content": f"walrus number {i}",
        }
        for i in range(1200)
    ]
    # the same id twice in one batch: the later line wins, as for row-by-row writes
    rows.append(
        {"id": "m5", "resource_id": "alice", "thread_id": "t", "role": "user", "content": "narwhal now"}
    )
    summary = mem.import_stream(_lines(rows), embed=False)
    assert summary.written >= 1200
    _fts_ok(mem)
    hits = mem.store.keyword.search(["walrus"], Filters(resource_id="alice"), 5000)
    assert len(hits) == 1199
    narwhal = mem.store.keyword.search(["narwhal"], Filters(resource_id="alice"), 10)
    assert [mem.store.messages.by_rowids([narwhal[0][0]])[narwhal[0][0]].id] == ["m5"]
    assert mem.store.get_setting("fts_deferred") is None  # never left behind


def test_other_writers_still_index_through_the_trigger(tmp_path):
    mem = Memory(tmp_path / "m.db")
    mem.import_stream(
        _lines([{"id": "a", "resource_id": "r", "thread_id": "t", "content": "first walrus"}]), embed=False
    )
    mem.add_message("second walrus", "t", resource_id="r", embed=False)
    with mem.store.transaction():  # as sqlite-utils or a hand-written script would
        mem.store.conn.execute(
            "INSERT INTO messages(id, thread_id, resource_id, role, content, created_at) "
            "VALUES ('c', 't', 'r', 'user', 'third walrus', '2024-01-01T00:00:00.000000Z')"
        )
        mem.store.conn.execute("UPDATE messages SET content = 'renamed narwhal' WHERE id = 'a'")
    _fts_ok(mem)
    assert len(mem.store.keyword.search(["walrus"], Filters(resource_id="r"), 10)) == 2
    assert len(mem.store.keyword.search(["narwhal"], Filters(resource_id="r"), 10)) == 1


def test_a_failed_batch_leaves_no_deferral_and_no_rows(tmp_path):
    mem = Memory(tmp_path / "m.db")
    mem.import_stream(
        _lines([{"id": "a", "resource_id": "r", "thread_id": "t", "content": "kept"}]), embed=False
    )
    from memcli.records import Message

    bad = [
        Message(
            id="b", thread_id="missing-thread", resource_id="r", role="user", content="x", created_at="2024"
        )
    ]
    try:
        with mem.store.transaction():
            mem.store.messages.upsert_many(bad)  # no such thread: the foreign key refuses
    except Exception:
        pass
    assert mem.store.get_setting("fts_deferred") is None
    assert mem.store.conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 1
    _fts_ok(mem)
