"""Observation records: append-only generations per scope (thread or resource)."""

import json
from dataclasses import dataclass, field

from memcli.store import owners
from memcli.store.base import Table


@dataclass
class ObservationRecord:
    scope: str
    scope_id: str
    generation: int
    origin: str  # "observation" or "reflection"
    observations: str
    current_task: str | None = None
    suggested_response: str | None = None
    token_count: int = 0
    observed_tokens: int = 0
    last_observed_rowid: int | None = None
    metadata: dict = field(default_factory=dict)
    created_at: str = ""


_FIELDS = (
    "scope, scope_id, generation, origin, observations, current_task, suggested_response, "
    "token_count, observed_tokens, last_observed_rowid, metadata, created_at"
)


def _record(row) -> ObservationRecord:
    data = dict(row)
    data.pop("id", None)
    data["metadata"] = json.loads(data["metadata"] or "{}")
    return ObservationRecord(**data)


@dataclass
class BufferedObservation:
    """Observations made ahead of the threshold (a background observer), not yet in the log."""

    scope: str
    scope_id: str
    observations: str
    first_rowid: int
    last_rowid: int
    current_task: str | None = None
    suggested_response: str | None = None
    token_count: int = 0
    observed_tokens: int = 0
    metadata: dict = field(default_factory=dict)
    created_at: str = ""
    id: int | None = None


_BUFFER_FIELDS = (
    "scope, scope_id, observations, first_rowid, last_rowid, current_task, suggested_response, "
    "token_count, observed_tokens, metadata, created_at"
)


class ObservationTable(Table):
    def buffers(self, scope: str, scope_id: str) -> list[BufferedObservation]:
        """The scope's buffered observations, oldest messages first."""
        rows = self.conn.execute(
            f"SELECT id, {_BUFFER_FIELDS} FROM observation_buffers WHERE scope = ? AND scope_id = ? "
            "ORDER BY last_rowid",
            [scope, scope_id],
        ).fetchall()
        out = []
        for row in rows:
            data = dict(row)
            data["metadata"] = json.loads(data["metadata"] or "{}")
            out.append(BufferedObservation(**data))
        return out

    def add_buffer(self, buffered: BufferedObservation, *, owner: str) -> None:
        """Keep a buffered observation, in a scope owner owns (checked: owners.require)."""
        owners.require(self.conn, owner, scopes=[(buffered.scope, buffered.scope_id)])
        self.conn.execute(
            f"INSERT INTO observation_buffers({_BUFFER_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                buffered.scope,
                buffered.scope_id,
                buffered.observations,
                buffered.first_rowid,
                buffered.last_rowid,
                buffered.current_task,
                buffered.suggested_response,
                buffered.token_count,
                buffered.observed_tokens,
                json.dumps(buffered.metadata, ensure_ascii=False),
                buffered.created_at,
            ],
        )

    def drop_buffers(self, scope: str, scope_id: str, *, up_to: int) -> int:
        """Forget buffered observations of messages up to a rowid (activated, or overtaken)."""
        return self.conn.execute(
            "DELETE FROM observation_buffers WHERE scope = ? AND scope_id = ? AND last_rowid <= ?",
            [scope, scope_id, up_to],
        ).rowcount

    def latest(self, scope: str, scope_id: str) -> ObservationRecord | None:
        row = self.conn.execute(
            f"SELECT {_FIELDS} FROM observations WHERE scope = ? AND scope_id = ? "
            "ORDER BY generation DESC LIMIT 1",
            [scope, scope_id],
        ).fetchone()
        return _record(row) if row else None

    def history(self, scope: str, scope_id: str) -> list[ObservationRecord]:
        rows = self.conn.execute(
            f"SELECT {_FIELDS} FROM observations WHERE scope = ? AND scope_id = ? ORDER BY generation",
            [scope, scope_id],
        ).fetchall()
        return [_record(r) for r in rows]

    def append(self, record: ObservationRecord, *, owner: str) -> None:
        """Add a generation to a scope that owner owns (checked: owners.require)."""
        owners.require(self.conn, owner, scopes=[(record.scope, record.scope_id)])
        self.conn.execute(
            f"INSERT INTO observations({_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                record.scope,
                record.scope_id,
                record.generation,
                record.origin,
                record.observations,
                record.current_task,
                record.suggested_response,
                record.token_count,
                record.observed_tokens,
                record.last_observed_rowid,
                json.dumps(record.metadata, ensure_ascii=False),
                record.created_at,
            ],
        )

    def copy_thread(self, source: str, target: str, rowid_map: dict[int, int], *, owner: str) -> int:
        """Copy a thread's generations to a clone, remapping the observed-message cursor.

        A cursor past the cloned messages maps to the newest cloned message at or
        before it, so the clone never re-observes what the log already holds.
        """
        records = self.history("thread", source)
        ordered = sorted(rowid_map)
        for record in records:
            cursor = record.last_observed_rowid
            if cursor is not None:
                covered = [old for old in ordered if old <= cursor]
                cursor = rowid_map[covered[-1]] if covered else None
            record.scope_id = target
            record.last_observed_rowid = cursor
            self.append(record, owner=owner)
        return len(records)
