"""The PostgreSQL store: the same interface as the SQLite `Store`, on a server
many processes and hosts share (MEMCLI_DB=postgresql://...).

A write transaction takes the database's advisory lock, so writers queue as
they do on SQLite (BEGIN IMMEDIATE): an owner check and the write it guards
are atomic, message rowids grow in commit order (the observer's cursor never
skips a message committed late), and readers never wait. A write that names
its resources takes that lock shared and a lock per resource instead, so
writers of different resources run in parallel (pg/parallel_writes.py).
"""

import threading
from contextlib import contextmanager

from memcli import database
from memcli.store.observations import ObservationTable
from memcli.store.pg import connection as pg
from memcli.store.pg.keyword import PgKeywordIndex
from memcli.store.pg.keyword_text import INDEXED_CHARS
from memcli.store.pg.parallel_writes import RESOURCE_LOCKS, resource_lock_keys
from memcli.store.pg.schema import STEPS, WRITE_LOCK, applied, ensure_schema
from memcli.store.pg.tables import PgMemoryTable, PgMessageTable, PgThreadTable
from memcli.store.pg.vectors import PgVectorIndex
from memcli.store.sqlite_store import Store
from memcli.store.working_memory import WorkingMemoryTable


class PgStore(Store):
    backend = "postgresql"
    nul_refused: str | None = pg.NUL_REFUSED
    keyword_indexed_chars: int | None = INDEXED_CHARS  # a tsvector cannot exceed 1 MB

    def __init__(self, url: str, notice=None, read_url: str | None = None):
        pg.modules()  # one line naming the extra to install, before anything else
        self.url, self.path = url, database.shown(url)
        self.vec_error = None
        setup = pg.PgConnection(pg.connect(url))
        try:
            upgraded = ensure_schema(setup, notice)
            pg.configure(setup.raw)
        except BaseException:
            setup.close()
            raise
        self._local = threading.local()
        self._pool = pg.Pool(url, first=setup.raw)  # a one-shot command uses only this connection
        self.replica = None
        if read_url:
            from memcli.store.pg.replica import FINGERPRINT, ReadReplica

            self.replica = ReadReplica(read_url, setup.execute(FINGERPRINT).fetchone()[0])
            if upgraded:  # the replica must replay the new schema before it is asked anything
                self.replica.wrote(setup)
        self._statements = pg.Statements(self._pool, self.replica)
        # the same tables as the SQLite Store, in the dialect of PostgreSQL where it differs
        self.threads = PgThreadTable(self)
        self.messages = PgMessageTable(self)
        self.observations = ObservationTable(self)
        self.working_memory = WorkingMemoryTable(self)
        self.memories = PgMemoryTable(self)
        self.vectors = PgVectorIndex(self)
        self.keyword = PgKeywordIndex(self)

    @property
    def conn(self):
        """The connection this thread's transaction holds, else one per statement."""
        held = getattr(self._local, "held", None)
        return held if held is not None else self._statements

    @contextmanager
    def transaction(self, resources=None):
        """One write transaction; writers queue on the database's memcli lock, or, when
        they name every resource they write, only on those resources' locks."""
        if getattr(self._local, "held", None) is not None:
            yield
            return
        with self._pool.transaction() as conn:
            self._local.held = conn
            try:
                try:
                    if resources is None:
                        conn.execute("SELECT pg_advisory_xact_lock(?)", [WRITE_LOCK])
                    else:
                        conn.execute("SELECT pg_advisory_xact_lock_shared(?)", [WRITE_LOCK])
                        for key in resource_lock_keys(resources):
                            conn.execute("SELECT pg_advisory_xact_lock(?, ?)", [RESOURCE_LOCKS, key])
                    yield
                except BaseException:
                    pg.rollback_quietly(conn.raw)
                    raise
                conn.execute("COMMIT")
                if self.replica is not None:
                    self.replica.wrote(conn)
            finally:
                self._local.held = None

    @contextmanager
    def bulk_load(self, stage=None):
        """Load many messages and vectors (a copy) without keeping the keyword (GIN) and
        HNSW indexes row by row: both are dropped, then built once over everything, inside
        the caller's transaction (a failed load leaves the old ones). stage(text) hears of
        each build."""
        vectors = self.vectors.exists()
        self.conn.execute("DROP INDEX IF EXISTS messages_terms")
        if vectors:
            self.conn.execute("DROP INDEX IF EXISTS vec_floats_hnsw")
        yield
        # built in memory, an index is several times faster to make than one that spills
        self.conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
        if stage:
            stage("building the keyword index")
        self.conn.execute("CREATE INDEX messages_terms ON messages USING gin (terms)")
        if vectors:
            if stage:
                stage("building the vector index")
            self.vectors.create_hnsw()

    def after_copy(self) -> None:
        """Move id sequences past ids that arrived with copied rows."""
        self.conn.execute(
            "SELECT setval('message_rowids', 1 + greatest(coalesce(max(rowid), 0), "
            "(SELECT last_value FROM message_rowids)), false) FROM messages"
        )
        for table, column in (("memory_versions", "id"), ("chunks", "id"), ("observations", "id")):
            self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence(?, ?), coalesce(max({column}), 0) + 1, false) FROM {table}",
                [f"{pg.SCHEMA}.{table}", column],
            )

    def size(self) -> int:
        return self.conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relkind = 'r'",
            [pg.SCHEMA],
        ).fetchone()[0]

    def optimize(self) -> None:
        """Refresh the planner's statistics and tidy the indexes (VACUUM ANALYZE)."""
        for (table,) in self.conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = ?", [pg.SCHEMA]
        ):
            self.conn.execute(f"VACUUM ANALYZE {pg.SCHEMA}.{table}")

    def vacuum(self) -> None:
        self.optimize()

    def integrity_check(self) -> str:
        """What PostgreSQL can be asked cheaply: the server, pgvector and the schema version."""
        problems = [f"{name}: {detail}" for name, ok, detail in self.health() if not ok]
        return "; ".join(problems) or "ok"

    def health(self) -> list[tuple[str, bool, str]]:
        version = self.conn.execute("SHOW server_version").fetchone()[0]
        major = int(version.split(".")[0])
        vector = self.conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        done = applied(self.conn) or []
        return [
            (
                "server",
                major >= 15,
                f"PostgreSQL {version}" + ("" if major >= 15 else " (15 or later needed)"),
            ),
            ("pgvector", vector is not None, f"pgvector {vector[0]}" if vector else "extension missing"),
            (
                "schema",
                len(done) == len(STEPS),
                f"{len(done)} of {len(STEPS)} migrations ({done[-1] if done else 'none'})",
            ),
        ] + ([self.replica.health()] if self.replica is not None else [])

    def backup(self, target) -> None:
        """A snapshot of the whole memory in a new SQLite file (`db copy` to a file)."""
        from memcli.store.copy import copy_store

        dest = Store(target)
        try:
            copy_store(self, dest)
        finally:
            dest.close()

    def close(self) -> None:
        self._pool.close()
        if self.replica is not None:
            self.replica.close()
