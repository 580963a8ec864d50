"""Extraction: new messages + the most similar current memories -> one model call -> versions.

The model sees each new message with a short ref ("m1", ...) and up to ten of
the resource's current memories with 0-based string ids ("0", "1", ... in the
order shown, so it cannot invent ids), and answers Mem0's update format,
extended with sources, valid_from and category. A reply that is not that
JSON is retried once, then refused with nothing written. Each batch is
written in one transaction together with the thread's cursor, so running
extraction again over nothing new calls no model.
"""

import json
import re
import uuid
from dataclasses import dataclass, field

from memcli import tokens
from memcli.errors import MemcliError
from memcli.records import Message
from memcli.store.memories import MemoryVersion
from memcli.timefmt import now, to_stored

SHOWN_MEMORIES = 10
BATCH_MESSAGES = 20
BATCH_TOKENS = 6_000
EVENTS = ("ADD", "UPDATE", "DELETE", "NONE")
# what one model reply may write: a fact is a sentence, and a batch of 20 messages
# holds a few dozen at most; past these a reply is runaway output, not memory
MAX_MEMORIES_PER_BATCH = 50
MAX_MEMORY_CHARS = 2_000

PROMPT = """You keep a memory of durable facts about a user, extracted from their conversations.

Current memories of this user that may be related (id: text):
{memories}

New messages (ref, date, speaker: text):
{messages}

Decide, for the facts in the new messages:
- ADD a new fact (give "text").
- UPDATE a current memory whose fact changed or grew (its "id" and the new "text").
- DELETE a current memory that stopped being true (its "id").
- NONE when a current memory is confirmed unchanged (its "id").
Write each fact as a short third-person sentence that stands alone. Keep names,
numbers and places. Resolve relative dates ("last week") against the message's
date and give "valid_from" as an ISO date when the conversation says when the
fact began. Cite the refs of the messages a fact comes from in "sources". Use a
short lower-case "category" (home, work, food, health, family, plans, ...).
Ignore small talk and the assistant's own suggestions.

Answer with JSON only:
{{"memory": [{{"event": "ADD|UPDATE|DELETE|NONE", "id": "<shown id>", "text": "...",
"sources": ["m1"], "valid_from": "2024-03-01", "category": "home"}}]}}"""


class BadExtraction(MemcliError):
    """The model's answer is not the extraction JSON (after one retry); nothing written."""


@dataclass
class ExtractResult:
    calls: int = 0
    messages: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    skipped: str | None = None

    def to_dict(self) -> dict:
        return {
            k: getattr(self, k)
            for k in ("calls", "messages", "added", "updated", "deleted", "notices", "skipped")
        }


def parse_reply(text: str) -> list[dict]:
    """The list of events, or BadExtraction. Code fences and prose around the JSON are tolerated."""
    body = text.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", body, re.S)
    if fenced:
        body = fenced.group(1).strip()
    start, end = body.find("{"), body.rfind("}")
    try:
        data = json.loads(body[start : end + 1] if start >= 0 else body)
    except json.JSONDecodeError as exc:
        raise BadExtraction(f"the model's answer is not JSON ({exc.msg})") from None
    items = data.get("memory") if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BadExtraction('the model\'s answer has no "memory" list of objects')
    return items


def _shown_memory(key, shown: list[MemoryVersion]) -> MemoryVersion | None:
    """The memory the model named by its shown id ("0", "1", ...), or None. ASCII digits
    only: "²".isdigit() is true, and int() of it fails."""
    if isinstance(key, int) and not isinstance(key, bool):
        key = str(key)
    if not isinstance(key, str) or not re.fullmatch(r"[0-9]{1,6}", key.strip()):
        return None
    index = int(key.strip())
    return shown[index] if index < len(shown) else None


