"""Working memory rows: the current text per scope, and every change kept."""

from memcli.store import owners
from memcli.store.base import Table
from memcli.timefmt import now

_COLUMN = {"resource": ("resources", "id"), "thread": ("threads", "id")}


class WorkingMemoryTable(Table):
    def get(self, scope: str, scope_id: str) -> str | None:
        table, key = _COLUMN[scope]
        row = self.conn.execute(f"SELECT working_memory FROM {table} WHERE {key} = ?", [scope_id]).fetchone()
        return row[0] if row else None

    def set(self, scope: str, scope_id: str, content: str | None, source: str, *, owner: str) -> None:
        """Replace the text (None clears it) and record the change, in a scope owner owns.
        Run in a transaction."""
        table, key = _COLUMN[scope]
        stamp = now()
        if scope == "resource":
            self.conn.execute(
                "INSERT INTO resources(id, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [scope_id, stamp, stamp],
            )
        owners.require(self.conn, owner, scopes=[(scope, scope_id)])
        self.conn.execute(
            f"UPDATE {table} SET working_memory = ?, updated_at = ? WHERE {key} = ?",
            [content, stamp, scope_id],
        )
        self.conn.execute(
            "INSERT INTO working_memory_history(scope, scope_id, content, source, created_at) VALUES (?, ?, ?, ?, ?)",
            [scope, scope_id, content, source, stamp],
        )

    def restore(
        self, scope: str, scope_id: str, current: str | None, history: list[dict], *, owner: str
    ) -> int:
        """Put back an archived memory: its history rows (those not here yet, by time and
        text) and the current text, without a new history row. Run in a transaction."""
        table, key = _COLUMN[scope]
        owners.require(self.conn, owner, scopes=[(scope, scope_id)])
        have = {
            (r[0], r[1])
            for r in self.conn.execute(
                "SELECT created_at, content FROM working_memory_history WHERE scope = ? AND scope_id = ?",
                [scope, scope_id],
            )
        }
        added = 0
        for row in sorted(history, key=lambda r: r["created_at"]):
            if (row["created_at"], row["content"]) in have:
                continue
            self.conn.execute(
                "INSERT INTO working_memory_history(scope, scope_id, content, source, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [scope, scope_id, row["content"], row["source"], row["created_at"]],
            )
            added += 1
        if current is not None:
            self.conn.execute(f"UPDATE {table} SET working_memory = ? WHERE {key} = ?", [current, scope_id])
        return added

    def history(self, scope: str, scope_id: str, limit: int = 50) -> list[dict]:
        rows = self.conn.execute(
            "SELECT content, source, created_at FROM working_memory_history WHERE scope = ? AND scope_id = ? "
            "ORDER BY id DESC LIMIT ?",
            [scope, scope_id, limit],
        ).fetchall()
        return [dict(r) for r in rows]
