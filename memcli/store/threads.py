"""Resources and threads."""

import builtins
import json
from typing import Any

from memcli.records import Thread
from memcli.store.base import Table
from memcli.store.batching import in_slices
from memcli.timefmt import now

ORDER_COLUMNS = {"created": "t.created_at", "updated": "t.updated_at"}

_SELECT = """
SELECT t.*,
       (SELECT count(*) FROM messages m WHERE m.thread_id = t.id) AS message_count,
       (SELECT max(m.created_at) FROM messages m WHERE m.thread_id = t.id) AS last_message_at
FROM threads t
"""


def _thread(row) -> Thread:
    keys = row.keys()
    return Thread(
        id=row["id"],
        resource_id=row["resource_id"],
        title=row["title"],
        metadata=json.loads(row["metadata"] or "{}"),
        cloned_from=row["cloned_from"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        message_count=row["message_count"] if "message_count" in keys else None,
        last_message_at=row["last_message_at"] if "last_message_at" in keys else None,
    )


def metadata_path(key: str) -> str:
    """A JSON path for one top-level key, quoted so any key text is safe."""
    return '$."' + key.replace('"', '""') + '"'


def contains_pattern(text: str) -> str:
    """A LIKE pattern (escape character \\) matching text anywhere, case-folded."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class ThreadTable(Table):
    # per-resource tables only this backend has (the SQLite vector search's packed codes)
    RESOURCE_SIDE_TABLES: tuple[str, ...] = ("vector_segments", "vector_partitions")

    @staticmethod
    def _metadata_match(key: str, value) -> tuple[str, list]:
        """SQL testing one top-level metadata key against a value."""
        return "json_extract(t.metadata, ?) = ?", [metadata_path(key), value]

    def ensure_resource(self, resource_id: str, at: str | None = None) -> None:
        stamp = at or now()
        self.conn.execute(
            "INSERT INTO resources(id, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [resource_id, stamp, stamp],
        )

    def resource_exists(self, resource_id: str) -> bool:
        row = self.conn.execute("SELECT 1 FROM resources WHERE id = ?", [resource_id]).fetchone()
        return row is not None

    def insert(self, thread: Thread) -> None:
        self._insert(thread)

    def claim(self, thread: Thread) -> str:
        """Create the thread unless it exists; returns its owner. On PostgreSQL a writer of
        another resource may insert the same id meanwhile: the unique key makes this
        insert wait for that one's commit, then it does nothing and the owner is read."""
        inserted = self._insert(thread, " ON CONFLICT (id) DO NOTHING RETURNING resource_id").fetchone()
        if inserted is not None:
            return inserted[0]
        return self.owners([thread.id])[thread.id]

    def _insert(self, thread: Thread, tail: str = ""):
        self.ensure_resource(thread.resource_id, thread.created_at)
        return self.conn.execute(
            "INSERT INTO threads(id, resource_id, title, metadata, cloned_from, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)" + tail,
            [
                thread.id,
                thread.resource_id,
                thread.title,
                json.dumps(thread.metadata, ensure_ascii=False),
                thread.cloned_from,
                thread.created_at,
                thread.updated_at or thread.created_at,
            ],
        )

    def get(self, thread_id: str, *, with_counts: bool = False) -> Thread | None:
        sql = (_SELECT if with_counts else "SELECT t.* FROM threads t") + " WHERE t.id = ?"
        row = self.conn.execute(sql, [thread_id]).fetchone()
        return _thread(row) if row else None

    def owners(self, thread_ids: list[str]) -> dict[str, str]:
        """thread id -> resource id, for those that exist."""
        out = {}
        for part, marks in in_slices(thread_ids):
            rows = self.conn.execute(
                f"SELECT id, resource_id FROM threads WHERE id IN ({marks})", part
            ).fetchall()
            out.update({r[0]: r[1] for r in rows})
        return out

    def list(
        self,
        *,
        resource_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        cloned_from: str | None = None,
        order_by: str = "created",
        descending: bool = True,
        limit: int = 100,
        offset: int = 0,
        search: str | None = None,
    ) -> tuple[list[Thread], int]:
        where, params = [], []
        if search:
            where.append(
                "(lower(t.id) LIKE ? ESCAPE '\\' OR lower(coalesce(t.title, '')) LIKE ? ESCAPE '\\')"
            )
            params += [contains_pattern(search)] * 2
        if resource_id is not None:
            where.append("t.resource_id = ?")
            params.append(resource_id)
        if cloned_from is not None:
            where.append("t.cloned_from = ?")
            params.append(cloned_from)
        for key, value in (metadata or {}).items():
            sql, values = self._metadata_match(key, value)
            where.append(sql)
            params += values
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        total = self.conn.execute(f"SELECT count(*) FROM threads t{clause}", params).fetchone()[0]
        direction = "DESC" if descending else "ASC"
        column = ORDER_COLUMNS[order_by]
        rows = self.conn.execute(
            f"{_SELECT}{clause} ORDER BY {column} {direction}, t.id {direction} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
        return [_thread(r) for r in rows], total

    def resources(
        self, *, search: str | None = None, only: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple["builtins.list[dict]", int]:
        """A page of resources (id order) with their thread counts; `search` matches part of the id."""
        where, params = [], []
        if search:
            where.append("lower(r.id) LIKE ? ESCAPE '\\'")
            params.append(contains_pattern(search))
        if only is not None:
            where.append("r.id = ?")
            params.append(only)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        total = self.conn.execute(f"SELECT count(*) FROM resources r{clause}", params).fetchone()[0]
        rows = self.conn.execute(
            "SELECT r.id, r.created_at, r.updated_at, "
            "(SELECT count(*) FROM threads t WHERE t.resource_id = r.id) AS threads "
            f"FROM resources r{clause} ORDER BY r.id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
        return [dict(r) for r in rows], total

    def ids_starting(self, table: str, prefix: str, limit: int = 50) -> "builtins.list[str]":
        """Thread or resource ids that start with prefix (shell completion), in order."""
        name = {"threads": "threads", "resources": "resources"}[table]
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else None
        where, params = ("id >= ? AND id < ?", [prefix, upper]) if upper else ("1 = 1", [])
        rows = self.conn.execute(f"SELECT id FROM {name} WHERE {where} ORDER BY id LIMIT ?", [*params, limit])
        return [r[0] for r in rows]

    def latest_for_resource(self, resource_id: str) -> Thread | None:
        row = self.conn.execute(
            "SELECT t.* FROM threads t WHERE resource_id = ? ORDER BY updated_at DESC LIMIT 1",
            [resource_id],
        ).fetchone()
        return _thread(row) if row else None

    def update(self, thread_id: str, *, title=None, metadata=None) -> None:
        sets, params = ["updated_at = ?"], [now()]
        if title is not None:
            sets.append("title = ?")
            params.append(title)
        if metadata is not None:
            sets.append("metadata = ?")
            params.append(json.dumps(metadata, ensure_ascii=False))
        self.conn.execute(f"UPDATE threads SET {', '.join(sets)} WHERE id = ?", [*params, thread_id])

    def touch(self, thread_id: str, at: str) -> None:
        """Move updated_at forward to the newest message's time."""
        self.conn.execute(
            "UPDATE threads SET updated_at = ? WHERE id = ? AND updated_at < ?",
            [at, thread_id, at],
        )

    def delete(self, thread_id: str) -> int:
        """Delete a thread; messages, FTS rows, chunks, vectors and observations follow
        through foreign keys and triggers. Returns the number of messages removed."""
        count = self.conn.execute(
            "SELECT count(*) FROM messages WHERE thread_id = ?", [thread_id]
        ).fetchone()[0]
        self.conn.execute("DELETE FROM threads WHERE id = ?", [thread_id])
        return count

    def delete_resource(self, resource_id: str) -> dict:
        """Delete a resource with everything it owns (run in a transaction): threads
        (their messages, vectors and logs follow), its own working memory history and
        observation logs, its vector segments, and the resource row."""
        threads, messages = self.conn.execute(
            "SELECT count(*), coalesce(sum((SELECT count(*) FROM messages m WHERE m.thread_id = t.id)), 0) "
            "FROM threads t WHERE resource_id = ?",
            [resource_id],
        ).fetchone()
        self.conn.execute("DELETE FROM threads WHERE resource_id = ?", [resource_id])
        # messages are keyed to threads; any left under this resource would be another bug's orphans
        self.conn.execute("DELETE FROM messages WHERE resource_id = ?", [resource_id])
        for table in ("working_memory_history", "observations", "observation_buffers"):
            self.conn.execute(f"DELETE FROM {table} WHERE scope = 'resource' AND scope_id = ?", [resource_id])
        for table in self.RESOURCE_SIDE_TABLES:
            self.conn.execute(f"DELETE FROM {table} WHERE resource_id = ?", [resource_id])
        self.conn.execute(
            "DELETE FROM settings WHERE key = ?", [f"reflection_gave_up:resource:{resource_id}"]
        )
        found = self.conn.execute("DELETE FROM resources WHERE id = ?", [resource_id]).rowcount
        return {"resource": resource_id, "existed": bool(found), "threads": threads, "messages": messages}
