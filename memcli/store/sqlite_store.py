"""The SQLite store: threads, messages, vectors, keyword search, observations and
settings in one file (the interface every backend implements: store/interface.py)."""

import threading
from contextlib import contextmanager
from pathlib import Path

from memcli.store.connection import check_is_memcli_file, connect, sqlite_module, write_error
from memcli.store.keyword import KeywordIndex
from memcli.store.memories import MemoryTable
from memcli.store.messages import MessageTable
from memcli.store.migrations import REINDEX_PENDING, ensure_schema
from memcli.store.observations import ObservationTable
from memcli.store.threads import ThreadTable
from memcli.store.vectors import VectorIndex
from memcli.store.working_memory import WorkingMemoryTable


class Store:
    backend = "sqlite"
    nul_refused: str | None = None  # why text with NUL cannot be stored, where it cannot
    keyword_indexed_chars: int | None = None  # FTS5 indexes a message whole

    def __init__(self, path: Path | str, notice=None):
        check_is_memcli_file(path)  # before Path(), which would fold a URL's '//'
        self.path = Path(path) if str(path) != ":memory:" else path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list = []
        conn = self.conn  # the opening thread's connection: schema first
        self.vec_error = self._local.vec_error
        ensure_schema(conn, notice)
        self.threads = ThreadTable(self)
        self.messages = MessageTable(self)
        self.vectors = VectorIndex(self)
        self.keyword = KeywordIndex(self)
        self.observations = ObservationTable(self)
        self.working_memory = WorkingMemoryTable(self)
        self.memories = MemoryTable(self)
        if self.get_setting(REINDEX_PENDING):
            # vectors stored before search codes existed (or an upgrade killed
            # before it derived them): derive them now, and only then clear the mark
            with self.transaction():
                if self.get_setting(REINDEX_PENDING):  # not done by another process meanwhile
                    if self.vectors.exists():
                        self.vectors.reindex()
                    self.delete_setting(REINDEX_PENDING)

    @property
    def conn(self):
        """This thread's connection (opened on first use; SQLite serialises the writers)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.path == ":memory:" and self._all:
                return self._all[0]  # one in-memory database: there is no other to open
            conn, self._local.vec_error = connect(self.path)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self, resources=None):
        """One write transaction; IMMEDIATE so concurrent writers queue on busy_timeout
        (one writer at a time whatever resources it names: SQLite has one write lock)."""
        conn = self.conn
        if conn.in_transaction:
            yield
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                # SQLite may already have rolled back by itself (a full disk, an I/O error)
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite_module().Error as exc:  # every write's driver error, said in one line
            raise write_error(exc, self.path) from exc

    @contextmanager
    def bulk_load(self, stage=None):
        """Around a load of many rows (a copy): SQLite's indexes are kept as they go."""
        yield

    def get_setting(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_setting(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO settings(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    def delete_setting(self, key: str) -> None:
        self.conn.execute("DELETE FROM settings WHERE key = ?", [key])

    def stats(self) -> dict:
        q = lambda sql: self.conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "backend": self.backend,
            "path": str(self.path),
            "bytes": self.size(),
            "resources": q("SELECT count(*) FROM resources"),
            "threads": q("SELECT count(*) FROM threads"),
            "messages": q("SELECT count(*) FROM messages"),
            "tokens": q("SELECT coalesce(sum(token_count), 0) FROM messages"),
            "embedded_messages": q("SELECT count(DISTINCT message_rowid) FROM chunks"),
            "messages_without_vectors": self.messages.count_missing_embeddings(),
            "chunks": q("SELECT count(*) FROM chunks"),
            "embedding_model": self.get_setting("embedding_model"),
            "embedding_dim": int(self.get_setting("embedding_dim") or 0) or None,
        }

    def after_copy(self) -> None:
        """Anything to settle after rows arrived with their own ids (SQLite: nothing)."""

    def size(self) -> int:
        """Bytes the memory takes (the file; on PostgreSQL, memcli's tables)."""
        return self.path.stat().st_size if isinstance(self.path, Path) and self.path.exists() else 0

    def health(self) -> list[tuple[str, bool, str]]:
        """Backend checks for `db doctor`: (check, ok, detail)."""
        integrity = self.integrity_check()
        return [("integrity", integrity == "ok", integrity)]

    def optimize(self) -> None:
        """Merge FTS5 segments, repack vector segments, refresh the planner's statistics."""
        self.keyword.optimize()
        if self.vectors.exists():
            with self.transaction():
                if self.vectors.missing_codes():
                    self.vectors.reindex()
                else:
                    self.vectors.repack()
        self.conn.execute("PRAGMA optimize")
        self.conn.execute("ANALYZE")

    def vacuum(self) -> None:
        """Rewrite the file without free pages (needs no other writer at the time)."""
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.execute("VACUUM")

    def integrity_check(self) -> str:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0]

    def backup(self, target: Path) -> None:
        """A consistent snapshot via SQLite's online backup, safe while others write."""
        from memcli.store.connection import connect as _connect

        dest, _ = _connect(target, require_vec=False)
        try:
            self.conn.backup(dest)
        finally:
            dest.close()

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
