"""Working memory rows: the current text per scope, and every change kept."""

from memcli.store.base import Table
from memcli.timefmt import now

_COLUMN = {"resource": ("resources", "id"), "thread": ("threads", "id")}


class WorkingMemoryTable(Table):
    def get(self, scope: str, scope_id: str) -> str | None:
        table, key = _COLUMN[scope]
        row = self.conn.execute(f"SELECT working_memory FROM {table} WHERE {key} = ?", [scope_id]).fetchone()
        return row[0] if row else None

    def set(self, scope: str, scope_id: str, content: str | None, source: str) -> None:
        """Replace the text (None clears it) and record the change. Run in a transaction."""
        table, key = _COLUMN[scope]
        stamp = now()
        if scope == "resource":
            self.conn.execute(
                "INSERT OR IGNORE INTO resources(id, created_at, updated_at) VALUES (?, ?, ?)",
                [scope_id, stamp, stamp],
            )
        self.conn.execute(
            f"UPDATE {table} SET working_memory = ?, updated_at = ? WHERE {key} = ?",
            [content, stamp, scope_id],
        )
        self.conn.execute(
            "INSERT INTO working_memory_history(scope, scope_id, content, source, created_at) VALUES (?, ?, ?, ?, ?)",
            [scope, scope_id, content, source, stamp],
        )

    def history(self, scope: str, scope_id: str, limit: int = 50) -> list[dict]:
        rows = self.conn.execute(
            "SELECT content, source, created_at FROM working_memory_history WHERE scope = ? AND scope_id = ? "
            "ORDER BY id DESC LIMIT ?",
            [scope, scope_id, limit],
        ).fetchall()
        return [dict(r) for r in rows]
