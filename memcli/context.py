"""What the model sees: assembled in a stable order and fitted to a token budget.

Order (most stable first, so providers can cache the prompt prefix):
system prompt -> working memory -> facts memory -> observations -> messages recalled from
other threads -> this thread's history -> the new user message. History is
trimmed oldest-first when the budget is exceeded, and the plan records
exactly what was cut.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from memcli import temporal, tokens
from memcli.errors import MemcliError
from memcli.records import Message
from memcli.timefmt import parse

PER_MESSAGE = 4  # role and framing tokens per chat message (OpenAI's accounting)
REPLY_PRIMING = 3
TRIM_HEADROOM = 0.25  # trim to 75% of the budget so the prefix stays stable for several turns

SECTIONS = ("system", "working_memory", "memories", "observations", "recalled", "history", "user", "tools")


@dataclass
class ContextPlan:
    messages: list[dict]
    tools: list[dict] | None
    sections: dict[str, int]
    window: int
    reserve: int
    trimmed: list[str] = field(default_factory=list)  # ids of history messages left out
    dropped_recall: bool = False

    @property
    def total(self) -> int:
        return sum(self.sections.values()) + REPLY_PRIMING

    @property
    def budget(self) -> int:
        return self.window - self.reserve

    def to_dict(self) -> dict:
        return {
            "sections": self.sections,
            "total": self.total,
            "window": self.window,
            "reserve": self.reserve,
            "budget": self.budget,
            "trimmed": self.trimmed,
            "dropped_recall": self.dropped_recall,
        }


def message_tokens(message: dict) -> int:
    content = message.get("content") or ""
    n = tokens.count(content if isinstance(content, str) else json.dumps(content)) + PER_MESSAGE
    for call in message.get("tool_calls") or []:
        n += tokens.count(json.dumps(call))
    return n


def recalled_block(hits: list[Message]) -> str:
    """Mastra-style block of messages remembered from other conversations, dated."""
    by_thread: dict[str, list[Message]] = {}
    for m in hits:
        by_thread.setdefault(m.thread_id, []).append(m)
    lines = ["The following messages were remembered from earlier, different conversations:"]
    for thread_id, msgs in by_thread.items():
        lines.append(f'<remembered_from_other_conversation thread="{thread_id}">')
        for m in sorted(msgs, key=lambda x: x.created_at):
            when = parse(m.created_at).strftime("%b %d, %Y %H:%M")
            lines.append(f"[{when}] {m.role}: {m.content}")
        lines.append("</remembered_from_other_conversation>")
    return "\n".join(lines)


def _history_message(m: Message) -> dict:
    return {"role": m.role, "content": m.content}


def build(
    *,
    system: str | None,
    working_memory: str | None,
    observations: str | None,
    memories: str | None = None,
    recalled: list[Message],
    history: list[Message],
    user: str,
    tools: list[dict] | None,
    window: int,
    reserve: int,
    now: datetime | None = None,
) -> ContextPlan:
    """The request: head sections, history (oldest trimmed first to fit), the user message;
    gaps of 10 minutes or more in the conversation are marked (temporal.py)."""
    now = now or datetime.now(UTC)
    if observations:
        observations = temporal.relative_dates(observations, now)
    head: list[tuple[str, dict]] = []
    if system:
        head.append(("system", {"role": "system", "content": system}))
    if working_memory:
        head.append(("working_memory", {"role": "system", "content": working_memory}))
    if memories:
        head.append(("memories", {"role": "system", "content": memories}))
    if observations:
        head.append(("observations", {"role": "system", "content": observations}))
    if recalled:
        head.append(("recalled", {"role": "system", "content": recalled_block(recalled)}))
    marked = temporal.with_markers(
        [_history_message(m) for m in history] + [{"role": "user", "content": user}],
        [m.created_at for m in history],
        now,
    )
    user_message = marked[-1]
    sent_as = {m.id: sent for m, sent in zip(history, marked)}
    sections = dict.fromkeys(SECTIONS, 0)
    for name, msg in head:
        sections[name] += message_tokens(msg)
    sections["user"] = message_tokens(user_message)
    sections["tools"] = tokens.count(json.dumps(tools)) if tools else 0
    budget = window - reserve
    plan = ContextPlan([], tools, sections, window, reserve)

    fixed = sum(sections.values()) + REPLY_PRIMING
    if fixed > budget and recalled:
        head = [(n, m) for n, m in head if n != "recalled"]
        fixed -= sections["recalled"]
        sections["recalled"] = 0
        plan.dropped_recall = True
    if fixed > budget:
        raise MemcliError(
            f"the prompt needs {fixed} tokens before any history, more than the budget of {budget} "
            f"(window {window} minus {reserve} reserved for the reply): shorten it or raise --max-context"
        )

    kept = list(history)
    costs = [message_tokens(sent_as[m.id]) for m in kept]
    if fixed + sum(costs) > budget:
        target = budget - int(TRIM_HEADROOM * budget)
        target = max(target, fixed)
        while kept and fixed + sum(costs) > target:
            # a tool result goes with the call before it
            n = 1
            while n < len(kept) and kept[n].role == "tool":
                n += 1
            plan.trimmed += [m.id for m in kept[:n]]
            del kept[:n], costs[:n]
    sections["history"] = sum(costs)
    plan.messages = [m for _, m in head] + [sent_as[m.id] for m in kept] + [user_message]
    return plan
