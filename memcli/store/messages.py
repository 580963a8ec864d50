"""Messages: batched idempotent inserts, windowed reads, deletes."""

import json
from collections.abc import Iterator

from memcli.errors import InputError, StoreError
from memcli.records import Message
from memcli.store.base import Table
from memcli.store.batching import in_slices

_COLUMNS = "rowid, id, thread_id, resource_id, role, content, metadata, token_count, created_at"


def _message(row) -> Message:
    return Message(
        rowid=row["rowid"],
        id=row["id"],
        thread_id=row["thread_id"],
        resource_id=row["resource_id"],
        role=row["role"],
        content=row["content"],
        metadata=json.loads(row["metadata"] or "{}"),
        token_count=row["token_count"],
        created_at=row["created_at"],
    )


def _dump(metadata) -> str:
    return json.dumps(metadata, ensure_ascii=False, separators=(",", ":"))


def row_of(m: Message) -> tuple:
    """A message as the values of the _INSERT_COLUMNS, in order."""
    return (
        m.rowid,
        m.id,
        m.thread_id,
        m.resource_id,
        m.role,
        m.content,
        _dump(m.metadata),
        m.token_count,
        m.created_at,
    )


_INSERT_COLUMNS = "rowid, id, thread_id, resource_id, role, content, metadata, token_count, created_at"


