"""The viewer's tests: a real SQLite file (or PostgreSQL), the real app in-process
over HTTP semantics (Starlette's TestClient), and `memcli ui` as a real server."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import select
import signal
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from starlette.testclient import TestClient

from memcli import Memory, Settings
from memcli.ui.app import build_app
from memcli.ui.guard import csrf_token

SECRET = "test-secret-token"
PORT = 8765
ORIGIN = f"http://127.0.0.1:{PORT}"

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold</b>'


@dataclass
class Viewer:
    mem: Memory
    client: TestClient

    @property
    def csrf(self) -> str:
        return csrf_token(SECRET)

    def get(self, path: str, **kw):
        return self.client.get(path, **kw)

    def post(self, path: str, confirm: bool = False, csrf: str | None = None, **fields):
        data = {"csrf": self.csrf if csrf is None else csrf, **fields}
        if confirm:
            data["confirm"] = "yes"
        return self.client.post(path, data=data, follow_redirects=False)


def open_viewer(resource: str | None = None, *, login: bool = True) -> Viewer:
    settings = Settings.resolve(resource=resource, pinned=resource is not None)
    if resource is None:
        settings = dataclasses.replace(settings, resource=None)
    mem = Memory(settings=settings)
    app = build_app(mem, secret=SECRET, port=PORT, hosts={f"127.0.0.1:{PORT}", f"localhost:{PORT}"})
    client = TestClient(app, base_url=ORIGIN)
    if login:
        assert client.get(f"/?token={SECRET}", follow_redirects=False).status_code == 303
    return Viewer(mem, client)


@pytest.fixture
def viewer():
    opened: list[Viewer] = []

    def make(resource: str | None = None, *, login: bool = True) -> Viewer:
        opened.append(open_viewer(resource, login=login))
        return opened[-1]

    yield make
    for v in opened:
        v.client.close()
        v.mem.close()


@pytest.fixture
def scripted_model(monkeypatch):
    """The scripted OpenAI-compatible server (light client), for the Observer's log."""
    from conftest import scripted_server

    yield from scripted_server(monkeypatch)


def fill(mem: Memory) -> dict:
    """Two resources with something on every page: threads (one cloned, one with metadata and
    hostile HTML), working memory with history, facts with versions. Returns their ids."""
    ids: dict = {}
    a1 = mem.add_message(
        "I moved to Lisbon last spring.", thread_id="alice/trip plans", resource_id="alice", embed=False
    )
    mem.add_message(HOSTILE, thread_id="alice/trip plans", resource_id="alice", role="assistant", embed=False)
    mem.rename_thread("alice/trip plans", "Trip to Porto", resource_id="alice")
    mem.create_thread("t-work", resource_id="alice", title="Work", metadata={"project": "dagster"})
    work = mem.add_message(
        "The Dagster migration is due in March.", thread_id="t-work", resource_id="alice", embed=False
    )
    clone = mem.clone_thread("alice/trip plans", resource_id="alice")
    mem.set_working_memory("- **Location**: Lisbon", resource_id="alice")
    mem.set_working_memory("- **Location**: Lisbon\n- **Diet**: vegetarian", resource_id="alice")
    fact = mem.add_memory("Lives in Lisbon", resource_id="alice", sources=[a1.id])
    mem.update_memory(fact.memory_id, "Lives in Porto", resource_id="alice")
    b1 = mem.add_message(
        "Bob's secret: the vault code is 4711.", thread_id="t-bob", resource_id="bob", embed=False
    )
    bob_fact = mem.add_memory("Bob's vault code is 4711", resource_id="bob", sources=[b1.id])
    mem.set_working_memory("- bob's private notes", resource_id="bob")
    ids.update(
        alice_thread="alice/trip plans",
        alice_message=a1.id,
        work_message=work.id,
        clone=clone.thread.id,
        alice_fact=fact.memory_id,
        bob_thread="t-bob",
        bob_message=b1.id,
        bob_fact=bob_fact.memory_id,
    )
    return ids


def count_rows(mem: Memory) -> str:
    """Everything stored, to compare before and after a refused request."""
    from memcli.io import jsonl

    messages = [jsonl.dumps(m) for m in mem.export_messages(all_resources=True)]
    facts = [v.to_dict() for r in ("alice", "bob") for v in mem.list_memories(resource_id=r)]
    wm = [mem.get_working_memory(resource_id=r) for r in ("alice", "bob")]
    return json.dumps([messages, facts, wm], sort_keys=True)


class Served:
    """`memcli ui` running as a real process: its URL (with the token) and its output."""

    def __init__(self, proc, url: str):
        self.proc = proc
        self.url = url
        self.origin = url.split("/?")[0]
        self.token = url.split("token=")[1]


@contextmanager
def serve(*args: str, env: dict | None = None):
    """Start `memcli ui --no-open ARGS`, wait for the line with its URL, stop it with Ctrl-C."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "memcli", "ui", "--no-open", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline().decode() if ready else ""
        found = re.search(r"http://\S+", line)
        if not found:
            proc.kill()
            raise AssertionError(f"memcli ui printed no URL: {line!r} {proc.stderr.read().decode()[-2000:]}")
        yield Served(proc, found.group(0))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
