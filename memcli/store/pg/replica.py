"""Reads from a streaming replica (MEMCLI_DB_READ); writes, and reads of what this
process has written, on the primary.

Every statement outside a write transaction that only reads (recall, listing,
show) goes to the replica, unless this process has committed a write the
replica has not replayed yet: after each commit the primary's WAL position is
noted, and a read first asks the replica how far it has replayed (once per
write; later reads see it caught up). A replica that cannot be reached, or that
is not a copy of this database (its migrations differ), is not used again by
this process; reads go to the primary and `db doctor` says why.
"""

import threading

from memcli.errors import StoreError
from memcli.store.pg.connection import Pool


def _lsn(text: str) -> int:
    """'16/B374D848' as a number (PostgreSQL's pg_lsn text form)."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


FINGERPRINT = "SELECT applied_at FROM migrations WHERE name = 'p001_schema'"  # unique per database


class ReadReplica:
    def __init__(self, url: str, primary_fingerprint: str | None):
        self.url = url
        self.pool = Pool(url)  # connects on its first read
        self.failed: str | None = None
        self._fingerprint = primary_fingerprint
        self._checked = False
        self._written = 0  # the primary's WAL position after this process's last commit
        self._replayed = 0  # a replica position known to cover it
        self._lock = threading.Lock()

    def wrote(self, conn) -> None:
        """After a COMMIT on the primary: reads must wait for the replica to pass here."""
        position = _lsn(conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0])
        with self._lock:
            self._written = max(self._written, position)

    def pool_for_read(self) -> Pool | None:
        """The replica's pool if it holds everything this process wrote, else None."""
        if self.failed is not None:
            return None
        if self._checked and self._written <= self._replayed:
            return self.pool
        try:
            with self.pool.connection() as conn:
                replayed = conn.execute("SELECT pg_last_wal_replay_lsn()::text").fetchone()[0]
                with self._lock:
                    # a primary given as its own replica replays nothing: it holds every write
                    self._replayed = max(
                        self._replayed, self._written if replayed is None else _lsn(replayed)
                    )
                    if self._written > self._replayed:
                        return None  # behind this process: no verdict on it yet
                if not self._checked:
                    ours = conn.execute("SELECT to_regclass('memcli.migrations') IS NOT NULL").fetchone()[0]
                    row = conn.execute(FINGERPRINT).fetchone() if ours else None
                    if row is None or row[0] != self._fingerprint:
                        self.failed = "MEMCLI_DB_READ is not a replica of this database (its schema differs)"
                        return None
                    self._checked = True
        except StoreError as exc:
            self.failed = f"the read replica is not used: {exc}"
            return None
        return self.pool

    def lost(self, exc: StoreError) -> None:
        self.failed = f"the read replica is not used: {exc}"

    def health(self) -> tuple[str, bool, str]:
        usable = self.pool_for_read()
        if self.failed is not None:
            return ("replica", False, self.failed)
        if usable is None:
            return ("replica", True, "behind this process's writes: the primary answers until it catches up")
        with self.pool.connection() as conn:
            lag = conn.execute(
                "SELECT coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)"
            ).fetchone()[0]
        return ("replica", True, f"reads from the replica (last replayed commit {float(lag):.1f} s ago)")

    def close(self) -> None:
        self.pool.close()
