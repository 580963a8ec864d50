"""memcli behind PgBouncer in transaction mode (Debian's pgbouncer, started by the tests
in front of the test server, two server connections per database): each transaction
may run on another server connection, so memcli keeps no prepared statements, and
the role's settings (docs/postgres.md) stand in for per-session SETs."""

import json
import os
import shutil
import sys
import threading
from urllib.parse import urlsplit

import pytest

from memcli import Memory

from conftest import EXAMPLE, sql
from pg_cluster import on, start_bouncer

pytestmark = pytest.mark.skipif(
    not (shutil.which("pgbouncer") or os.path.exists("/usr/sbin/pgbouncer")),
    reason="Debian's pgbouncer is not installed (.ci/run installs it)",
)

# what docs/postgres.md has an administrator run once for memcli's role and database
ROLE_SETTINGS = (
    "ALTER ROLE postgres IN DATABASE {db} SET search_path = memcli, public",
    "ALTER ROLE postgres IN DATABASE {db} SET hnsw.ef_search = 200",
    "ALTER ROLE postgres IN DATABASE {db} SET hnsw.iterative_scan = relaxed_order",
)


@pytest.fixture(scope="module")
def bouncer(pg_server, tmp_path_factory):
    url, stop = start_bouncer(pg_server, tmp_path_factory.mktemp("bouncer"))
    yield url
    stop()


@pytest.fixture
def pooled(pg_database, bouncer):
    """(the database through PgBouncer, the same database directly)."""
    direct, drop = pg_database
    name = urlsplit(direct).path.lstrip("/")
    Memory(direct).close()  # the schema, made by the role that owns it
    for statement in ROLE_SETTINGS:
        sql(direct, statement.format(db=name))
    yield on(bouncer, name), direct
    drop()


def test_the_readme_job_through_pgbouncer_matches_the_server_directly(pooled, proc, local_model):
    via, direct = pooled
    assert proc("--db", via, "import", str(EXAMPLE)).code == 0
    through = proc("--db", via, "recall", "which city did alice move to?", "-r", "alice", "--json")
    straight = proc("--db", direct, "recall", "which city did alice move to?", "-r", "alice", "--json")
    assert through.code == 0, through.err
    assert [h["id"] for h in json.loads(through.out)] == [h["id"] for h in json.loads(straight.out)]
    assert "Lisbon" in json.loads(through.out)[0]["content"]
    listed = proc("--db", via, "threads", "list", "-r", "alice", "--json")
    assert listed.code == 0 and json.loads(listed.out)


def test_parallel_writers_and_readers_through_two_server_connections(pooled):
    """Eight threads (each its own Memory, so its own connections) write their own
    resources and read back, more clients than PgBouncer has server connections;
    every statement runs on whichever is free."""
    via, direct = pooled
    errors: list[BaseException] = []

    def work(r: int) -> None:
        try:
            mem = Memory(via)
            for b in range(15):
                rows = [
                    {"content": f"r{r} batch {b} note {i}", "thread_id": f"t{r}", "resource_id": f"r{r}"}
                    for i in range(10)
                ]
                mem.save_messages(rows, embed=False)
                assert len(mem.list_messages(f"t{r}", f"r{r}")) == (b + 1) * 10
                hits = mem.recall(f"batch {b}", resource_id=f"r{r}", mode="keyword", top_k=3).hits
                assert hits and all(h.message.resource_id == f"r{r}" for h in hits)
            mem.close()
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(r,)) for r in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)
    assert not errors, errors[0]
    assert sql(direct, "SELECT count(*), count(DISTINCT rowid) FROM messages") == [(1200, 1200)]
    kept = sql(direct, "SELECT resource_id, docs FROM keyword_totals ORDER BY 1")
    assert kept == sql(direct, "SELECT resource_id, count(*) FROM messages GROUP BY 1 ORDER BY 1")


def test_an_mcp_server_through_pgbouncer(pooled, tmp_path):
    """The MCP server's worker threads share one pool behind PgBouncer."""
    import asyncio

    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    via, direct = pooled
    env = {**os.environ, "MEMCLI_DB": via, "MEMCLI_EMBEDDING_MODEL": "nobody/no-such-model"}

    async def run() -> list:
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "memcli", "mcp", "-r", "alice"], env=env
        )
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            calls = [
                session.call_tool("remember", {"content": f"note {i}", "thread_id": "t"}) for i in range(20)
            ]
            return await asyncio.gather(*calls)

    results = asyncio.run(run())
    assert not any(r.is_error for r in results), [r for r in results if r.is_error][:1]
    assert sql(direct, "SELECT count(*) FROM messages WHERE resource_id = 'alice'") == [(20,)]
