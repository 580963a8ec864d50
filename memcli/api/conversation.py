"""Chat turns through `Memory`: a session for the REPL, one-shot `ask`, and token reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict, Unpack, cast

from memcli.api.core import MemoryCore
from memcli.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from memcli.api.core import ChatMemory


class SessionOptions(TypedDict, total=False):
    """chat_session's keyword arguments, which ask and token_report take too."""

    thread_id: str | None
    resource_id: str | None
    continue_latest: bool
    model: str | None
    title_model: str | None
    system: str | None
    max_context: int | None
    memory: bool
    titles: bool


class ConversationAPI(MemoryCore):
    def chat_session(
        self,
        *,
        thread_id: str | None = None,
        resource_id: str | None = None,
        continue_latest: bool = False,
        model: str | None = None,
        title_model: str | None = None,
        system: str | None = None,
        max_context: int | None = None,
        memory: bool = True,
        titles: bool = True,
    ):
        """A ChatSession bound to a thread (created on the first message when None).

        continue_latest picks the resource's most recent thread. memory=False is a
        plain call: nothing is recalled, stored or titled.
        """
        from memcli.chat import ChatSession, ChatSettings

        if continue_latest and thread_id:
            raise InputError("continue the latest thread or name one, not both")
        if max_context is not None and not 256 <= max_context <= 10_000_000:
            raise InputError("max_context must be from 256 to 10000000 tokens")
        owner = self._checked_owner(resource_id)
        if thread_id is not None:
            existing = self.thread_owner(thread_id)
            if existing is not None:
                self.get_thread(thread_id, resource_id, counts=False)
                owner = existing
        if continue_latest:
            latest = self.latest_thread(owner)
            if latest is None:
                raise NotFoundError(f"resource {self._owner(owner)} has no thread to continue")
            thread_id = latest.id
        settings = ChatSettings(
            resource_id=self._owner(owner),
            thread_id=thread_id if memory else None,
            system=system,
            memory=memory,
            max_context=max_context,
            titles=titles and memory,
            observational=self.settings.observation_enabled,
            extract_memories=self.settings.memories_extract,
            retrieval=self.settings.observation_retrieval,
            retrieval_instructions=self.settings.observation_retrieval_instructions,
            observer_keeps_wm=self.settings.observation_manage_working_memory,
            buffer_tokens=self.settings.observation_buffer_tokens,
            block_after=self.settings.observation_block_after,
            activate_after_idle=self.settings.observation_activate_after_idle,
        )
        chat_llm = self._chat_model("chat", model)
        title_llm = (
            self._chat_model("title", title_model) if (title_model or self.settings.title_model) else None
        )
        return ChatSession(cast("ChatMemory", self), chat_llm, settings, title_llm=title_llm)

    def ask(
        self, prompt: str, *, on_token: Callable[[str], None] | None = None, **session: Unpack[SessionOptions]
    ):
        """One turn with memory; returns a TurnResult (reply, thread, usage, plan, notices).
        Takes chat_session's keyword arguments; on_token(text) hears the streamed reply."""
        return self.chat_session(**session).send(prompt, on_token=on_token)

    def token_report(self, prompt: str = "", **session: Unpack[SessionOptions]) -> dict:
        """The budget of the next request, section by section, before anything is sent;
        with the thread's stored totals and the usage of its past turns."""
        session["titles"] = False  # a report never titles a thread
        chat = self.chat_session(**session)
        plan = chat.plan(prompt)
        totals: dict[str, Any] = {"messages": 0, "tokens": 0, "turns": []}
        thread_id = chat.settings.thread_id
        if thread_id and self.thread_owner(thread_id) is not None:
            totals["messages"], totals["tokens"] = self.thread_totals(thread_id)
            for message_id, usage in self.store.messages.usage_of_turns(thread_id):
                totals["turns"].append({"id": message_id, **usage})
        return {"model": chat.llm.model, **plan.to_dict(), "thread": totals}
