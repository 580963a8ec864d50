"""Copying a whole memory from one store to another (SQLite file to PostgreSQL and
back), vectors included, checked by counts and checksums before it commits.

Rows keep their keys (message rowids too: observation and extraction cursors
point at them). The destination must be empty, and the copy is one
transaction there: it lands whole or not at all.
"""

import hashlib
import json

from memcli.errors import InputError, StoreError
from memcli.store.indexed_text import longer_than_indexed, partly_indexed
from memcli.store.vectors import ChunkVector

BATCH = 5000

# table -> (columns copied and compared, order); messages and vectors go their own way
TABLES = {
    "resources": ("id, working_memory, metadata, created_at, updated_at", "id"),
    "threads": (
        "id, resource_id, title, metadata, cloned_from, created_at, updated_at, working_memory",
        "id",
    ),
    "observations": (
        "scope, scope_id, generation, origin, observations, current_task, suggested_response, token_count, "
        "observed_tokens, last_observed_rowid, metadata, created_at",
        "scope, scope_id, generation",
    ),
    "observation_buffers": (
        "id, scope, scope_id, observations, current_task, suggested_response, first_rowid, last_rowid, "
        "token_count, observed_tokens, metadata, created_at",
        "id",
    ),
    "working_memory_history": ("scope, scope_id, content, source, created_at", "id"),
    "memories": ("id, resource_id, thread_id, created_at, ended_at", "id"),
    "memory_versions": (
        "id, memory_id, version, event, text, category, valid_from, valid_to, expires_at, created_at, "
        "superseded_at, actor, embedding, embedding_model",
        "id",
    ),
    "memory_sources": ("version_id, message_id, thread_id", "rowid"),
    "memory_cursors": ("thread_id, last_rowid", "thread_id"),
    "pending_embeddings": ("message_rowid", "message_rowid"),
}
# inserted after the messages they point at
AFTER_MESSAGES = ("memory_cursors", "pending_embeddings")
MESSAGE_COLUMNS = "rowid, id, thread_id, resource_id, role, content, metadata, token_count, created_at"


def _rows(store, sql: str, params=()):
    return [tuple(r) for r in store.conn.execute(sql, params)]


def _pages(store, table: str, columns: str, order: str):
    """All rows of a table in key order, BATCH at a time (keyset paging on the first key)."""
    key = order.split(",")[0].strip()
    if key != order:  # a composite order: small tables (observation logs), read at once
        yield _rows(store, f"SELECT {columns} FROM {table} ORDER BY {order}")
        return
    last = None
    while True:
        where, params = (f" WHERE {key} > ?", [last]) if last is not None else ("", list[object]())
        rows = store.conn.execute(
            f"SELECT {key}, {columns} FROM {table}{where} ORDER BY {key} LIMIT ?", [*params, BATCH]
        )
        page = [tuple(r) for r in rows]
        if not page:
            return
        last = page[-1][0]
        yield [r[1:] for r in page]


def _insert(store, table: str, columns: str, rows: list[tuple]) -> None:
    if rows:
        marks = ", ".join("?" * len(columns.split(",")))
        store.conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


class _Digest:
    def __init__(self):
        self.rows, self.hash = 0, hashlib.sha256()

    def update(self, rows) -> None:
        for row in rows:
            self.rows += 1
            self.hash.update(json.dumps([v.hex() if isinstance(v, bytes) else v for v in row]).encode())

    def result(self) -> dict:
        return {"rows": self.rows, "sha256": self.hash.hexdigest()}


def fingerprint(store) -> dict[str, dict]:
    """table -> {rows, sha256} over the copied columns in key order, vectors as float32 bytes."""
    out = {}
    for table, (columns, order) in TABLES.items():
        digest = _Digest()
        for page in _pages(store, table, columns, order):
            digest.update(page)
        out[table] = digest.result()
    messages, vectors = _Digest(), _Digest()
    for page in _pages(store, "messages", MESSAGE_COLUMNS, "rowid"):
        messages.update(page)
        vectors.update(sorted(store.vectors.vectors_of([r[0] for r in page]), key=lambda v: (v[0], v[1])))
    out["messages"], out["vectors"] = messages.result(), vectors.result()
    return out


def _check_empty(dst) -> None:
    held = dst.conn.execute(
        "SELECT (SELECT count(*) FROM resources) + (SELECT count(*) FROM messages)"
    ).fetchone()[0]
    if held:
        raise InputError(f"{dst.path} already holds memory; copy into a new, empty database")


def copy_store(
    src, dst, progress=None, stage=None, timings: dict | None = None, notices: list[str] | None = None
) -> dict:
    """Copy everything in src into the empty dst; returns the verified fingerprint.
    stage(text) hears when a long step after the rows starts (an index build); timings
    gets the seconds of the rows, the index and the check; notices, what dst indexes
    less of than src did."""
    import time

    _check_empty(dst)
    total = src.conn.execute("SELECT count(*) FROM messages").fetchone()[0]
    timings = {} if timings is None else timings
    started = time.perf_counter()
    with dst.transaction():
        for table, (columns, order) in TABLES.items():
            if table not in AFTER_MESSAGES and table not in ("memory_versions", "memory_sources"):
                for page in _pages(src, table, columns, order):
                    _insert(dst, table, columns, page)
        model = src.vectors.model() if src.vectors.exists() else None
        if model:
            dst.vectors.ensure(*model)
        limit, longer = dst.keyword_indexed_chars, 0
        with dst.bulk_load(stage):  # PostgreSQL: keyword and vector indexes built once, after
            done = 0
            for page in _pages(src, "messages", "rowid", "rowid"):
                messages = src.messages.by_rowids([r[0] for r in page])
                dst.messages.insert_with_rowids([messages[r[0]] for r in page])
                longer += longer_than_indexed(messages.values(), limit)
                if model:
                    owner = {m.rowid: m.resource_id for m in messages.values()}
                    dst.vectors.add(
                        [
                            ChunkVector(r, s, h, owner[r], v)
                            for r, s, h, v in src.vectors.vectors_of(list(owner))
                        ]
                    )
                done += len(page)
                if progress:
                    progress(done, total)
            timings["rows_s"] = round(time.perf_counter() - started, 2)
        timings["index_s"] = round(time.perf_counter() - started - timings["rows_s"], 2)
        for table in ("memory_versions", "memory_sources", *AFTER_MESSAGES):
            columns, order = TABLES[table]
            for page in _pages(src, table, columns, order):
                _insert(dst, table, columns, page)
        for key, value in _rows(src, "SELECT key, value FROM settings ORDER BY key"):
            dst.set_setting(key, value)
        dst.after_copy()
        checked = time.perf_counter()
        expected, got = fingerprint(src), fingerprint(dst)
        timings["check_s"] = round(time.perf_counter() - checked, 2)
        if expected != got:
            differ = ", ".join(t for t in expected if expected[t] != got.get(t))
            raise StoreError(f"the copy does not match its source ({differ}); nothing was written")
    if longer and limit is not None and notices is not None:
        notices.append(partly_indexed(longer, limit))
    return expected
