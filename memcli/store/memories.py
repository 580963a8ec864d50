"""Facts memory rows: memories, their versions (history), sources and extraction cursors."""

from dataclasses import dataclass, field

from memcli.errors import InputError
from memcli.store import owners
from memcli.store.base import Table
from memcli.store.batching import in_slices


@dataclass
class MemoryVersion:
    """One version of a memory; the current one has superseded_at None."""

    memory_id: str
    resource_id: str
    version: int
    event: str  # ADD, UPDATE or DELETE
    text: str
    thread_id: str | None = None
    category: str | None = None
    sources: list[str] = field(default_factory=list)  # message ids
    valid_from: str | None = None
    valid_to: str | None = None
    expires_at: str | None = None
    created_at: str = ""
    superseded_at: str | None = None
    actor: str = "model"
    embedding: bytes | None = field(default=None, repr=False)
    embedding_model: str | None = field(default=None, repr=False)  # the model that made it

    def to_dict(self) -> dict:
        from memcli.timefmt import to_public

        out = {
            "id": self.memory_id,
            "resource_id": self.resource_id,
            "thread_id": self.thread_id,
            "version": self.version,
            "event": self.event,
            "text": self.text,
            "category": self.category,
            "sources": self.sources,
        }
        for key in ("valid_from", "valid_to", "expires_at", "created_at", "superseded_at"):
            value = getattr(self, key)
            out[key] = to_public(value) if value else None
        out["actor"] = self.actor
        return out


_SELECT = (
    "SELECT v.id AS vid, v.memory_id, m.resource_id, m.thread_id, v.version, v.event, v.text, v.category, "
    "v.valid_from, v.valid_to, v.expires_at, v.created_at, v.superseded_at, v.actor, v.embedding, v.embedding_model "
    "FROM memory_versions v JOIN memories m ON m.id = v.memory_id"
)


