"""docs/postgres.md's team deployment, run as written: a primary, a streaming replica
and PgBouncer in transaction mode started by the test; the section's host names and
$ADMIN_URL point at them. Every step must succeed and the memory must end up where
the section says."""

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import ROOT, sql
from pg_cluster import on, start_bouncer, start_primary_and_replica

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("MEMCLI_TEST_PG_URL"))
    or not (shutil.which("pgbouncer") or os.path.exists("/usr/sbin/pgbouncer")),
    reason="needs servers the test starts and Debian's pgbouncer (.ci/run installs it)",
)

DOC = ROOT / "docs" / "postgres.md"


def _blocks(kind: str) -> list[str]:
    section = DOC.read_text().split("## A team deployment", 1)[1].split("\n## ", 1)[0]
    return [textwrap.dedent(b) for b in re.findall(rf"```{kind}\n(.*?)^\s*```", section, re.S | re.M)]


def test_the_team_deployment_runs_as_written(tmp_path, pg_server, local_model):
    primary, replica = start_primary_and_replica(tmp_path / "cluster")
    bouncer, stop = start_bouncer(primary.get_uri(), tmp_path / "bouncer")
    try:
        assert "pool_mode = transaction" in _blocks("ini")[0]
        assert "pool_mode = transaction" in (tmp_path / "bouncer" / "pgbouncer.ini").read_text()
        sockets = {
            "primary": parse_qs(urlsplit(primary.get_uri()).query)["host"][0],
            "replica": parse_qs(urlsplit(replica.get_uri()).query)["host"][0],
        }
        pooler = urlsplit(bouncer).netloc.split("@")[1]

        def here(match: re.Match) -> str:
            server, port, database = match.groups()
            if server == "primary" and port == "6432":
                return f"@{pooler}/{database}"
            return f"@/{database}?host={sockets[server]}"

        work = tmp_path / "work"
        work.mkdir()
        (work / "examples").symlink_to(ROOT / "examples")
        psql_dir = Path(primary.bin_path)  # the server's own psql where Debian's is missing
        env = {
            **os.environ,
            "ADMIN_URL": primary.get_uri(),
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}:{psql_dir}",
        }
        for block in _blocks("sh"):
            script = re.sub(r"@db-(primary|replica)\.internal:(\d+)/(\w+)", here, block)
            done = subprocess.run(
                [
                    "bash",
                    "-e",
                    "-o",
                    "pipefail",
                    "-c",
                    "set -a; . ./env.sh 2>/dev/null || true; set +a\n" + script,
                ],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, f"{block}\n{done.stdout}\n{done.stderr}"
            if "Lisbon" in block or "recall" in block:
                assert "Lisbon" in done.stdout, done.stdout
            # the exports of one block hold for the next, as in one shell
            exports = [line for line in script.splitlines() if line.startswith("export ")]
            if exports:
                (work / "env.sh").write_text("\n".join(e.removeprefix("export ") for e in exports) + "\n")
        memory = on(primary.get_uri(), "memory")
        restored = on(primary.get_uri(), "memory_restored")
        count = "SELECT count(*) FROM messages"
        assert sql(memory, count) == sql(restored, count) and sql(memory, count)[0][0] > 0
        assert sql(memory, "SELECT tableowner FROM pg_tables WHERE schemaname = 'memcli' LIMIT 1") == [
            ("memcli",)
        ]
        assert (work / "memory-backup.db").exists()
    finally:
        stop()
        replica.cleanup()
        primary.cleanup()
