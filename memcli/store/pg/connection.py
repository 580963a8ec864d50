"""Opening a PostgreSQL database: psycopg 3, a connection pool, and the SQL the
table classes write (SQLite's '?' marks) passed through unchanged otherwise.

The table classes in memcli/store/ are written in the SQL both databases
share; `PgConnection` only swaps '?' for psycopg's '%s'. What differs
(full-text search, vectors, generated ids) lives in the pg/ subclasses.
"""

import contextlib
import functools
import re

from memcli.database import shown as shown_db
from memcli.errors import InputError, StoreError

INSTALL = "PostgreSQL needs the postgres extra: pip install 'memcli[postgres]'"
SCHEMA = "memcli"  # every memcli table lives in this schema; nothing else is touched
POOL_SIZE = 20  # connections per process; each thread holds one while it lives
POOL_WAIT = 30  # seconds a thread waits for a free connection before giving up
PROBE_AFTER = 1  # seconds without a pooled connection before the server itself is tried


def _quiet_pool_logs() -> None:
    """psycopg_pool logs each failed reconnection as a warning, which Python prints to
    stderr when no logging is set up: memcli says what went wrong in its own one line."""
    import logging

    log = logging.getLogger("psycopg.pool")
    if not log.handlers:
        log.addHandler(logging.NullHandler())
        log.propagate = False


def modules(pool: bool = False):
    """(psycopg, psycopg_pool or None unless asked for), or one line saying what to install."""
    import importlib

    try:
        psycopg = importlib.import_module("psycopg")
        psycopg_pool = importlib.import_module("psycopg_pool") if pool else None
    except ImportError:
        raise StoreError(INSTALL) from None
    if pool:
        _quiet_pool_logs()
    return psycopg, psycopg_pool


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """SQLite-style '?' marks as psycopg's '%s' (and a literal '%' doubled); a '?' inside
    a quoted literal or name ('a?b', "x?") stays as it is."""
    out, quote = [], None
    for ch in sql:
        if ch == "%":
            out.append("%%")
        elif quote is not None:
            out.append(ch)
            quote = None if ch == quote else quote
        elif ch in "'\"":
            out.append(ch)
            quote = ch
        else:
            out.append("%s" if ch == "?" else ch)
    return "".join(out)


@functools.lru_cache(maxsize=256)
def _row_class(names: tuple[str, ...]):
    index = {name: i for i, name in enumerate(names)}

    class Row(tuple):
        """A result row read by position or by column name, like sqlite3.Row."""

        __slots__ = ()

        def __getitem__(self, key):
            if isinstance(key, str):
                return tuple.__getitem__(self, index[key])
            return tuple.__getitem__(self, key)

        def keys(self):
            return list(names)

    return Row


def row_factory(cursor):
    if cursor.description is None:
        return tuple
    return _row_class(tuple(c.name for c in cursor.description))


NUL_REFUSED = (
    "PostgreSQL cannot store the NUL character (\\u0000) in text; remove it from the input "
    "(a SQLite file keeps it)"
)


@contextlib.contextmanager
def _server_errors():
    """What PostgreSQL refuses in text is bad input (the transaction rolls back: nothing
    is written); what the server or its administrator decides (rights, a read-only
    replica, a full disk, a cancelled query, a lost connection) is one line, not a bug."""
    import psycopg

    try:
        yield
    except psycopg.DataError as exc:
        if "NUL" in str(exc):
            raise InputError(NUL_REFUSED) from None
        raise
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StoreError(
            f"PostgreSQL refused: {_first_line(exc)} (the role needs to own, or be granted, "
            f"the {SCHEMA} schema and its tables; see docs/postgres.md)"
        ) from None
    except psycopg.Error as exc:
        if (exc.sqlstate or "08")[:2] not in SERVER_SIDE:
            raise  # anything else is memcli's own mistake: an internal error
        raise StoreError(f"PostgreSQL: {_first_line(exc)}") from None


# SQLSTATE classes that are the server's situation, not memcli's SQL: connection,
# transaction state (a read-only replica), resources (disk full), operator
# intervention (cancelled, shutting down), system errors
SERVER_SIDE = ("08", "25", "53", "54", "57", "58", "XX")


