"""The background observer's process and its lock.

`spawn` starts `memcli observe --buffer` detached (its own session, no terminal), so it
outlives the command that started it; the database goes by environment (a PostgreSQL URL
with a password never shows in `ps`). `scope_lock` lets one observer at a time buffer a
scope: an OS lock on a file in memcli's home, released by the kernel when its holder dies
(a killed observer never blocks the next).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path


def spawn(db: str, *, thread_id: str | None, resource_id: str | None, model: str | None) -> subprocess.Popen:
    args = [sys.executable, "-m", "memcli", "-q", "observe", "--buffer"]
    args += ["-t", thread_id] if thread_id else ["-r", str(resource_id)]
    if model:
        args += ["--model", model]
    return subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
        env={**os.environ, "MEMCLI_DB": db},
    )


def lock_path(home: Path, db: str, scope: str, scope_id: str) -> Path:
    key = hashlib.sha256(f"{db}\0{scope}\0{scope_id}".encode()).hexdigest()[:24]
    return home / "locks" / f"observe-{key}.lock"


@contextmanager
def scope_lock(path: Path):
    """Yields True when this process holds the scope's lock, False when another does."""
    import fcntl

    from memcli.paths import ensure_private_dir

    ensure_private_dir(path.parent)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
