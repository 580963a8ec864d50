"""The Observer: turns unobserved messages into observation-log lines, exactly once.

Each batch becomes one new generation, written in one transaction together
with the cursor (the last observed message's rowid). A crash or a bad model
answer before the commit leaves the previous generation as it was, so the
next run observes the same messages again and none twice.
"""

from dataclasses import dataclass, field

from memcli import tokens
from memcli.llm import LLM
from memcli.observational import extras
from memcli.observational import parse as parsing
from memcli.observational.options import ObserverOptions
from memcli.observational.prompts import OBSERVER
from memcli.records import Message
from memcli.store.observations import ObservationRecord
from memcli.timefmt import now
from memcli.timefmt import parse as parse_time

DEFAULT_MESSAGE_TOKENS = 30_000
BATCH_TOKENS = 10_000  # per observer call (Mastra batches resource scope likewise)
MAX_MESSAGE_TOKENS = 8_000  # one huge message is cut in the middle to fit a call
MIN_OBSERVATION_TOKENS = 4_000  # what an observer may always answer, however short the batch


@dataclass
class ObserveResult:
    observed_messages: int = 0
    observed_tokens: int = 0
    generations: list[int] = field(default_factory=list)
    skipped: str | None = None  # why nothing ran
    prompts: list[list[dict]] = field(default_factory=list)  # with dry_run


def _tail_tokens(text: str, limit: int) -> str:
    enc = tokens.encoding()
    ids = enc.encode_ordinary(text)
    return text if len(ids) <= limit else enc.decode(ids[-limit:])


def _clip(text: str, limit: int) -> str:
    enc = tokens.encoding()
    ids = enc.encode_ordinary(text)
    if len(ids) <= limit:
        return text
    half = limit // 2
    cut = len(ids) - 2 * half
    return enc.decode(ids[:half]) + f"\n[... {cut} tokens omitted ...]\n" + enc.decode(ids[-half:])


def format_messages(messages: list[Message]) -> str:
    """Dated `User (2:30 PM): ...` lines, with a header per day."""
    out, day = [], None
    for m in messages:
        when = parse_time(m.created_at)
        label = when.strftime("%b %-d, %Y")
        if label != day:
            day = label
            out.append(f"\nDate: {label}")
        who = {"user": "User", "assistant": "Assistant", "tool": "Tool"}.get(m.role, m.role)
        out.append(f"{who} ({when.strftime('%-I:%M %p')}): {_clip(m.content, MAX_MESSAGE_TOKENS)}")
    return "\n".join(out).strip()


# the hints' part of the answer form, left out of the prompt when they are turned off
_HINTS_FORM = (
    "\n<current-task>what the user is working on now, one or two lines</current-task>"
    "\n<suggested-response>how the assistant should pick up the conversation, one or two lines</suggested-response>"
)


def joined_log(latest: ObservationRecord | None, added: list[str]) -> str:
    """The log of `latest` with more observation texts after it (empty ones left out)."""
    return "\n".join(t for t in [latest.observations if latest else "", *added] if t)


def next_generation(
    latest: ObservationRecord | None,
    scope: str,
    scope_id: str,
    added: list[str],
    *,
    observed_tokens: int,
    last_rowid: int,
    current_task: str | None,
    suggested_response: str | None,
    metadata: dict,
) -> ObservationRecord:
    """The observation generation after `latest`: its log with `added` appended, the cursor
    moved to last_rowid (the Observer's batch, or activated buffers)."""
    log = joined_log(latest, added)
    return ObservationRecord(
        scope=scope,
        scope_id=scope_id,
        generation=(latest.generation if latest else 0) + 1,
        origin="observation",
        observations=log,
        current_task=current_task,
        suggested_response=suggested_response,
        token_count=tokens.count(log),
        observed_tokens=(latest.observed_tokens if latest else 0) + observed_tokens,
        last_observed_rowid=last_rowid,
        metadata=metadata,
        created_at=now(),
    )


def run_metadata(batch: list[Message], usage: dict) -> dict:
    """What a generation (or a buffer) records of its run: the messages it came from (rowids
    after the previous cursor) and the model's tokens in and out."""
    return {
        "messages": len(batch),
        "first_message_id": batch[0].id,
        "last_message_id": batch[-1].id,
        "first_message_at": batch[0].created_at,
        "last_message_at": batch[-1].created_at,
        **usage,
    }


