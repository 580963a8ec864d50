"""Observing ahead of the threshold, in the background (Mastra 1.31's buffering).

A background observer (`memcli observe --buffer`, started after a chat turn, one at a time
per scope) observes unobserved messages in steps of `buffer_tokens`, leaving the newest
(1 - buffer_activation) x threshold tokens raw, and keeps what it makes aside as buffered
observations. When the threshold is reached a turn activates them at once — a new log
generation in one transaction, no model call. Exactly once: a buffer is written only if
neither the log nor the buffers moved while the model was asked, so a killed observer
loses nothing (the next one observes the same messages) and two never keep the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from memcli import tokens
from memcli.observational.observer import (
    BATCH_TOKENS,
    MAX_MESSAGE_TOKENS,
    joined_log,
    next_generation,
    run_metadata,
)
from memcli.store import owners
from memcli.store.observations import BufferedObservation, ObservationRecord
from memcli.timefmt import now


@dataclass
class BufferResult:
    buffered_messages: int = 0
    buffered_tokens: int = 0
    chunks: int = 0
    skipped: str | None = None


def _where(scope: str, scope_id: str) -> dict:
    return {"thread_id": scope_id} if scope == "thread" else {"resource_id": scope_id}


def buffer(
    observer, scope: str, scope_id: str, *, step: int, keep_tail: int, force: bool = False
) -> BufferResult:
    """Observe what the log and the buffers do not hold yet, minus the raw tail, into buffers."""
    store, result = observer.store, BufferResult()
    observer._scope = scope
    latest = store.observations.latest(scope, scope_id)
    held = store.observations.buffers(scope, scope_id)
    cursor = max(latest.last_observed_rowid or 0 if latest else 0, held[-1].last_rowid if held else 0)
    queue = [m for m in store.messages.after(cursor, **_where(scope, scope_id)) if m.role != "system"]
    kept, tail = len(queue), 0
    while kept and tail + queue[kept - 1].token_count <= keep_tail:
        kept -= 1
        tail += queue[kept].token_count
    candidates = queue[:kept]
    waiting = sum(m.token_count for m in candidates)
    if not candidates or (waiting < step and not force):
        result.skipped = f"{waiting} tokens to buffer, below the step of {step}"
        return result
    seen = _as_context(latest, held, scope, scope_id)
    for batch in tokens.batches(candidates, BATCH_TOKENS, cap=MAX_MESSAGE_TOKENS):
        parsed = observer._ask(observer.prompt(seen, batch), batch)
        text = observer._saved_text(parsed["observations"]) or ""
        made = BufferedObservation(
            scope=scope,
            scope_id=scope_id,
            observations=text,
            first_rowid=batch[0].rowid,
            last_rowid=batch[-1].rowid,
            current_task=observer._saved_text(parsed["current_task"]),
            suggested_response=observer._saved_text(parsed["suggested_response"]),
            token_count=tokens.count(text),
            observed_tokens=sum(m.token_count for m in batch),
            metadata={**run_metadata(batch, parsed["usage"]), **observer._groups(text, batch)},
            created_at=now(),
        )
        with store.transaction():
            if not _unchanged(store, scope, scope_id, latest, held) or not store.messages.by_rowids(
                [batch[-1].rowid]
            ):
                result.skipped = "the log or its buffers changed meanwhile; nothing more buffered"
                break
            store.observations.add_buffer(made, owner=batch[-1].resource_id)
        held = [*held, made]
        seen = replace(seen, observations=(seen.observations + "\n" + text).strip())
        result.chunks += 1
        result.buffered_messages += len(batch)
        result.buffered_tokens += made.observed_tokens
    return result


def activate(store, scope: str, scope_id: str) -> int:
    """Buffered observations into the log as one new generation (no model call); those a
    newer log already covers are dropped. Returns how many were activated."""
    with store.transaction():
        latest = store.observations.latest(scope, scope_id)
        cursor = latest.last_observed_rowid or 0 if latest else 0
        held = store.observations.buffers(scope, scope_id)
        fresh = [b for b in held if b.first_rowid > cursor]
        if len(fresh) < len(held):
            store.observations.drop_buffers(
                scope, scope_id, up_to=max(b.last_rowid for b in held if b not in fresh)
            )
        if not fresh:
            return 0
        last = fresh[-1]
        record = next_generation(
            latest,
            scope,
            scope_id,
            [b.observations for b in fresh],
            observed_tokens=sum(b.observed_tokens for b in fresh),
            last_rowid=last.last_rowid,
            current_task=last.current_task or (latest.current_task if latest else None),
            suggested_response=last.suggested_response or (latest.suggested_response if latest else None),
            metadata={
                "activated_buffers": len(fresh),
                "messages": sum(b.metadata.get("messages", 0) for b in fresh),
                "first_message_id": fresh[0].metadata.get("first_message_id"),
                "last_message_id": last.metadata.get("last_message_id"),
                "first_message_at": fresh[0].metadata.get("first_message_at"),
                "last_message_at": last.metadata.get("last_message_at"),
                "tokens_in": sum(b.metadata.get("tokens_in", 0) for b in fresh),
                "tokens_out": sum(b.metadata.get("tokens_out", 0) for b in fresh),
                "groups": [g for b in fresh for g in b.metadata.get("groups", [])],
            },
        )
        store.observations.append(record, owner=owners.scope_owner(store.conn, scope, scope_id))
        store.observations.drop_buffers(scope, scope_id, up_to=last.last_rowid)
        return len(fresh)


def _as_context(latest, held, scope: str, scope_id: str) -> ObservationRecord:
    """What the observer is shown as earlier observations: the log, then the buffers."""
    text = joined_log(latest, [b.observations for b in held])
    base = latest or ObservationRecord(
        scope=scope, scope_id=scope_id, generation=0, origin="observation", observations=""
    )
    last = held[-1] if held else None
    return replace(
        base,
        observations=text,
        current_task=(last.current_task if last else None) or base.current_task,
        suggested_response=(last.suggested_response if last else None) or base.suggested_response,
    )


def _unchanged(store, scope: str, scope_id: str, latest, held) -> bool:
    now_latest = store.observations.latest(scope, scope_id)
    if (now_latest.generation if now_latest else 0) != (latest.generation if latest else 0):
        return False
    now_held = store.observations.buffers(scope, scope_id)
    return [b.last_rowid for b in now_held] == [b.last_rowid for b in held]


def after_turn(memory, s) -> list[str]:
    """What a chat turn does with buffering on (s: the session's ChatSettings): at the threshold
    activate the buffers (no model call); above block_after x threshold wait for the Observer;
    else, with a step's worth of new tokens, start the background observer."""
    where = {"thread_id": s.thread_id, "resource_id": s.resource_id}
    status = memory.observation_status(**where)
    threshold = s.observation_tokens or status["observation_threshold"]
    notes: list[str] = []
    if status["unobserved_tokens"] >= threshold and status["buffers"]:
        count = memory.activate_observations(**where)
        notes.append(f"activated {count} buffered observations into the log")
        status = memory.observation_status(**where)
    if status["unobserved_tokens"] > s.block_after * threshold:
        done = memory.observe(**where, threshold=threshold, model=s.observation_model)
        if done.observed_messages:
            notes.append(f"observed {done.observed_messages} older messages into the observation log")
    elif status["unobserved_tokens"] - status["buffered_tokens"] >= s.buffer_tokens:
        memory.observe_in_background(**where, model=s.observation_model)
    return notes


def activate_if_idle(memory, s) -> list[str]:
    """Buffered observations go in once the conversation has been quiet for activate_after_idle."""
    from datetime import UTC, datetime

    from memcli.timefmt import parse

    if s.activate_after_idle <= 0 or not s.thread_id or memory.thread_owner(s.thread_id) is None:
        return []
    last = memory.list_messages(s.thread_id, s.resource_id, last=1)
    if not last or (datetime.now(UTC) - parse(last[0].created_at)).total_seconds() < s.activate_after_idle:
        return []
    count = memory.activate_observations(thread_id=s.thread_id, resource_id=s.resource_id)
    return [f"activated {count} buffered observations after the pause"] if count else []
