"""Reading the last N (or a token budget) of a long thread walks an index, never the thread."""

from memcli.store import Store


def _plan(store, sql, params):
    return " | ".join(row[3] for row in store.conn.execute("EXPLAIN QUERY PLAN " + sql, params))


def test_history_window_uses_the_thread_time_index(db_path):
    store = Store(db_path)
    sql = "SELECT rowid FROM messages WHERE thread_id = ? ORDER BY created_at DESC, rowid DESC"
    plan = _plan(store, sql, ["t"])
    assert "messages_thread_time" in plan and "TEMP B-TREE" not in plan, plan
    adjacent = (
        "SELECT p.rowid FROM messages p WHERE p.thread_id = ? AND (p.created_at, p.rowid) < (?, ?) "
        "ORDER BY p.created_at DESC, p.rowid DESC LIMIT 1"
    )
    plan = _plan(store, adjacent, ["t", "2024", 1])
    assert "messages_thread_time" in plan and "TEMP B-TREE" not in plan, plan
    store.close()


def test_window_reads_only_what_it_returns(db_path):
    """With 5,000 messages in a thread, last=10 touches ~10 rows (counted through a
    progress handler: SQLite virtual-machine steps grow with rows visited)."""
    from memcli import Memory

    mem = Memory(db_path)
    rows = [
        {
            "content": f"m{i}",
            "thread_id": "long",
            "resource_id": "r",
            "created_at": f"2024-01-01T00:00:{i % 60:02d}Z",
        }
        for i in range(5000)
    ]
    mem.save_messages(rows, embed=False)
    steps = {"n": 0}

    def count():
        steps["n"] += 1
        return 0

    mem.store.conn.set_progress_handler(count, 100)
    mem.list_messages("long", last=10)
    small = steps["n"]
    steps["n"] = 0
    mem.list_messages("long", last=1000)
    large = steps["n"]
    mem.store.conn.set_progress_handler(None, 100)
    assert small * 20 < large, (small, large)
    mem.close()