class PgConnection:
    """One psycopg connection (autocommit: transactions are opened explicitly)."""

    def __init__(self, raw):
        self.raw = raw

    def execute(self, sql: str, params=(), binary: bool = False):
        cur = self.raw.cursor(row_factory=row_factory)
        with _server_errors():
            cur.execute(translate(sql), list(params), binary=binary)
        return cur

    def executemany(self, sql: str, rows):
        rows = list(rows)
        cur = self.raw.cursor()
        if rows:
            with _server_errors():
                cur.executemany(translate(sql), rows)
        return cur

    @contextlib.contextmanager
    def copy(self, sql: str):
        """COPY ... FROM STDIN: write_row() each row (bulk writes)."""
        with _server_errors(), self.raw.cursor().copy(sql) as copy:
            yield copy

    def script(self, sql: str) -> None:
        """Several statements, no parameters (schema steps)."""
        self.raw.execute(sql)

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()


def _integral_numbers(raw) -> None:
    """sum() of integers comes back as numeric: read it as int (float if not whole)."""
    from psycopg.types.numeric import NumericLoader

    class Loader(NumericLoader):
        def load(self, data):
            value = super().load(data)
            return int(value) if value == value.to_integral_value() else float(value)

    raw.adapters.register_loader("numeric", Loader)


def configure(raw, *, vectors: bool = True) -> None:
    """Session settings every memcli connection needs."""
    raw.execute(f"SET search_path TO {SCHEMA}, public")
    # relaxed_order: a filtered HNSW scan goes on until it has enough rows (pgvector 0.8)
    raw.execute("SET hnsw.iterative_scan = relaxed_order")
    raw.execute("SET hnsw.ef_search = 200")
    _integral_numbers(raw)
    if vectors:
        from pgvector.psycopg import register_vector

        register_vector(raw)


_PASSWORD_IN_ERROR = re.compile(r"password=\S+")


def _first_line(exc: Exception) -> str:
    """The error's first line, any password in it hidden."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return _PASSWORD_IN_ERROR.sub("password=***", reason)


def connect_error(url: str, exc: Exception) -> StoreError:
    return StoreError(f"cannot connect to {shown_db(url)}: {_first_line(exc)}")


def connect(url: str):
    """A plain autocommit connection (schema checks and upgrades run on it)."""
    psycopg, _ = modules()
    try:
        # no server-side prepared statements: a pooler in transaction mode (PgBouncer)
        # may run the next statement on another server connection
        return psycopg.connect(url, autocommit=True, connect_timeout=10, prepare_threshold=None)
    except psycopg.Error as exc:
        raise connect_error(url, exc) from None


def rollback_quietly(raw) -> None:
    """End an open transaction, if the connection still works (its error is already on its way up)."""
    import psycopg

    if raw.closed or raw.info.transaction_status in (0, 4):  # idle, or unknown (connection lost)
        return
    try:
        raw.execute("ROLLBACK")
    except psycopg.Error:
        pass


class Result:
    """A statement's rows, read off before its connection goes back to the pool."""

    def __init__(self, cur):
        self.description, self.rowcount = cur.description, cur.rowcount
        self._rows = cur.fetchall() if cur.description else []
        self._at = 0

    def fetchone(self):
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchall(self) -> list:
        rest, self._at = self._rows[self._at :], len(self._rows)
        return rest

    def __iter__(self):
        return iter(self.fetchall())


