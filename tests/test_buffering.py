"""#27 (1): observing in the background, ahead of the threshold (Mastra 1.31's buffering):
buffers are made by a background process, activated at the threshold with no model call,
a turn waits only above block_after, idle activation; a killed observer loses nothing and
two never buffer the same messages."""

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from fake_llm import gate, reply

from memcli import Memory

from conftest import race_on_the_model

pytestmark = pytest.mark.both_backends

OBSERVED = "<observations>\nDate: Dec 1, 2026\n* 🔴 (10:00) User talked about the garden\n</observations>\n<current-task>garden</current-task>\n<suggested-response>ask</suggested-response>"


def _messages(cli, n, *, thread="t", start=0, at=None):
    rows = []
    for i in range(start, start + n):
        row = {
            "content": f"message {i} about planting tomatoes in the garden this spring",
            "thread_id": thread,
            "resource_id": "alice",
        }
        if at is not None:
            row["created_at"] = at
        rows.append(row)
    assert cli("import", "-", "--no-embed", input="\n".join(map(json.dumps, rows))).code == 0


def _config(cli, **values):
    for key, value in values.items():
        assert cli("config", "set", key.replace("__", "."), str(value)).code == 0


def test_buffers_are_made_ahead_and_activated_at_the_threshold_without_a_model_call(cli, llm_server):
    _config(
        cli,
        observation__message_tokens=200,
        observation__buffer_tokens=10_000,
        observation__buffer_activation=0.8,
    )
    _messages(cli, 10)  # ~15 tokens each
    llm_server.script([reply(OBSERVED)])
    with Memory() as mem:
        done = mem.observe(thread_id="t", buffer=True, force=True)
        assert done.chunks == 1 and 0 < done.buffered_messages < 10  # the newest ~40 tokens stay raw
        status = mem.observation_status(thread_id="t")
        assert status["buffers"] == 1 and mem.get_observations(thread_id="t") is None
    _messages(cli, 10, start=10)  # past the threshold now
    llm_server.script([reply("sure")])
    before = len(llm_server.requests)
    r = cli("ask", "what did I plant?", "-t", "t", "-r", "alice", "--no-title")
    assert r.code == 0 and "activated 1 buffered observations" in r.err
    assert len(llm_server.requests) == before + 1  # only the chat call: no Observer in the turn
    with Memory() as mem:
        log = mem.get_observations(thread_id="t")
        assert "garden" in log.observations and log.metadata["activated_buffers"] == 1
        assert mem.observation_status(thread_id="t")["buffers"] == 0
        sources = mem.observation_sources(log.generation, thread_id="t")
        assert len(sources) == done.buffered_messages


def test_a_turn_waits_for_the_observer_only_above_block_after(cli, llm_server):
    _config(
        cli, observation__message_tokens=100, observation__buffer_tokens=10_000, observation__block_after=1.5
    )
    _messages(cli, 20)  # ~240 tokens > 1.5 x 100
    llm_server.script([reply("sure"), reply(OBSERVED)])
    r = cli("ask", "hi", "-t", "t", "-r", "alice", "--no-title")
    assert r.code == 0 and "observed" in r.err
    assert "New messages to observe" in json.dumps(llm_server.requests[-1]["messages"])


