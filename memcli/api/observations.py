"""Observational memory through `Memory`: observe, reflect, read the log (thread or resource scope)."""

from __future__ import annotations

from memcli.api.core import MemoryCore
from memcli.errors import InputError, NotFoundError


class ObservationsAPI(MemoryCore):
    def _om_scope(self, resource_id: str | None, thread_id: str | None) -> tuple[str, str]:
        """Thread scope when thread_id is given (owner checked), else resource scope."""
        if thread_id:
            self.get_thread(thread_id, resource_id, counts=False)
            return "thread", thread_id
        resource = resource_id if resource_id is not None else self.settings.resource
        if resource is None:
            raise InputError("observational memory needs a thread id (thread scope) or a resource id")
        return "resource", resource

    def observe(
        self,
        *,
        thread_id: str | None = None,
        resource_id: str | None = None,
        force: bool = False,
        dry_run: bool = False,
        threshold: int | None = None,
        model: str | None = None,
        buffer: bool = False,
    ):
        """Run the Observer: compress unobserved messages into the log. Returns an ObserveResult
        (with dry_run, the prompts it would send and no model call). Buffered observations
        are activated first. buffer=True observes ahead into buffers instead (what the
        background observer does; a BufferResult)."""
        from memcli.observational import buffering
        from memcli.observational.observer import Observer

        if buffer:
            return self._buffer(resource_id, thread_id, force, threshold, model)
        scope, llm, tokens = self._engine_parts(
            "observation", resource_id, thread_id, dry_run, threshold, model
        )
        if not dry_run:
            buffering.activate(self.store, *scope)
        observer = Observer(
            self.store,
            llm,
            message_tokens=tokens,
            options=self._observer_options(),
            embed=self._group_vectors(),
        )
        return observer.run(*scope, force=force or dry_run, dry_run=dry_run)

    def _buffer(self, resource_id, thread_id, force, threshold, model):
        from memcli import paths
        from memcli.observational import background, buffering
        from memcli.observational.observer import Observer

        scope = self._om_scope(resource_id, thread_id)
        step = self.settings.observation_buffer_tokens
        if step <= 0 and not force:
            return buffering.BufferResult(skipped="buffering is off (observation.buffer_tokens is 0)")
        limit = threshold if threshold is not None else self.settings.observation_tokens
        keep_tail = int(limit * (1 - min(self.settings.observation_buffer_activation, 1.0)))
        with background.scope_lock(background.lock_path(paths.home_dir(), str(self.path), *scope)) as mine:
            if not mine:
                return buffering.BufferResult(skipped="another observer is buffering this scope")
            llm = self._chat_model("observation", model)
            observer = Observer(
                self.store,
                llm,
                message_tokens=limit,
                options=self._observer_options(),
                embed=self._group_vectors(),
            )
            return buffering.buffer(observer, *scope, step=max(step, 1), keep_tail=keep_tail, force=force)

    def activate_observations(self, *, thread_id: str | None = None, resource_id: str | None = None) -> int:
        """Buffered observations into the log now (one generation, no model call); how many."""
        from memcli.observational import buffering

        return buffering.activate(self.store, *self._om_scope(resource_id, thread_id))

    def _search_groups(self, query: str, thread_id: str | None, resource_id: str | None) -> list[dict]:
        """Observation groups closest in meaning to the query (this thread's log and the
        resource's), each with the first messages it came from."""
        from memcli.observational.retrieval import best_groups

        vectors = self._embed_texts([query])
        if vectors is None:
            return []
        logs = [("resource", self.observation_history(resource_id=self._owner(resource_id)))]
        if thread_id:
            logs.insert(0, ("thread", self.observation_history(thread_id=thread_id, resource_id=resource_id)))
        groups = best_groups(logs, vectors[1][0], vectors[0])
        for g in groups:
            g.pop("vector", None)
            g["messages"] = _group_messages(self, g, g["scope"], g["scope_id"])
        return groups

    def observe_in_background(
        self, *, thread_id: str | None = None, resource_id: str | None = None, model: str | None = None
    ):
        """Start `memcli observe --buffer` for the scope, detached; returns its process."""
        from memcli.observational import background

        self._om_scope(resource_id, thread_id)  # the owner is checked before anything starts
        return background.spawn(str(self.path), thread_id=thread_id, resource_id=resource_id, model=model)

    def reflect(
        self,
        *,
        thread_id: str | None = None,
        resource_id: str | None = None,
        force: bool = False,
        dry_run: bool = False,
        threshold: int | None = None,
        model: str | None = None,
    ):
        """Run the Reflector: condense a log over the threshold. Returns a ReflectResult."""
        from memcli.observational.reflector import Reflector

        scope, llm, tokens = self._engine_parts(
            "reflection", resource_id, thread_id, dry_run, threshold, model
        )
        reflector = Reflector(self.store, llm, observation_tokens=tokens, options=self._observer_options())
        return reflector.run(*scope, force=force, dry_run=dry_run)

    def _group_vectors(self):
        """observation.retrieval_vector: groups get vectors when written (None: off)."""
        return self._embed_texts if self.settings.observation_retrieval_vector else None

    def _observer_options(self):
        from memcli.observational.options import ObserverOptions

        return ObserverOptions.from_settings(self.settings)

    def _engine_parts(self, kind, resource_id, thread_id, dry_run, threshold, model):
        """(scope, model client or None for a dry run, token threshold) for observe and reflect."""
        scope = self._om_scope(resource_id, thread_id)
        llm = None if dry_run else self._chat_model(kind, model)
        default = (
            self.settings.observation_tokens if kind == "observation" else self.settings.reflection_tokens
        )
        return scope, llm, threshold if threshold is not None else default

    def get_observations(self, *, thread_id: str | None = None, resource_id: str | None = None):
        """The active ObservationRecord (log, current task, suggested response), or None."""
        return self.store.observations.latest(*self._om_scope(resource_id, thread_id))

    def observation_history(self, *, thread_id: str | None = None, resource_id: str | None = None) -> list:
        """Every generation of the log, oldest first."""
        return self.store.observations.history(*self._om_scope(resource_id, thread_id))

    def observation_status(self, *, thread_id: str | None = None, resource_id: str | None = None) -> dict:
        """How close each threshold is: unobserved messages and tokens against the Observer's
        threshold, the active log's tokens against the Reflector's."""
        scope, scope_id = self._om_scope(resource_id, thread_id)
        latest = self.store.observations.latest(scope, scope_id)
        cursor = latest.last_observed_rowid if latest and latest.last_observed_rowid else 0
        where = {"thread_id": scope_id} if scope == "thread" else {"resource_id": scope_id}
        messages, tokens = self.store.messages.pending_totals(cursor, **where)
        held = self.store.observations.buffers(scope, scope_id)
        return {
            "buffers": len(held),
            "buffered_messages": sum(b.metadata.get("messages", 0) for b in held),
            "buffered_tokens": sum(b.observed_tokens for b in held),
            "scope": scope,
            "scope_id": scope_id,
            "generation": latest.generation if latest else None,
            "unobserved_messages": messages,
            "unobserved_tokens": tokens,
            "observation_threshold": self.settings.observation_tokens,
            "log_tokens": latest.token_count if latest else 0,
            "reflection_threshold": self.settings.reflection_tokens,
        }

    def observation_sources(
        self,
        generation: int,
        *,
        thread_id: str | None = None,
        resource_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list:
        """The messages an observation generation was made from (those past the previous
        generation's cursor, up to its own), a page at a time. A reflection condenses earlier
        generations, not messages: it has none."""
        scope, scope_id = self._om_scope(resource_id, thread_id)
        if not 1 <= limit <= 10_000 or offset < 0:
            raise InputError("limit must be 1 to 10000 and offset 0 or more")
        history = self.store.observations.history(scope, scope_id)
        found = [g for g in history if g.generation == generation]
        if not found:
            raise NotFoundError(f"no observation generation {generation} in this {scope}")
        record = found[0]
        if record.origin != "observation" or not record.last_observed_rowid:
            return []
        earlier = [g.last_observed_rowid or 0 for g in history if g.generation < generation]
        start = max(earlier, default=0)
        where = {"thread_id": scope_id} if scope == "thread" else {"resource_id": scope_id}
        return self.store.messages.after(
            start, until=record.last_observed_rowid, limit=limit, offset=offset, **where
        )

    def open_messages(
        self,
        *,
        generation: int | None = None,
        thread_id: str | None = None,
        query: str | None = None,
        cursor: str | None = None,
        resource_id: str | None = None,
        limit: int = 20,
    ) -> dict:
        """The raw messages behind the observation log (a model's recall_messages tool, MCP):
        a generation's sources (thread scope with thread_id, else the resource's), a thread's
        messages, or a search; {"messages": [...], "next_cursor": str or None}."""
        offset = _offset(cursor)
        if query:
            hits = self.recall(query, resource_id=resource_id, top_k=limit, message_range=0).hits  # type: ignore[attr-defined]
            searched: dict = {"messages": [_compact(h.message) for h in hits], "next_cursor": None}
            if self.settings.observation_retrieval_vector:
                searched["groups"] = self._search_groups(query, thread_id, resource_id)
            return searched
        if generation is not None:
            found = self.observation_sources(
                generation, thread_id=thread_id, resource_id=resource_id, limit=limit + 1, offset=offset
            )
        elif thread_id:
            found = self.list_messages(thread_id, resource_id, offset=offset, limit=limit + 1)
        else:
            raise InputError("give a generation, a thread_id or a query")
        more = len(found) > limit
        return {
            "messages": [_compact(m) for m in found[:limit]],
            "next_cursor": str(offset + limit) if more else None,
        }


def _group_messages(mem, g: dict, scope: str, scope_id: str) -> list[dict]:
    where = {"thread_id": scope_id} if scope == "thread" else {"resource_id": scope_id}
    rows = mem.store.messages.after(g["first_rowid"] - 1, until=g["last_rowid"], limit=20, **where)
    return [_compact(m) for m in rows]


def _offset(cursor: str | None) -> int:
    if cursor in (None, ""):
        return 0
    try:
        value = int(str(cursor))
    except ValueError:
        raise InputError(f"cursor must come from the previous answer, not {cursor!r}") from None
    if value < 0:
        raise InputError("cursor must come from the previous answer")
    return value


def _compact(m) -> dict:
    return {
        "id": m.id,
        "thread_id": m.thread_id,
        "role": m.role,
        "created_at": m.created_at,
        "content": m.content,
    }
