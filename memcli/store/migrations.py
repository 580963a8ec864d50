"""Schema migrations, applied in order through sqlite_utils.Migrations("memcli").

Append new migrations at the end; never edit one that has shipped. The
sqlite_utils import (~0.2 s) is only paid when something is pending: the
common case is answered with one plain query.
"""

from memcli.errors import StoreError
from memcli.store.migration_steps import _STEPS

MIGRATION_SET = "memcli"
# set in the same transaction as a migration that leaves vector codes to derive;
# cleared only by the commit that derives them, so a killed upgrade resumes
REINDEX_PENDING = "vector_codes_pending"


def _applied(conn) -> list[str] | None:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"
    ).fetchone()
    if not exists:
        return None
    rows = conn.execute(
        "SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY rowid",
        [MIGRATION_SET],
    ).fetchall()
    return [r[0] for r in rows]


def known_migrations() -> list[str]:
    return list(_STEPS)


def refuse_newer(applied: list[str], known=_STEPS) -> None:
    """Refuse a database that recorded a migration this memcli does not know (either store)."""
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise StoreError(
            f"this database was written by a newer memcli (migration {unknown[-1]}); "
            "upgrade memcli to use it (pip install -U memcli)"
        )


def ensure_schema(conn, notice=None) -> list[str]:
    """Bring the database up to date; refuse one written by a newer memcli.

    Returns the names of the migrations applied now (usually none). An
    existing database's upgrade is announced through notice(text) first,
    since rebuilding its indexes can take a while. The whole upgrade is one
    write transaction: processes opening an old database at once queue, and
    the later ones find it done.
    """
    applied = _applied(conn) or []
    refuse_newer(applied)
    if len(applied) == len(_STEPS):
        return []
    if applied and notice is not None:
        pending = [name for name in _STEPS if name not in applied]
        notice(
            f"upgrading the database for this memcli ({', '.join(pending)}); once, ~25 s per 100k messages"
        )
    import sqlite_utils

    migrations = sqlite_utils.Migrations(MIGRATION_SET)
    for name, fn in _STEPS.items():
        migrations(name=name)(fn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        applied = _applied(conn) or []  # another process may have upgraded it meanwhile
        refuse_newer(applied)
        # sqlite-utils nests each migration in a savepoint of this transaction
        migrations.apply(sqlite_utils.Database(conn))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return [name for name in _STEPS if name not in applied]
