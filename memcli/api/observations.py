"""Observational memory through `Memory`: observe, reflect, read the log (thread or resource scope)."""

from __future__ import annotations

from memcli.api.core import MemoryCore
from memcli.errors import InputError


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
    ):
        """Run the Observer: compress unobserved messages into the log. Returns an ObserveResult
        (with dry_run, the prompts it would send and no model call)."""
        from memcli.observational.observer import Observer

        scope, llm, tokens = self._engine_parts(
            "observation", resource_id, thread_id, dry_run, threshold, model
        )
        observer = Observer(self.store, llm, message_tokens=tokens)
        return observer.run(*scope, force=force or dry_run, dry_run=dry_run)

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
        reflector = Reflector(self.store, llm, observation_tokens=tokens)
        return reflector.run(*scope, force=force, dry_run=dry_run)

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