class Pool:
    """Connections for a store. The one the schema was checked on serves first: a one-shot
    command (threads list, add, recall) opens no other. Only when a second thread needs
    one at the same time (an MCP server's workers, the web viewer) is psycopg_pool's
    pool made; outside a transaction each statement borrows a connection and gives it
    back, and a transaction holds one from BEGIN to COMMIT."""

    def __init__(self, url: str, first=None):
        import threading

        self.url = url
        self._first = first
        self._connect_first = first is None  # made on first use (a replica's pool)
        self._first_free = threading.Lock()
        self._making = threading.Lock()
        self._pool = None

    def _shared(self):
        with self._making:
            if self._pool is None:
                _, psycopg_pool = modules(pool=True)
                self._pool = psycopg_pool.ConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=POOL_SIZE,
                    kwargs={"autocommit": True, "connect_timeout": 10, "prepare_threshold": None},
                    configure=configure,
                    open=True,
                    timeout=POOL_WAIT,
                    name="memcli",
                )
        return self._pool

    @contextlib.contextmanager
    def connection(self):
        """A PgConnection for the duration of the block."""
        if self._connect_first:
            with self._making:
                if self._connect_first:
                    self._connect_first = False
                    raw = connect(self.url)
                    try:
                        configure(raw)
                    except Exception as exc:  # no pgvector there: not a memcli database
                        raw.close()
                        raise connect_error(self.url, exc) from None
                    self._first = raw
        first = self._first
        if first is not None and not first.closed and self._first_free.acquire(blocking=False):
            try:
                yield PgConnection(first)
            finally:
                rollback_quietly(first)  # never hand on an open transaction
                self._first_free.release()
            return
        _, psycopg_pool = modules(pool=True)
        pool = self._shared()
        try:
            raw = pool.getconn(timeout=PROBE_AFTER)
        except psycopg_pool.PoolTimeout:
            # a server that went away fails now, naming it; a busy pool is waited for
            connect(self.url).close()
            try:
                raw = pool.getconn(timeout=POOL_WAIT - PROBE_AFTER)
            except psycopg_pool.PoolTimeout:
                raise StoreError(
                    f"no free connection to {shown_db(self.url)} after {POOL_WAIT} s "
                    f"({POOL_SIZE} per process are in use)"
                ) from None
        try:
            yield PgConnection(raw)
        finally:
            rollback_quietly(raw)  # never hand on an open transaction
            pool.putconn(raw)  # the pool drops a broken connection itself

    def forget_lost(self) -> None:
        """Drop the idle connections the server has closed (a restart, an administrator)."""
        if self._first is not None and self._first.closed:
            self._first = None
        if self._pool is not None:
            self._pool.check()

    @contextlib.contextmanager
    def transaction(self):
        """A connection inside BEGIN; a connection found dead at BEGIN is replaced once."""
        for attempt in (1, 2):
            with self.connection() as conn:
                try:
                    conn.execute("BEGIN")
                except StoreError:
                    if attempt == 2 or not conn.raw.closed:
                        raise
                    self.forget_lost()
                    continue
                yield conn
                return

    def close(self) -> None:
        if self._first is not None:
            self._first.close()
        if self._pool is not None:
            self._pool.close()


def _is_read(sql: str) -> bool:
    return sql.lstrip()[:7].upper().startswith(("SELECT", "WITH", "SHOW"))


class Statements:
    """What `store.conn` is outside a transaction: each statement on a borrowed connection."""

    in_transaction = False

    def __init__(self, pool: Pool, replica=None):
        self._pool, self._replica = pool, replica

    def execute(self, sql: str, params=(), binary: bool = False) -> Result:
        """binary: results in PostgreSQL's binary form (vectors decode 10x faster)."""
        if self._replica is not None and _is_read(sql):
            reads = self._replica.pool_for_read()  # None: behind this process's writes, or unusable
            if reads is not None:
                conn = None
                try:
                    with reads.connection() as conn:
                        return Result(conn.execute(sql, params, binary))
                except StoreError as exc:
                    if conn is not None and not conn.raw.closed:
                        raise  # the statement's own error
                    self._replica.lost(exc)  # unreachable or gone: from now on the primary answers
        with self._pool.connection() as conn:
            try:
                return Result(conn.execute(sql, params, binary))
            except StoreError:
                if not (conn.raw.closed and _is_read(sql)):
                    raise
        # the borrowed connection had been closed by the server: a read is safe to run again
        self._pool.forget_lost()
        with self._pool.connection() as conn:
            return Result(conn.execute(sql, params, binary))

    def executemany(self, sql: str, rows) -> None:
        with self._pool.connection() as conn:
            conn.executemany(sql, rows)