def _day(value) -> str | None:
    """An ISO date or time from the model, stored; anything else is dropped."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return to_stored(value.strip())
    except MemcliError:
        return None


class Extractor:
    def __init__(self, store, llm, similar):
        """similar(resource_id, texts, k) -> the current memories most like the texts."""
        self.store = store
        self.llm = llm
        self.similar = similar

    def run(self, thread_id: str, resource_id: str, embed) -> ExtractResult:
        """Extract from a thread's messages past its cursor. embed(texts) -> (model, vectors) or None."""
        result = ExtractResult()
        cursor = self.store.memories.cursor(thread_id)
        queue = [m for m in self.store.messages.after(cursor, thread_id=thread_id) if m.role != "system"]
        if not queue:
            result.skipped = "no new messages"
            return result
        for batch in tokens.batches(queue, BATCH_TOKENS, most=BATCH_MESSAGES, cap=BATCH_TOKENS):
            shown = self.similar(resource_id, [m.content for m in batch], SHOWN_MEMORIES)
            items = self._ask(batch, shown, result)
            versions = self._versions(items, batch, shown, resource_id, result)
            live = [v for v in versions if v.event != "DELETE"]
            embedded = embed([v.text for v in live]) if live else None
            if embedded is not None:
                model, vectors = embedded
                for v, vec in zip(live, vectors):
                    v.embedding, v.embedding_model = vec, model
            with self.store.transaction():
                if self.store.memories.cursor(thread_id) != cursor:
                    result.skipped = "another extraction ran meanwhile; nothing written for this batch"
                    return result
                for v in versions:
                    self.store.memories.write(v)
                self.store.memories.move_cursor(thread_id, batch[-1].rowid, owner=resource_id)
            cursor = batch[-1].rowid
            result.messages += len(batch)
            for v in versions:
                {"ADD": result.added, "UPDATE": result.updated, "DELETE": result.deleted}[v.event].append(
                    v.memory_id
                )
        return result

    def _ask(self, batch: list[Message], shown: list[MemoryVersion], result: ExtractResult) -> list[dict]:
        memories = "\n".join(f'"{i}": {v.text}' for i, v in enumerate(shown)) or "(none yet)"
        lines = []
        for i, m in enumerate(batch, 1):
            text = (
                m.content
                if m.token_count <= 2_000
                else tokens.encoding().decode(tokens.encoding().encode_ordinary(m.content)[:2_000])
            )
            lines.append(f"m{i} ({m.created_at[:10]}) {m.role}: {text}")
        prompt = PROMPT.format(memories=memories, messages="\n".join(lines))
        for attempt in (1, 2):
            result.calls += 1
            reply = self.llm.complete([{"role": "user", "content": prompt}])
            try:
                return parse_reply(reply.content)
            except BadExtraction:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _versions(self, items, batch, shown, resource_id, result) -> list[MemoryVersion]:
        refs = {f"m{i}": m for i, m in enumerate(batch, 1)}
        stamp = now()
        out: list[MemoryVersion] = []
        touched: set[str] = set()
        for item in items:
            event = str(item.get("event", "")).upper()
            if event not in EVENTS:
                result.notices.append(f"skipped an item with unknown event {item.get('event')!r}")
                continue
            if event == "NONE":
                continue
            cited = [refs[r] for r in item.get("sources") or [] if isinstance(r, str) and r in refs]
            cited = cited or list(batch)  # without sources a memory cites the whole batch
            text = item.get("text")
            valid_from = _day(item.get("valid_from")) or max(m.created_at for m in cited)
            category = item.get("category") if isinstance(item.get("category"), str) else None
            if event != "DELETE" and isinstance(text, str) and len(text.strip()) > MAX_MEMORY_CHARS:
                result.notices.append(
                    f"refused a memory of {len(text.strip()):,} characters (at most {MAX_MEMORY_CHARS:,})"
                )
                continue
            if len(out) >= MAX_MEMORIES_PER_BATCH:
                result.notices.append(
                    f"refused the model's memories past {MAX_MEMORIES_PER_BATCH} in one batch"
                )
                break
            if event == "ADD":
                if not isinstance(text, str) or not text.strip():
                    result.notices.append("skipped an ADD without text")
                    continue
                out.append(
                    MemoryVersion(
                        memory_id="mem_" + uuid.uuid4().hex[:16],
                        resource_id=resource_id,
                        version=1,
                        event="ADD",
                        text=text.strip(),
                        category=category,
                        sources=[m.id for m in cited],
                        valid_from=valid_from,
                        created_at=stamp,
                    )
                )
                continue
            key = item.get("id")
            target = _shown_memory(key, shown)
            if target is None or target.memory_id in touched:
                result.notices.append(f"skipped {event} of unknown id {key!r}")
                continue
            if event == "UPDATE" and (not isinstance(text, str) or not text.strip()):
                result.notices.append(f"skipped an UPDATE of id {key!r} without text")
                continue
            touched.add(target.memory_id)
            out.append(
                MemoryVersion(
                    memory_id=target.memory_id,
                    resource_id=resource_id,
                    thread_id=target.thread_id,
                    version=target.version + 1,
                    event=event,
                    text=text.strip() if event == "UPDATE" else target.text,
                    category=category or target.category,
                    sources=[m.id for m in cited],
                    valid_from=valid_from,
                    expires_at=target.expires_at,
                    created_at=stamp,
                )
            )
        return out