class MemoryTable(Table):
    def _versions(self, where: str, params: list, order: str = "v.id") -> list[MemoryVersion]:
        rows = self.conn.execute(f"{_SELECT} WHERE {where} ORDER BY {order}", params).fetchall()
        sources: dict[int, list[str]] = {}
        ids = [r["vid"] for r in rows]
        for part, marks in in_slices(ids):
            for vid, message_id in self.conn.execute(
                f"SELECT version_id, message_id FROM memory_sources WHERE version_id IN ({marks}) "
                "ORDER BY rowid",
                part,
            ):
                sources.setdefault(vid, []).append(message_id)
        return [
            MemoryVersion(
                memory_id=r["memory_id"],
                resource_id=r["resource_id"],
                thread_id=r["thread_id"],
                version=r["version"],
                event=r["event"],
                text=r["text"],
                category=r["category"],
                sources=sources.get(r["vid"], []),
                valid_from=r["valid_from"],
                valid_to=r["valid_to"],
                expires_at=r["expires_at"],
                created_at=r["created_at"],
                superseded_at=r["superseded_at"],
                actor=r["actor"],
                embedding=r["embedding"],
                embedding_model=r["embedding_model"],
            )
            for r in rows
        ]

    def current(self, resource_id: str, *, category: str | None = None, thread_id: str | None = None):
        """The resource's current memories (not ended, latest version), oldest first."""
        where = "m.resource_id = ? AND m.ended_at IS NULL AND v.superseded_at IS NULL"
        params: list = [resource_id]
        if category is not None:
            where += " AND v.category = ?"
            params.append(category)
        if thread_id is not None:
            where += " AND (m.thread_id = ? OR EXISTS (SELECT 1 FROM memory_sources s "
            where += "WHERE s.version_id = v.id AND s.thread_id = ?))"
            params += [thread_id, thread_id]
        return self._versions(where, params)

    def as_of(self, resource_id: str, moment: str, *, category: str | None = None) -> list[MemoryVersion]:
        """Versions true at a moment (valid time), whatever memcli learned later."""
        where = (
            "m.resource_id = ? AND v.event != 'DELETE' AND coalesce(v.valid_from, v.created_at) <= ? "
            "AND (v.valid_to IS NULL OR v.valid_to > ?)"
        )
        params: list = [resource_id, moment, moment]
        if category is not None:
            where += " AND v.category = ?"
            params.append(category)
        # of several versions true then, the one learned last
        picked: dict[str, MemoryVersion] = {}
        for v in self._versions(where, params, order="v.id"):
            picked[v.memory_id] = v
        return list(picked.values())

    def history(self, memory_id: str) -> list[MemoryVersion]:
        return self._versions("v.memory_id = ?", [memory_id], order="v.version")

    def latest(self, memory_id: str) -> MemoryVersion | None:
        found = self._versions("v.memory_id = ?", [memory_id], order="v.version DESC")
        return found[0] if found else None

    def owner(self, memory_id: str) -> str | None:
        row = self.conn.execute("SELECT resource_id FROM memories WHERE id = ?", [memory_id]).fetchone()
        return row[0] if row else None

    def is_ended(self, memory_id: str) -> bool:
        row = self.conn.execute("SELECT ended_at FROM memories WHERE id = ?", [memory_id]).fetchone()
        return bool(row and row[0])

    def write(self, v: MemoryVersion) -> None:
        """Append a version (run in a transaction): ADD creates the memory; UPDATE and
        DELETE close the current version first (valid_to, superseded_at). Its thread,
        sources and memory id must all be v.resource_id's (owners.require)."""
        owners.require(
            self.conn,
            v.resource_id,
            scopes=[("thread", v.thread_id)] if v.thread_id else [],
            messages=v.sources,
            memories=[v.memory_id],
        )
        if v.event not in ("ADD", "UPDATE", "DELETE"):
            raise InputError(f"unknown memory event {v.event!r}")
        exists = self.owner(v.memory_id) is not None
        if exists == (v.event == "ADD"):
            raise InputError(
                f"memory {v.memory_id}: {v.event} "
                + ("of a memory that exists" if exists else "of no memory")
            )
        source_threads = self._threads_of(v.sources)
        if v.event == "ADD":
            self.conn.execute(
                "INSERT INTO resources(id, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [v.resource_id, v.created_at, v.created_at],
            )
            self.conn.execute(
                "INSERT INTO memories(id, resource_id, thread_id, created_at) VALUES (?, ?, ?, ?)",
                [v.memory_id, v.resource_id, v.thread_id, v.created_at],
            )
        else:
            self.conn.execute(
                "UPDATE memory_versions SET superseded_at = ?, valid_to = coalesce(valid_to, ?) "
                "WHERE memory_id = ? AND superseded_at IS NULL",
                [v.created_at, v.valid_from or v.created_at, v.memory_id],
            )
        if v.event == "DELETE":
            self.conn.execute("UPDATE memories SET ended_at = ? WHERE id = ?", [v.created_at, v.memory_id])
        vid = self._insert_id(
            "INSERT INTO memory_versions(memory_id, version, event, text, category, valid_from, valid_to, "
            "expires_at, created_at, superseded_at, actor, embedding, embedding_model) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                v.memory_id,
                v.version,
                v.event,
                v.text,
                v.category,
                v.valid_from,
                v.valid_to,
                v.expires_at,
                v.created_at,
                v.created_at if v.event == "DELETE" else None,
                v.actor,
                v.embedding,
                v.embedding_model if v.embedding is not None else None,
            ],
        )
        self.conn.executemany(
            "INSERT INTO memory_sources(version_id, message_id, thread_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [(vid, mid, source_threads[mid]) for mid in v.sources if mid in source_threads],
        )

    def stale_embeddings(self, model: str, limit: int, after: int = 0) -> list[tuple[int, str]]:
        """(version id, text) of current versions without a vector of this model."""
        rows = self.conn.execute(
            "SELECT id, text FROM memory_versions WHERE id > ? AND superseded_at IS NULL "
            "AND (embedding IS NULL OR embedding_model IS NULL OR embedding_model != ?) ORDER BY id LIMIT ?",
            [after, model, limit],
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def set_embeddings(self, rows: list[tuple[int, bytes]], model: str) -> None:
        self.conn.executemany(
            "UPDATE memory_versions SET embedding = ?, embedding_model = ? WHERE id = ?",
            [(blob, model, vid) for vid, blob in rows],
        )

    def set_current_embeddings(self, rows: list[tuple[str, bytes]], model: str) -> None:
        """Vectors of the current versions of these memories (memory id, vector)."""
        self.conn.executemany(
            "UPDATE memory_versions SET embedding = ?, embedding_model = ? "
            "WHERE memory_id = ? AND superseded_at IS NULL",
            [(blob, model, memory_id) for memory_id, blob in rows],
        )

    def forget_cited_only_by(self, message_ids: list[str]) -> int:
        """Delete the memories every source of which is among these messages (about to be
        deleted): what only they said is forgotten with them, as with a thread."""
        candidates: set[str] = set()
        for part, marks in in_slices(message_ids):
            candidates.update(
                r[0]
                for r in self.conn.execute(
                    "SELECT DISTINCT v.memory_id FROM memory_versions v JOIN memory_sources s "
                    f"ON s.version_id = v.id WHERE s.message_id IN ({marks})",
                    part,
                )
            )
        gone = set(message_ids)
        forgotten = 0
        for memory_id in sorted(candidates):
            cited = {
                r[0]
                for r in self.conn.execute(
                    "SELECT s.message_id FROM memory_versions v JOIN memory_sources s ON s.version_id = v.id "
                    "WHERE v.memory_id = ?",
                    [memory_id],
                )
            }
            if cited <= gone:
                forgotten += self.conn.execute("DELETE FROM memories WHERE id = ?", [memory_id]).rowcount
        return forgotten

    def _threads_of(self, message_ids: list[str]) -> dict[str, str]:
        if not message_ids:
            return {}
        marks = ", ".join("?" * len(message_ids))
        rows = self.conn.execute(
            f"SELECT id, thread_id FROM messages WHERE id IN ({marks})", list(message_ids)
        )
        return {r[0]: r[1] for r in rows}

    def cursor(self, thread_id: str) -> int:
        row = self.conn.execute(
            "SELECT last_rowid FROM memory_cursors WHERE thread_id = ?", [thread_id]
        ).fetchone()
        return row[0] if row else 0

    def cursor_message(self, thread_id: str) -> str | None:
        """The id of the last message the extraction cursor has passed (for archives)."""
        row = self.conn.execute(
            "SELECT m.id FROM memory_cursors c JOIN messages m ON m.thread_id = c.thread_id "
            "AND m.rowid <= c.last_rowid WHERE c.thread_id = ? ORDER BY m.rowid DESC LIMIT 1",
            [thread_id],
        ).fetchone()
        return row[0] if row else None

    def move_cursor(self, thread_id: str, rowid: int, *, owner: str) -> None:
        """Move a thread's extraction cursor forward (never back), in a thread owner owns."""
        owners.require(self.conn, owner, scopes=[("thread", thread_id)])
        self.conn.execute(
            "INSERT INTO memory_cursors(thread_id, last_rowid) VALUES (?, ?) "
            "ON CONFLICT(thread_id) DO UPDATE SET last_rowid = CASE WHEN excluded.last_rowid > memory_cursors.last_rowid "
            "THEN excluded.last_rowid ELSE memory_cursors.last_rowid END",
            [thread_id, rowid],
        )

    def export_rows(self, resource_id: str | None) -> list[MemoryVersion]:
        """Every version, for export: all resources or one."""
        if resource_id is None:
            return self._versions("1 = 1", [], order="v.memory_id, v.version")
        return self._versions("m.resource_id = ?", [resource_id], order="v.memory_id, v.version")