class Observer:
    def __init__(
        self,
        store,
        llm: LLM | None,
        *,
        message_tokens: int = DEFAULT_MESSAGE_TOKENS,
        options: ObserverOptions | None = None,
        embed=None,
    ):
        """embed(texts) -> (model, [float32 bytes]) or None: vectors for observation groups."""
        self.store = store
        self.embed = embed
        self.llm = llm
        self.message_tokens = message_tokens
        self.options = options or ObserverOptions()
        self.options.check()
        self._scope = "thread"  # set by run()

    def pending(self, scope: str, scope_id: str) -> tuple[ObservationRecord | None, list[Message]]:
        latest = self.store.observations.latest(scope, scope_id)
        cursor = latest.last_observed_rowid if latest and latest.last_observed_rowid else 0
        kwargs = {"thread_id": scope_id} if scope == "thread" else {"resource_id": scope_id}
        queue = [m for m in self.store.messages.after(cursor, **kwargs) if m.role != "system"]
        return latest, queue

    def prompt(self, latest: ObservationRecord | None, batch: list[Message]) -> list[dict]:
        parts = []
        if latest and latest.observations and self.options.previous_tokens > 0:
            parts.append(
                "Earlier observations (do not repeat them):\n"
                + _tail_tokens(latest.observations, self.options.previous_tokens)
            )
        if self.options.hints and latest and (latest.current_task or latest.suggested_response):
            parts.append(
                f"Previous current task: {latest.current_task or '-'}\n"
                f"Previous suggested response: {latest.suggested_response or '-'}"
            )
        extra_parts, extra_form = extras.prompt_parts(
            self.store, self.options, self._scope, batch[-1].resource_id
        )
        parts += extra_parts
        parts.append("New messages to observe:\n" + format_messages(batch))
        system = self.options.system_prompt(OBSERVER, "observation")
        if not self.options.hints:  # the answer's form without the continuation hints
            system = system.replace(_HINTS_FORM, "")
        if extra_form:  # after the form's last section
            system = system.replace("</suggested-response>", "</suggested-response>" + extra_form, 1)
            if "</suggested-response>" not in system:
                system = system.replace("</observations>", "</observations>" + extra_form, 1)
        return [{"role": "system", "content": system}, {"role": "user", "content": "\n\n".join(parts)}]

    def run(self, scope: str, scope_id: str, *, force: bool = False, dry_run: bool = False) -> ObserveResult:
        self._scope = scope
        result = ObserveResult()
        latest, queue = self.pending(scope, scope_id)
        waiting = sum(m.token_count for m in queue)
        if not queue:
            result.skipped = "nothing to observe"
            return result
        if waiting < self.message_tokens and not force:
            result.skipped = f"{waiting} unobserved tokens, below the threshold of {self.message_tokens}"
            return result
        for batch in tokens.batches(queue, BATCH_TOKENS, cap=MAX_MESSAGE_TOKENS):
            messages = self.prompt(latest, batch)
            if dry_run:
                result.prompts.append(messages)
                continue
            parsed = self._ask(messages, batch)
            written = self._write(scope, scope_id, latest, batch, parsed)
            if written is None:
                result.skipped = "the log changed meanwhile (another observer, or the thread was deleted)"
                break
            latest = written
            result.generations.append(latest.generation)
            result.observed_messages += len(batch)
            result.observed_tokens += sum(m.token_count for m in batch)
        return result

    def _ask(self, messages: list[dict], batch: list[Message]) -> dict:
        """One call; a degenerate or malformed answer is retried once, then refused.
        Observations far longer than what they observe are degenerate: such a log would
        soon crowd every later prompt out of the context window."""
        limit = max(MIN_OBSERVATION_TOKENS, 2 * sum(m.token_count for m in batch))
        used = {"tokens_in": 0, "tokens_out": 0}
        for attempt in (1, 2):
            reply = self.llm.complete(messages)  # type: ignore[union-attr]
            used["tokens_in"] += int(reply.usage.get("prompt_tokens", 0) or 0)
            used["tokens_out"] += int(reply.usage.get("completion_tokens", 0) or 0)
            try:
                parsed = parsing.parse(
                    reply.content,
                    need_task=self.options.hints,
                    guards=self.options.control_lines("observation"),
                )
                size = tokens.count(parsed["observations"])
                if size > limit:
                    raise parsing.BadModelOutput(
                        f"the observer answered {size} tokens for {limit // 2} tokens of messages"
                    )
                found = extras.parse(reply.content, self.options, self._scope)
                return {**parsed, "usage": used, "extras": extras.checked(self.store, self.options, found)}
            except parsing.BadModelOutput:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _groups(self, text: str, batch: list[Message]) -> dict:
        """With an embedder (observation.retrieval_vector), the group's vector, made now."""
        if self.embed is None:
            return {}
        from memcli.observational.retrieval import group

        return {"groups": [group(text, batch[0].rowid, batch[-1].rowid, self.embed([text]))]}  # type: ignore[arg-type]

    def _saved_text(self, text: str | None) -> str | None:
        """What is saved of the model's text: redactions and the hook, then control text dropped
        again (a hook must not bring it back)."""
        changed = self.options.transform(text, "observation")
        if changed is None:
            return None
        return parsing.without_control_text(changed, self.options.control_lines("observation")).strip()

    def _write(self, scope, scope_id, latest, batch, parsed) -> ObservationRecord | None:
        """Append the next generation, or None when the log moved on meanwhile: another
        observer wrote it, or the thread was deleted (its log must not come back)."""
        new = self._saved_text(parsed["observations"]) or ""
        record = next_generation(
            latest,
            scope,
            scope_id,
            [new],
            observed_tokens=sum(m.token_count for m in batch),
            last_rowid=batch[-1].rowid,
            current_task=self._saved_text(parsed["current_task"]),
            suggested_response=self._saved_text(parsed["suggested_response"]),
            metadata={**run_metadata(batch, parsed["usage"]), **self._groups(new, batch)},
        )
        with self.store.transaction():
            now_latest = self.store.observations.latest(scope, scope_id)
            if (now_latest.generation if now_latest else 0) != (latest.generation if latest else 0):
                return None
            if not self.store.messages.by_rowids([batch[-1].rowid]):
                return None  # deleted meanwhile (rowids are never reused, so this is the same one)
            self.store.observations.append(record, owner=batch[-1].resource_id)
            extras.write(self.store, scope, scope_id, batch[-1].resource_id, parsed.get("extras") or {})
        return record
