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


def vec_library() -> str:
    """The sqlite-vec loadable library's path (without its file suffix, as SQLite takes it).

    Found without `import sqlite_vec`: that module imports numpy (~100 ms),
    which light commands must not pay for."""
    spec = importlib.util.find_spec("sqlite_vec")
    if spec is None or not spec.submodule_search_locations:
        raise StoreError("the sqlite-vec package is not installed (pip install sqlite-vec)")
    return os.path.join(list(spec.submodule_search_locations)[0], "vec0")


def load_vec(conn) -> str | None:
    """Load sqlite-vec into conn; return None on success, else why not."""
    try:
        library = vec_library()
    except StoreError as exc:
        return str(exc)
    if not hasattr(conn, "enable_load_extension"):
        return f"this Python's sqlite3 cannot load extensions; {VEC_FIX}"
    try:
        conn.enable_load_extension(True)
        conn.load_extension(library)
        conn.enable_load_extension(False)
    except Exception as exc:  # the driver's own error types vary
        return f"sqlite-vec failed to load ({exc}); {VEC_FIX}"
    return None


SQLITE_HEADER = b"SQLite format 3\x00"


def check_is_memcli_file(path: Path | str) -> None:
    """Refuse, before anything is written, a path memcli must not open as its database:
    a URL, a folder, a file that is not SQLite, or another program's SQLite file."""
    text = str(path)
    if text == ":memory:":
        return
    if "://" in text:
        scheme = text.split("://", 1)[0].lower()
        raise StoreError(
            f"MEMCLI_DB / --db must be a file path or a postgresql:// URL, not a {scheme}:// URL"
        )
    path = Path(path)
    if path.is_dir():
        raise StoreError(f"{path} is a folder; MEMCLI_DB / --db must name a file")
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with path.open("rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}") from None
    if header != SQLITE_HEADER:
        raise StoreError(f"{path} is not a SQLite database; memcli only writes to its own files")
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        raise StoreError(f"{path} is read-only (memcli needs to write to the file and its folder)")
    if not _is_memcli_schema(path):
        raise StoreError(
            f"{path} is another program's SQLite database; memcli only writes to its own files "
            "(choose a new path with --db or MEMCLI_DB)"
        )


def _is_memcli_schema(path: Path) -> bool:
    """True for a memcli database or an empty one; read-only, so nothing is changed."""
    import sqlite3  # the stdlib reads any SQLite file; no extension needed to look

    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            return True
        if "_sqlite_migrations" not in tables:
            return False
        return bool(
            conn.execute("SELECT 1 FROM _sqlite_migrations WHERE migration_set = 'memcli' LIMIT 1").fetchone()
        )
    except sqlite3.Error:
        return False
    finally:
        conn.close()


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
    try:
        conn = module.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    except module.Error as exc:
        raise StoreError(f"cannot open {path}: {exc}") from None
    conn.row_factory = module.Row
    vec_error = load_vec(conn)
    if vec_error and require_vec:
        conn.close()
        raise StoreError(f"cannot load sqlite-vec: {vec_error}")
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA foreign_keys = ON")
        if str(path) != ":memory:":
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if mode.lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    except module.Error as exc:
        conn.close()
        raise StoreError(f"cannot use {path} as a database: {exc}") from None
    return conn, vec_error


def write_error(exc: Exception, path) -> StoreError:
    """A write's driver error as one line: a full disk, a locked or read-only file, I/O."""
    import shutil

    text = str(exc)
    lowered = text.lower()
    folder = Path(path).parent if str(path) != ":memory:" else Path(".")
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None
    if "disk is full" in lowered or (
        "sqlite-vec" in lowered and free is not None and free < 64 * 1024 * 1024
    ):
        return StoreError(
            f"the disk holding {path} is full; nothing of this write was saved (free some space)"
        )
    if "sqlite-vec" in lowered:
        # sqlite-vec hides the cause; a database at its size limit (max_page_count) looks the same
        return StoreError(f"cannot write vectors to {path} ({text}); is the disk full? nothing was saved")
    if "locked" in lowered or "busy" in lowered:
        return StoreError(f"{path} is locked by another process for too long (30 s); try again")
    if "readonly" in lowered or "read-only" in lowered:
        return StoreError(f"{path} is read-only; memcli needs to write to the file and its folder")
    return StoreError(f"cannot write to {path}: {text}")


def driver_report() -> list[tuple[str, bool, str]]:
    """(check, ok, detail) for the SQLite driver and sqlite-vec, with no database opened."""
    module = sqlite_module()
    out = [("sqlite driver", True, f"{module.__name__} (SQLite {module.sqlite_version})")]
    probe = module.connect(":memory:")
    vec_error = load_vec(probe)
    probe.close()
    out.append(("sqlite-vec", vec_error is None, vec_error or "loads"))
    return out