def test_a_turn_starts_the_background_observer_which_outlives_it(cli, llm_server, monkeypatch):
    from memcli.observational import background

    started = []
    real = background.spawn

    def recording(*args, **kwargs):
        started.append(real(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(background, "spawn", recording)
    _config(cli, observation__message_tokens=200, observation__buffer_tokens=60)  # 40 tokens stay raw
    _messages(cli, 10)
    llm_server.script([reply("sure"), reply(OBSERVED)])
    r = cli("ask", "hi", "-t", "t", "-r", "alice", "--no-title")
    assert r.code == 0, r.err
    assert len(started) == 1, (r.err, r.out)
    assert started[0].wait(timeout=120) == 0  # a process of its own, finishing after the turn
    with Memory() as mem:
        assert mem.observation_status(thread_id="t")["buffers"] == 1
        assert mem.get_observations(thread_id="t") is None  # not in the log until activated


def _buffer_process(*extra):
    return subprocess.Popen(
        [sys.executable, "-m", "memcli", "observe", "--buffer", "-t", "t", "--force", "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for(condition, what: str) -> None:
    done = threading.Event()
    for _ in range(3000):
        if condition():
            return
        done.wait(0.02)  # polled until the server has the request: an event, not a fixed sleep
    raise AssertionError(f"timed out waiting for {what}")


def test_a_killed_background_observer_loses_nothing(cli, llm_server):
    _config(cli, observation__message_tokens=200, observation__buffer_tokens=50)
    _messages(cli, 10)
    go = threading.Event()
    llm_server.script([gate(go, reply(OBSERVED)), reply(OBSERVED)])
    first = _buffer_process()
    _wait_for(lambda: len(llm_server.requests) == 1, "the observer's model call")
    os.kill(first.pid, signal.SIGKILL)  # mid-work: its request is in flight, nothing written
    first.wait(timeout=30)
    go.set()
    with Memory() as mem:
        assert mem.observation_status(thread_id="t")["buffers"] == 0
    second = _buffer_process()
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert json.loads(out)["chunks"] == 1
    with Memory() as mem:
        [held] = mem.store.observations.buffers("thread", "t")
        assert held.metadata["messages"] == json.loads(out)["buffered_messages"]


def test_two_background_observers_never_buffer_the_same_messages(cli, llm_server):
    _config(cli, observation__message_tokens=200, observation__buffer_tokens=50)
    _messages(cli, 10)
    go = threading.Event()
    llm_server.script([gate(go, reply(OBSERVED)), gate(go, reply(OBSERVED))])
    holder = _buffer_process()
    _wait_for(lambda: len(llm_server.requests) == 1, "the first observer's model call")
    other = _buffer_process()
    out, _ = other.communicate(timeout=120)  # it finds the scope locked and leaves
    go.set()
    held_out, _ = holder.communicate(timeout=120)
    assert json.loads(out)["skipped"] == "another observer is buffering this scope"
    assert json.loads(held_out)["chunks"] == 1 and len(llm_server.requests) == 1


def test_without_the_lock_the_write_still_happens_once(cli, llm_server):
    """Two observers that both got past the lock (another machine on PostgreSQL): the
    buffer is written only if nothing moved while the model was asked."""
    from memcli.observational import buffering
    from memcli.observational.observer import Observer

    _messages(cli, 10)

    def work():
        with Memory() as mem:
            observer = Observer(mem.store, mem._chat_model("observation"), message_tokens=200)
            return buffering.buffer(observer, "thread", "t", step=1, keep_tail=40)

    results, errors = race_on_the_model(llm_server, reply(OBSERVED), work)
    assert errors == [] and sorted(r.chunks for r in results) == [0, 1]
    with Memory() as mem:
        assert len(mem.store.observations.buffers("thread", "t")) == 1


def test_buffers_go_in_after_an_idle_time(cli, llm_server):
    _config(
        cli,
        observation__message_tokens=300,
        observation__buffer_tokens=10_000,
        observation__activate_after_idle=600,
    )
    hours_ago = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    _messages(cli, 10, at=hours_ago)
    llm_server.script([reply(OBSERVED)])
    with Memory() as mem:
        assert mem.observe(thread_id="t", buffer=True, force=True).chunks == 1
    llm_server.script([reply("welcome back")])
    r = cli("ask", "I'm back", "-t", "t", "-r", "alice", "--no-title")
    assert r.code == 0 and "after the pause" in r.err
    system = "\n".join(m["content"] for m in llm_server.requests[-1]["messages"] if m["role"] == "system")
    assert "User talked about the garden" in system
