"""The table classes where PostgreSQL's SQL differs from SQLite's (most of it does not)."""

import json
from typing import Any

from memcli.records import Message
from memcli.store.memories import MemoryTable
from memcli.store.messages import _INSERT_COLUMNS, MessageTable, row_of
from memcli.store.threads import ThreadTable


class PgInsertIds:
    conn: Any  # Table's, beside which this is mixed in

    def _insert_id(self, sql: str, params) -> int:
        return self.conn.execute(sql + " RETURNING id", params).fetchone()[0]


class PgThreadTable(ThreadTable):
    RESOURCE_SIDE_TABLES = ()  # no packed vector codes: pgvector searches the floats

    @staticmethod
    def _metadata_match(key: str, value) -> tuple[str, list]:
        # jsonb equality: 3 matches 3 and "3" matches "3", as SQLite's json_extract compares
        return "(t.metadata::jsonb -> ?) = ?::jsonb", [key, json.dumps(value)]


class PgMessageTable(MessageTable):
    NO_LIMIT = None  # type: ignore[assignment]

    def _new_rowids(self, n: int) -> list[int]:
        """From a sequence: writers of other resources take rowids at the same time
        (pg/parallel_writes.py), so a batch's need not be consecutive."""
        if not n:
            return []
        rows = self.conn.execute(
            "SELECT nextval('message_rowids') FROM generate_series(1, ?)", [n]
        ).fetchall()
        return sorted(r[0] for r in rows)

    def _insert_bulk(self, messages: list[Message]) -> None:
        """The sequence is the high-water mark here (no settings row every writer updates)."""
        if messages:
            self._insert_indexed(messages)

    def _insert_indexed(self, messages: list[Message]) -> None:
        """COPY the rows (5x faster than INSERTs here); the tsvector is a generated column."""
        with self.conn.copy(f"COPY messages ({_INSERT_COLUMNS}) FROM STDIN") as copy:
            for m in messages:
                copy.write_row(row_of(m))


class PgMemoryTable(PgInsertIds, MemoryTable):
    pass