class MessageTable(Table):
    NO_LIMIT = -1  # SQLite's "LIMIT -1"; PostgreSQL takes NULL

    def upsert_many(self, messages: list[Message]) -> tuple[list[int], int]:
        """Insert new messages, update changed ones with the same id.

        Returns (rowids that are new or changed, number unchanged). Run inside
        a transaction. A known id in another thread is an error: ids are global.
        """
        existing = self.by_ids([m.id for m in messages])
        fresh: list[Message] = []
        pending: dict[str, int] = {}  # id -> index in fresh
        changed, unchanged = [], 0
        for m in messages:
            old = existing.get(m.id)
            if old is None:
                pending[m.id] = len(fresh)
                fresh.append(m)
                existing[m.id] = m
                continue
            if old.thread_id != m.thread_id:
                raise InputError(
                    f"message id {m.id} already belongs to thread {old.thread_id}, not {m.thread_id}"
                )
            m.rowid = old.rowid  # None for a new one earlier in this batch: given below
            if m.keep_stored_time:
                m.created_at = old.created_at
            same = (old.role, old.content, old.metadata, old.created_at) == (
                m.role,
                m.content,
                m.metadata,
                m.created_at,
            )
            if same:
                unchanged += 1
                continue
            existing[m.id] = m
            if m.id in pending:  # the same id twice in one batch: the later line wins
                fresh[pending[m.id]] = m
                continue
            changed.append(m.rowid)
            self.conn.execute(
                "UPDATE messages SET role = ?, content = ?, metadata = ?, token_count = ?, "
                "created_at = ? WHERE rowid = ?",
                [m.role, m.content, _dump(m.metadata), m.token_count, m.created_at, m.rowid],
            )
            # changed text needs new vectors
            self.conn.execute("DELETE FROM chunks WHERE message_rowid = ?", [m.rowid])
        for m, rowid in zip(fresh, self._new_rowids(len(fresh))):
            m.rowid = rowid
        self._insert_bulk(fresh)
        return [m.rowid for m in fresh] + changed, unchanged  # type: ignore[return-value]

    def _new_rowids(self, n: int) -> list[int]:
        """n rowids past every one ever used, ascending (consecutive here: one writer)."""
        first = self._next_rowid() if n else 0
        return list(range(first, first + n))

    def _next_rowid(self) -> int:
        """Past every rowid ever used: inside the write transaction we are the only writer,
        and the high-water mark keeps a deleted newest message's rowid from coming back
        (the observer's cursor would skip the message that reused it)."""
        newest, mark = self.conn.execute(
            "SELECT coalesce((SELECT max(rowid) FROM messages), 0), "
            "coalesce((SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'message_rowid_high'), 0)"
        ).fetchone()
        return max(newest, mark) + 1

    def _insert_bulk(self, messages: list[Message]) -> None:
        """Insert with explicit rowids, then index them for FTS in one statement.

        The per-row FTS trigger is switched off for the batch (a settings row
        only this transaction sees): indexing the batch with one INSERT ...
        SELECT measured 3x faster than row by row.
        """
        if not messages:
            return
        if not self.conn.in_transaction:
            raise StoreError("bulk inserts must run inside a transaction")
        self._insert_indexed(messages)
        self.conn.execute(
            "INSERT INTO settings(key, value) VALUES ('message_rowid_high', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [str(messages[-1].rowid)],
        )

    def _insert_indexed(self, messages: list[Message]) -> None:
        """Insert the rows and their full-text entries."""
        self.conn.execute("INSERT INTO settings(key, value) VALUES ('fts_deferred', '1')")
        try:
            self._insert_rows(messages)
        finally:  # never leave the trigger off, even if a caller goes on after an error
            self.conn.execute("DELETE FROM settings WHERE key = 'fts_deferred'")
        self.conn.execute(
            "INSERT INTO messages_fts(rowid, content, resource_id) "
            "SELECT rowid, content, resource_id FROM messages WHERE rowid BETWEEN ? AND ?",
            [messages[0].rowid, messages[-1].rowid],
        )

    def _insert_rows(self, messages: list[Message]) -> None:
        self.conn.executemany(
            f"INSERT INTO messages({_INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [row_of(m) for m in messages],
        )

    def insert_with_rowids(self, messages: list[Message]) -> None:
        """Insert messages keeping their rowids, in rowid order (copies between stores)."""
        self._insert_bulk(messages)

    def insert_new(self, messages: list[Message]) -> None:
        """Insert messages known to be new (fresh ids); sets each one's rowid."""
        if not messages:
            return
        for m, rowid in zip(messages, self._new_rowids(len(messages))):
            m.rowid = rowid
        self._insert_bulk(messages)

    def by_ids(self, ids: list[str]) -> dict[str, Message]:
        out = {}
        for part, marks in in_slices(ids):
            for row in self.conn.execute(f"SELECT {_COLUMNS} FROM messages WHERE id IN ({marks})", part):
                out[row["id"]] = _message(row)
        return out

    def by_rowids(self, rowids: list[int]) -> dict[int, Message]:
        out = {}
        for part, marks in in_slices(rowids):
            for row in self.conn.execute(f"SELECT {_COLUMNS} FROM messages WHERE rowid IN ({marks})", part):
                out[row["rowid"]] = _message(row)
        return out

    def window(
        self,
        thread_id: str,
        *,
        last: int | None = None,
        max_tokens: int | None = None,
        since: str | None = None,
        until: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[Message]:
        """Messages of a thread in chronological order.

        With `last` or `max_tokens`, reads newest-first through the
        (thread_id, created_at, rowid) index and stops as soon as the window
        is full, so cost grows with what is returned, not the thread's length.
        """
        where, params = ["thread_id = ?"], [thread_id]
        if since:
            where.append("created_at >= ?")
            params.append(since)
        if until:
            where.append("created_at <= ?")
            params.append(until)
        clause = " AND ".join(where)
        if last is None and max_tokens is None:
            sql = f"SELECT {_COLUMNS} FROM messages WHERE {clause} ORDER BY created_at, rowid"
            sql += " LIMIT ? OFFSET ?"
            params += [limit if limit is not None else self.NO_LIMIT, offset]  # type: ignore[list-item]
            return [_message(r) for r in self.conn.execute(sql, params)]
        sql = f"SELECT {_COLUMNS} FROM messages WHERE {clause} ORDER BY created_at DESC, rowid DESC"
        picked: list = []
        tokens = 0
        for row in self.conn.execute(sql, params):
            if last is not None and len(picked) >= last:
                break
            if max_tokens is not None and tokens + row["token_count"] > max_tokens:
                break
            tokens += row["token_count"]
            picked.append(_message(row))
        picked.reverse()
        return picked

    def iter_all(self, *, thread_id: str | None = None, resource_id: str | None = None) -> Iterator[Message]:
        where, params = [], []
        if thread_id is not None:
            where.append("thread_id = ?")
            params.append(thread_id)
        if resource_id is not None:
            where.append("resource_id = ?")
            params.append(resource_id)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        order = (
            " ORDER BY thread_id, created_at, rowid" if thread_id is None else " ORDER BY created_at, rowid"
        )
        for row in self.conn.execute(f"SELECT {_COLUMNS} FROM messages{clause}{order}", params):
            yield _message(row)

    def neighbours(self, message: Message, before: int, after: int) -> tuple[list[Message], list[Message]]:
        """The `before` messages preceding and `after` following one, same thread."""
        key = [message.thread_id, message.created_at, message.created_at, message.rowid]
        prev = self.conn.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE thread_id = ? AND "
            "(created_at < ? OR (created_at = ? AND rowid < ?)) "
            "ORDER BY created_at DESC, rowid DESC LIMIT ?",
            [*key, before],
        ).fetchall()
        nxt = self.conn.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE thread_id = ? AND "
            "(created_at > ? OR (created_at = ? AND rowid > ?)) "
            "ORDER BY created_at, rowid LIMIT ?",
            [*key, after],
        ).fetchall()
        return [_message(r) for r in reversed(prev)], [_message(r) for r in nxt]

    def adjacent(self, rowids: list[int]) -> dict[int, tuple[int | None, int | None]]:
        """rowid -> (previous, next) message rowid in the same thread, by time."""
        out: dict[int, tuple[int | None, int | None]] = {}
        for part, marks in in_slices(rowids):
            rows = self.conn.execute(
                "SELECT m.rowid, "
                "(SELECT p.rowid FROM messages p WHERE p.thread_id = m.thread_id "
                " AND (p.created_at, p.rowid) < (m.created_at, m.rowid) "
                " ORDER BY p.created_at DESC, p.rowid DESC LIMIT 1), "
                "(SELECT n.rowid FROM messages n WHERE n.thread_id = m.thread_id "
                " AND (n.created_at, n.rowid) > (m.created_at, m.rowid) "
                " ORDER BY n.created_at, n.rowid LIMIT 1) "
                f"FROM messages m WHERE m.rowid IN ({marks})",
                part,
            ).fetchall()
            out.update({r[0]: (r[1], r[2]) for r in rows})
        return out

    def after(
        self,
        rowid: int,
        *,
        thread_id: str | None = None,
        resource_id: str | None = None,
        until: int | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Message]:
        """Messages with a rowid past a cursor (and at most `until`), in rowid order:
        the observer's queue, or the messages behind one generation of its log."""
        column, value = ("thread_id", thread_id) if thread_id is not None else ("resource_id", resource_id)
        sql = f"SELECT {_COLUMNS} FROM messages WHERE {column} = ? AND rowid > ?"
        params: list = [value, rowid]
        if until is not None:
            sql += " AND rowid <= ?"
            params.append(until)
        sql += " ORDER BY rowid LIMIT ? OFFSET ?"
        params += [limit if limit is not None else self.NO_LIMIT, offset]
        return [_message(r) for r in self.conn.execute(sql, params).fetchall()]

    def usage_of_turns(self, thread_id: str) -> list[tuple[str, dict]]:
        """(message id, usage) of the thread's assistant turns that recorded one, in order;
        reads only those rows (a long thread's other messages are never loaded)."""
        rows = self.conn.execute(
            "SELECT id, metadata FROM messages WHERE thread_id = ? AND role = 'assistant' "
            "AND metadata LIKE ? ORDER BY created_at, rowid",
            [thread_id, '%"usage"%'],  # a parameter: PostgreSQL's driver reads % in SQL as a placeholder
        ).fetchall()
        out = []
        for row in rows:
            usage = json.loads(row[1] or "{}").get("usage")
            if usage:
                out.append((row[0], usage))
        return out

    def pending_totals(
        self, rowid: int, *, thread_id: str | None = None, resource_id: str | None = None
    ) -> tuple[int, int]:
        """(messages, tokens) past a cursor that the observer would read (not system ones)."""
        column, value = ("thread_id", thread_id) if thread_id is not None else ("resource_id", resource_id)
        row = self.conn.execute(
            "SELECT count(*), coalesce(sum(token_count), 0) FROM messages "
            f"WHERE {column} = ? AND rowid > ? AND role != 'system'",
            [value, rowid],
        ).fetchone()
        return int(row[0]), int(row[1])

    def delete(self, ids: list[str]) -> int:
        """Delete messages (run in a transaction); memories that only they were the
        source of go with them."""
        self._connections.memories.forget_cited_only_by(ids)  # the store's memory table
        removed = 0
        for part, marks in in_slices(ids):
            cur = self.conn.execute(f"DELETE FROM messages WHERE id IN ({marks})", part)
            removed += cur.rowcount
        return removed

    def totals(self, thread_id: str) -> tuple[int, int]:
        row = self.conn.execute(
            "SELECT count(*), coalesce(sum(token_count), 0) FROM messages WHERE thread_id = ?",
            [thread_id],
        ).fetchone()
        return row[0], row[1]

    def missing_embeddings(self, limit: int, after_rowid: int = 0) -> list[Message]:
        """Messages with no chunk yet, oldest first, for backfill."""
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM messages m WHERE rowid > ? AND NOT EXISTS "
            "(SELECT 1 FROM chunks c WHERE c.message_rowid = m.rowid) ORDER BY rowid LIMIT ?",
            [after_rowid, limit],
        ).fetchall()
        return [_message(r) for r in rows]

    def count_missing_embeddings(self) -> int:
        return self.conn.execute(
            "SELECT count(*) FROM messages m WHERE NOT EXISTS "
            "(SELECT 1 FROM chunks c WHERE c.message_rowid = m.rowid)"
        ).fetchone()[0]
