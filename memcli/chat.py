"""One chat turn with memory: save, recall, assemble, call the model, remember.

Used by `memcli ask`, `memcli chat` and `memcli tokens` (which plans a turn
without sending it). The user's message is saved before the model is called,
so a failed reply loses nothing the user typed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memcli import context, working_memory
from memcli.errors import InputError, MemcliError
from memcli.io.jsonl import message_from_obj
from memcli.llm import LLM, ModelError, Reply, tool_arguments, tools_unsupported
from memcli.observational import buffering, retrieval
from memcli.records import Message
from memcli.settings import DEFAULT_RESOURCE
from memcli.titles import clean_title

if TYPE_CHECKING:
    from memcli.api.core import ChatMemory

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
    observation_model: str | None = None  # None: the settings' observation.model, else the chat model
    memories_top_k: int = 5  # facts memory shown to the model
    extract_memories: bool = False  # extract facts after each turn (config memories.extract)
    retrieval: bool = False  # recall_messages: the raw messages behind observations (observation.retrieval)
    retrieval_instructions: str | None = None  # extend that tool's description
    observer_keeps_wm: bool = False  # observation.manage_working_memory: the model only reads it
    buffer_tokens: int = 0  # observation.buffer_tokens: observe ahead in the background (0: off)
    block_after: float = 1.2
    activate_after_idle: float = 0.0


OBSERVATIONS_INTRO = (
    "These are your observations of earlier parts of this conversation (the messages themselves "
    "are no longer shown). Prefer the newest facts; when they conflict, the user's latest "
    "statement wins."
)


MEMORIES_INTRO = "Facts you remember about the user (current; the newest knowledge wins):"
WM_READ_ONLY = "What you know about the user (your memory keeps it up to date):"
RESOURCE_INTRO = "Your observations across all your conversations with this user:"


def observations_block(record, resource_record=None) -> str | None:
    """The logs (the user's across threads, then this thread's), then current task and
    suggested response last (they change most)."""
    parts = []
    if resource_record is not None and resource_record.observations.strip():
        log = resource_record.observations.strip()
        parts += [RESOURCE_INTRO, "<resource-observations>\n" + log + "\n</resource-observations>"]
    if record is None or not record.observations.strip():
        return "\n".join(parts) or None
    parts += [OBSERVATIONS_INTRO, "<observations>\n" + record.observations.strip() + "\n</observations>"]
    parts.append(
        f"(observed on {record.created_at[:16].replace('T', ' ')} UTC; relative dates are from then)"
    )
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
    notices: list[str] = field(default_factory=list)  # warnings: something did not happen
    info: list[str] = field(default_factory=list)  # what memory did besides the reply


class ChatSession:
    def __init__(self, memory: ChatMemory, llm: LLM, settings: ChatSettings, *, title_llm: LLM | None = None):
        self.memory = memory
        self.llm = llm
        self.title_llm = title_llm or llm
        self.settings = settings
        self.tools_supported = True
        self.last_plan: context.ContextPlan | None = None

    # ---- pieces ------------------------------------------------------------

    def _wm_where(self) -> dict:
        s = self.settings
        if s.wm_scope == "thread":
            return {"thread_id": s.thread_id, "resource_id": s.resource_id}
        return {"resource_id": s.resource_id}

    def schema(self) -> dict | None:
        return self.memory.working_memory_schema()

    def working_memory_text(self) -> str | None:
        where = self._wm_where()
        if "thread_id" in where and not self._thread_exists():
            return None
        return self.memory.get_working_memory(**where)

    def _thread_exists(self) -> bool:
        return bool(self.settings.thread_id) and self.memory.thread_owner(self.settings.thread_id) is not None  # type: ignore[arg-type]

    def _observation_records(self):
        """(this thread's log, the resource's log): chat reads both scopes."""
        s = self.settings
        if not (s.observational and s.memory):
            return None, None
        thread = self.memory.get_observations(thread_id=s.thread_id) if self._thread_exists() else None
        resource = self.memory.get_observations(resource_id=s.resource_id)
        return thread, resource

    def _history(self, records, saved: Message | None) -> list[Message]:
        """Recent messages of the thread, minus those an observation log already holds
        and minus the message being sent (saved before the call)."""
        s = self.settings
        if not self._thread_exists():
            return []
        recent = self.memory.list_messages(s.thread_id, s.resource_id, last=s.history_messages)  # type: ignore[arg-type]
        cursors = [r.last_observed_rowid or 0 for r in records if r is not None]
        cursor = max(cursors, default=0)
        return [m for m in recent if m.rowid > cursor and (saved is None or m.id != saved.id)]  # type: ignore[operator]

    def _recalled(self, prompt: str, notices: list[str]) -> list[Message]:
        s = self.settings
        if not prompt.strip() or self.memory.latest_thread(s.resource_id) is None:
            return []
        result = self.memory.recall(
            prompt, resource_id=s.resource_id, top_k=s.recall_top_k, message_range=s.recall_range
        )
        notices += result.notices
        return [h.message for h in result.hits if h.message.thread_id != s.thread_id]

    def _memories_block(self, prompt: str) -> str | None:
        """The current facts most relevant to the prompt, with since-when."""
        s = self.settings
        if not prompt.strip():
            return None
        found = self.memory.search_memories(prompt, resource_id=s.resource_id, top_k=s.memories_top_k)
        if not found:
            return None
        lines = [f"- {v.text}" + (f" (since {v.valid_from[:10]})" if v.valid_from else "") for v, _ in found]
        return MEMORIES_INTRO + "\n" + "\n".join(lines)

    def plan(
        self, prompt: str, notices: list[str] | None = None, saved: Message | None = None
    ) -> context.ContextPlan:
        """Exactly what would be sent for this prompt, fitted to the budget."""
        notices = notices if notices is not None else []
        s = self.settings
        window = s.max_context or self.llm.context_window()
        schema = self.schema()
        tools = self._tools(schema)
        records = self._observation_records()
        return context.build(
            system=s.system or DEFAULT_SYSTEM,
            working_memory=self._working_memory_block(schema) if s.memory else None,
            observations=self._observations_text(records),
            memories=self._memories_block(prompt) if s.memory else None,
            recalled=self._recalled(prompt, notices) if s.memory else [],
            history=self._history(records, saved) if s.memory else [],
            user=prompt,
            tools=tools,
            window=window,
            reserve=min(s.reserve, window // 4),
        )

    # ---- a turn ---------------------------------------------------------------

    def send(self, prompt: str, on_token: Callable[[str], None] | None = None) -> TurnResult:
        """One turn. With memory, the user's message is saved before anything else,
        so a failed reply (or a prompt too long for the window) loses nothing typed;
        asking again after a failure does not store the message twice."""
        if not prompt.strip():
            raise InputError("the message is empty")
        s = self.settings
        notices: list[str] = []
        early = buffering.activate_if_idle(self.memory, s) if s.memory and s.observational else []
        saved, first_exchange = self._save_prompt(prompt, notices) if s.memory else (None, False)
        plan = self.plan(prompt, notices, saved)
        self.last_plan = plan
        reply, updated = self._complete(plan, on_token, notices)
        if not reply.content.strip() and not updated:
            raise ModelError(f"model {self.llm.model} sent an empty reply; your message is kept, ask again")
        usage = reply.usage
        if s.memory and reply.content.strip():
            meta = {"model": reply.model or self.llm.model, "usage": usage}
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
        info: list[str] = list(early)
        if s.observational and s.memory:
            info += self._maintain_observations(notices)
        if s.extract_memories and s.memory:
            info += self._extract_memories(notices)
        return TurnResult(
            reply.content,
            plan,
            s.thread_id,  # type: ignore[arg-type]  # the turn created it
            usage,
            updated,
            title,
            list(dict.fromkeys(notices)),
            info,
        )

    def _save_prompt(self, prompt: str, notices: list[str]) -> tuple[Message, bool]:
        """(the stored user message, whether the thread had none before)."""
        s = self.settings
        if s.thread_id is None:
            s.thread_id = self.memory.create_thread(resource_id=s.resource_id).id
        last = self.memory.list_messages(s.thread_id, s.resource_id, last=1) if self._thread_exists() else []
        if last and last[0].role == "user" and last[0].content == prompt:
            return last[0], False  # the same turn asked again after a failed reply
        message = message_from_obj({"content": prompt}, thread_id=s.thread_id, resource_id=s.resource_id)
        notices += self.memory.save_messages([message]).notices
        return message, not last

    def _complete(self, plan, on_token, notices) -> tuple[Reply, bool]:
        messages = list(plan.messages)
        tools = plan.tools
        updated = False
        try:
            reply = self.llm.complete(messages, tools=tools, on_token=on_token)
        except ModelError as exc:
            if tools and tools_unsupported(exc):
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

    def _maintain_observations(self, warnings: list[str]) -> list[str]:
        """Observe and reflect when thresholds are crossed (after the reply went out),
        with the observation and reflection models of the settings.
        A failure here never loses the turn; it is reported and retried next turn."""
        s = self.settings
        notes: list[str] = []
        try:
            if s.buffer_tokens > 0:
                notes += buffering.after_turn(self.memory, s)
            else:
                done = self.memory.observe(
                    thread_id=s.thread_id, threshold=s.observation_tokens, model=s.observation_model
                )
                if done.observed_messages:
                    notes.append(f"observed {done.observed_messages} older messages into the observation log")
            reflected = self.memory.reflect(thread_id=s.thread_id, threshold=s.reflection_tokens)
            if reflected.generation is not None:
                notes.append(f"condensed the observation log to {reflected.after_tokens} tokens")
        except MemcliError as exc:
            warnings.append(f"observational memory skipped this turn: {exc}")
        return notes

    def _extract_memories(self, warnings: list[str]) -> list[str]:
        """Facts from this turn (after the reply went out); a failure is a warning, not raised."""
        try:
            done = self.memory.extract_memories(thread_id=self.settings.thread_id)
        except MemcliError as exc:
            warnings.append(f"facts extraction skipped this turn: {exc}")
            return []
        changed = len(done.added) + len(done.updated) + len(done.deleted)
        return [f"facts memory: {changed} changes"] if changed else []

    def _working_memory_block(self, schema) -> str | None:
        if not self.settings.observer_keeps_wm:
            return working_memory.instructions(self.working_memory_text(), schema)
        text = (self.working_memory_text() or "").strip()
        return f"{WM_READ_ONLY}\n{text}" if text else None

    def _tools(self, schema) -> list[dict] | None:
        if not (self.settings.memory and self.tools_supported):
            return None
        tools = [] if self.settings.observer_keeps_wm else [working_memory.tool_definition(schema)]
        if self._retrieval():
            tools.append(retrieval.tool_definition(self.settings.retrieval_instructions))
        return tools or None

    def _retrieval(self) -> bool:
        """observation.retrieval: the model may open the messages behind its observations."""
        return self.settings.retrieval and self.settings.observational

    def _observations_text(self, records) -> str | None:
        block = observations_block(*records)
        if block and self._retrieval():
            thread = self.settings.thread_id if self._thread_exists() else None
            legend = retrieval.sources_legend(self.memory, self.settings.resource_id, thread)
            block = f"{block}\n{legend}" if legend else block
        return block

    def _open_messages(self, call) -> str:
        """The recall_messages tool: raw messages as JSON, for this session's resource only."""
        s = self.settings
        try:
            found = retrieval.run(
                self.memory,
                tool_arguments(call),
                resource_id=s.resource_id,
                thread_id=s.thread_id if self._thread_exists() else None,
            )
        except MemcliError as exc:
            return f"error: {exc}"
        return json.dumps(found, ensure_ascii=False)

    def _run_tool(self, call) -> str:
        """Apply a tool call; the result text goes back to the model. Nothing is
        written from a call that does not validate."""
        if call.name == retrieval.TOOL_NAME and self._retrieval():
            return self._open_messages(call)
        if call.name != working_memory.TOOL_NAME or self.settings.observer_keeps_wm:
            return f"error: unknown tool {call.name}"
        try:
            arguments = tool_arguments(call)
            if "memory" not in arguments:
                raise InputError("update_working_memory needs a 'memory' argument")
            where = self._wm_where()
            self.memory.update_working_memory(arguments["memory"], source="model", **where)
        except MemcliError as exc:
            return f"error: {exc}"
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
            self.memory.rename_thread(self.settings.thread_id, title)  # type: ignore[arg-type]
        return title
