"""One chat turn with memory: save, recall, assemble, call the model, remember.

Used by `memcli ask`, `memcli chat` and `memcli tokens` (which plans a turn
without sending it). The user's message is saved before the model is called,
so a failed reply loses nothing the user typed.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from memcli import context, working_memory
from memcli.errors import InputError, MemcliError
from memcli.llm import LLM, ModelError, Reply, tool_arguments
from memcli.memory import DEFAULT_RESOURCE, Memory
from memcli.records import Message

DEFAULT_SYSTEM = "You are a helpful assistant with long-term memory of your conversations with the user."
TITLE_PROMPT = (
    "Write a short title (at most 80 characters, no quotes, no colons) that summarises the "
    "user's message below. Do not answer it. Reply with the title only.\n\nUser's message:\n{message}"
)
MAX_TOOL_ROUNDS = 2


@dataclass
class ChatSettings:
    resource_id: str = DEFAULT_RESOURCE
    thread_id: str | None = None
    system: str | None = None
    memory: bool = True  # working memory, recall and history; False: a plain call
    max_context: int | None = None
    reserve: int = 1024
    history_messages: int = 200
    recall_top_k: int = 4
    recall_range: int = 1
    wm_scope: str = "resource"
    titles: bool = True
    observational: bool = True  # use the observation log; observe/reflect when thresholds are crossed
    observation_tokens: int | None = None  # None: settings (config/env/default)
    reflection_tokens: int | None = None


OBSERVATIONS_INTRO = (
    "These are your observations of earlier parts of this conversation (the messages themselves "
    "are no longer shown). Prefer the newest facts; when they conflict, the user's latest "
    "statement wins."
)


def observations_block(record) -> str | None:
    """The log, then current task and suggested response last (they change most)."""
    if record is None or not record.observations.strip():
        return None
    parts = [OBSERVATIONS_INTRO, "<observations>\n" + record.observations.strip() + "\n</observations>"]
    if record.current_task:
        parts.append(f"<current-task>{record.current_task}</current-task>")
    if record.suggested_response:
        parts.append(f"<suggested-response>{record.suggested_response}</suggested-response>")
    return "\n".join(parts)


@dataclass
class TurnResult:
    reply: str
    plan: context.ContextPlan
    thread_id: str
    usage: dict = field(default_factory=dict)
    memory_updated: bool = False
    title: str | None = None
    notices: list[str] = field(default_factory=list)


class ChatSession:
    def __init__(self, memory: Memory, llm: LLM, settings: ChatSettings, *, title_llm: LLM | None = None):
        self.memory = memory
        self.llm = llm
        self.title_llm = title_llm or llm
        self.settings = settings
        self.tools_supported = True
        self.last_plan: context.ContextPlan | None = None

    # ---- pieces ------------------------------------------------------------

    def _wm_scope_id(self) -> tuple[str, str]:
        s = self.settings
        if s.wm_scope == "thread":
            return "thread", s.thread_id or ""
        return "resource", s.resource_id

    def schema(self) -> dict | None:
        text = self.memory.store.get_setting("working_memory_schema")
        return json.loads(text) if text else None

    def working_memory_text(self) -> str | None:
        scope, scope_id = self._wm_scope_id()
        return self.memory.store.working_memory.get(scope, scope_id)

    def _observation_record(self):
        s = self.settings
        if not (s.observational and s.memory and s.thread_id):
            return None
        return self.memory.store.observations.latest("thread", s.thread_id)

    def _history(self, record=None) -> list[Message]:
        """Recent messages of the thread, minus those the observation log already holds."""
        s = self.settings
        if not s.thread_id or not self.memory.store.threads.get(s.thread_id):
            return []
        recent = self.memory.store.messages.window(s.thread_id, last=s.history_messages)
        cursor = record.last_observed_rowid if record and record.last_observed_rowid else 0
        return [m for m in recent if m.rowid > cursor]

    def _recalled(self, prompt: str, notices: list[str]) -> list[Message]:
        s = self.settings
        if not prompt.strip() or not self.memory.store.threads.resource_exists(s.resource_id):
            return []
        result = self.memory.recall(
            prompt, resource_id=s.resource_id, top_k=s.recall_top_k, message_range=s.recall_range
        )
        notices += result.notices
        return [h.message for h in result.hits if h.message.thread_id != s.thread_id]

    def plan(self, prompt: str, notices: list[str] | None = None) -> context.ContextPlan:
        """Exactly what would be sent for this prompt, fitted to the budget."""
        notices = notices if notices is not None else []
        s = self.settings
        window = s.max_context or self.llm.context_window()
        schema = self.schema()
        tools = [working_memory.tool_definition(schema)] if s.memory and self.tools_supported else None
        record = self._observation_record()
        return context.build(
            system=s.system or DEFAULT_SYSTEM,
            working_memory=working_memory.instructions(self.working_memory_text(), schema)
            if s.memory
            else None,
            observations=observations_block(record),
            recalled=self._recalled(prompt, notices) if s.memory else [],
            history=self._history(record) if s.memory else [],
            user=prompt,
            tools=tools,
            window=window,
            reserve=min(s.reserve, window // 4),
        )

    # ---- a turn ---------------------------------------------------------------

    def send(self, prompt: str, on_token: Callable[[str], None] | None = None) -> TurnResult:
        if not prompt.strip():
            raise InputError("the message is empty")
        s = self.settings
        notices: list[str] = []
        plan = self.plan(prompt, notices)  # before saving: the prompt is not history yet
        self.last_plan = plan
        if s.thread_id is None:
            s.thread_id = self.memory.create_thread(resource_id=s.resource_id).id
        first_exchange = not self.memory.store.messages.window(s.thread_id, last=1)
        saved = self.memory.save_messages(
            [{"content": prompt, "role": "user", "thread_id": s.thread_id, "resource_id": s.resource_id}]
        )
        notices += saved.notices
        reply, updated = self._complete(plan, on_token, notices)
        usage = reply.usage
        meta = {"model": reply.model or self.llm.model, "usage": usage}
        if reply.content.strip():
            self.memory.save_messages(
                [
                    {
                        "content": reply.content,
                        "role": "assistant",
                        "thread_id": s.thread_id,
                        "resource_id": s.resource_id,
                        "metadata": meta,
                    }
                ]
            )
        title = self._title(prompt) if s.titles and first_exchange else None
        if s.observational and s.memory:
            notices += self._maintain_observations()
        return TurnResult(
            reply.content, plan, s.thread_id, usage, updated, title, list(dict.fromkeys(notices))
        )

    def _complete(self, plan, on_token, notices) -> tuple[Reply, bool]:
        messages = list(plan.messages)
        tools = plan.tools
        updated = False
        try:
            reply = self.llm.complete(messages, tools=tools, on_token=on_token)
        except ModelError as exc:
            if tools and _tools_unsupported(exc):
                self.tools_supported = False
                notices.append(f"{self.llm.model} does not take tools: working memory is read-only")
                plan.tools, plan.sections["tools"] = None, 0
                reply = self.llm.complete(messages, on_token=on_token)
            else:
                raise
        usage = dict(reply.usage)
        for _ in range(MAX_TOOL_ROUNDS):
            if not reply.tool_calls:
                break
            messages.append(
                {
                    "role": "assistant",
                    "content": reply.content or None,
                    "tool_calls": [
                        {
                            "id": c.id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments},
                        }
                        for c in reply.tool_calls
                    ],
                }
            )
            for call in reply.tool_calls:
                result = self._run_tool(call)
                updated = updated or result == "ok"
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
            reply = self.llm.complete(messages, tools=tools, on_token=on_token)
            for key, value in reply.usage.items():
                usage[key] = usage.get(key, 0) + value
        reply.usage = usage
        return reply, updated

    def _maintain_observations(self) -> list[str]:
        """Observe and reflect when thresholds are crossed (after the reply went out).
        A failure here never loses the turn; it is reported and retried next turn."""
        from memcli.observational import settings
        from memcli.observational.observer import Observer
        from memcli.observational.reflector import Reflector

        s = self.settings
        notes = []
        try:
            observer = Observer(
                self.memory.store, self.llm, message_tokens=settings.message_tokens(s.observation_tokens)
            )
            done = observer.run("thread", s.thread_id)
            if done.observed_messages:
                notes.append(f"observed {done.observed_messages} older messages into the observation log")
            reflector = Reflector(
                self.memory.store,
                self.llm,
                observation_tokens=settings.observation_tokens(s.reflection_tokens),
            )
            reflected = reflector.run("thread", s.thread_id)
            if reflected.generation is not None:
                notes.append(f"condensed the observation log to {reflected.after_tokens} tokens")
        except MemcliError as exc:
            notes.append(f"observational memory skipped this turn: {exc}")
        return notes

    def _run_tool(self, call) -> str:
        """Apply a tool call; the result text goes back to the model. Nothing is
        written from a call that does not validate."""
        if call.name != working_memory.TOOL_NAME:
            return f"error: unknown tool {call.name}"
        try:
            arguments = tool_arguments(call)
            new = working_memory.apply_update(self.working_memory_text(), arguments, self.schema())
        except MemcliError as exc:
            return f"error: {exc}"
        scope, scope_id = self._wm_scope_id()
        with self.memory.store.transaction():
            self.memory.store.working_memory.set(scope, scope_id, new, source="model")
        return "ok"

    def _title(self, prompt: str) -> str | None:
        try:
            reply = self.title_llm.complete(
                [{"role": "user", "content": TITLE_PROMPT.format(message=prompt)}]
            )
        except ModelError:
            return None  # a title is a nicety; the reply already went out
        title = clean_title(reply.content)
        if title:
            self.memory.rename_thread(self.settings.thread_id, title)
        return title


def clean_title(text: str) -> str | None:
    line = next((ln for ln in text.strip().splitlines() if ln.strip()), "")
    line = line.strip().strip("\"'`“”‘’").replace(":", " -").strip()
    line = " ".join(line.split())
    if len(line) > 80:
        line = line[:79].rstrip() + "…"
    return line or None


def _tools_unsupported(exc: Exception) -> bool:
    text = str(exc).lower()
    return "tool" in text and any(w in text for w in ("support", "not allowed", "unsupported", "does not"))
