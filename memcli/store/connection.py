"""Opening the SQLite file: a driver that can load sqlite-vec, pragmas, permissions.

The stock CPython here (and macOS' system Python) is built without
`enable_load_extension`, so we prefer pysqlite3 (Linux wheels) or sqlean.py
(all platforms), which both bundle a recent SQLite that can load extensions.
"""

import importlib.util
import os
from pathlib import Path

from memcli.errors import StoreError
from memcli.paths import ensure_private_dir

VEC_FIX = (
    "install a SQLite driver that can load extensions: "
    "pip install pysqlite3-binary (Linux) or pip install sqlean.py"
)


def sqlite_module():
    """The DB-API module to use, best first."""
    for name in ("pysqlite3.dbapi2", "sqlean.dbapi2"):
        try:
            module = __import__(name, fromlist=["connect"])
        except ImportError:
            continue
        return module
    import sqlite3

    return sqlite3


def _create_private_file(path: Path) -> None:
    ensure_private_dir(path.parent)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)


def load_vec(conn) -> str | None:
    """Load sqlite-vec into conn; return None on success, else why not."""
    # Find the shared library without `import sqlite_vec`: that module imports
    # numpy (~100 ms), which light commands must not pay for.
    spec = importlib.util.find_spec("sqlite_vec")
    if spec is None or not spec.submodule_search_locations:
        return "the sqlite-vec package is not installed (pip install sqlite-vec)"
    library = os.path.join(list(spec.submodule_search_locations)[0], "vec0")
    if not hasattr(conn, "enable_load_extension"):
        return f"this Python's sqlite3 cannot load extensions; {VEC_FIX}"
    try:
        conn.enable_load_extension(True)
        conn.load_extension(library)
        conn.enable_load_extension(False)
    except Exception as exc:  # the driver's own error types vary
        return f"sqlite-vec failed to load ({exc}); {VEC_FIX}"
    return None


def connect(path: Path | str, *, require_vec: bool = True):
    """Open (creating with mode 0600 if needed) and configure the database.

    Returns (connection, vec_error). With require_vec, a failure to load
    sqlite-vec raises StoreError naming the fix.
    """
    module = sqlite_module()
    if str(path) != ":memory:":
        path = Path(path)
        _create_private_file(path)
    # isolation_level=None: we open transactions ourselves (BEGIN IMMEDIATE)
    # so a writer takes the lock up front instead of failing on upgrade.
    conn = module.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = module.Row
    vec_error = load_vec(conn)
    if vec_error and require_vec:
        conn.close()
        raise StoreError(f"cannot load sqlite-vec: {vec_error}")
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode.lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn, vec_error
