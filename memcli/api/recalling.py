"""Recall through `Memory`: hybrid search over messages, one query or many."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memcli.api.core import MemoryCore
from memcli.errors import InputError
from memcli.records import Filters
from memcli.timefmt import optional_bound, parse_duration

if TYPE_CHECKING:
    from memcli.recall import RecallResult

MAX_TOP_K = 10_000
MAX_MESSAGE_RANGE = 100


class RecallAPI(MemoryCore):
    def recall(
        self,
        query: str,
        *,
        resource_id: str | None = None,
        thread_id: str | None = None,
        scope: str = "resource",
        top_k: int | None = None,
        message_range: int | None = None,
        threshold: float | None = None,
        since: str | None = None,
        until: str | None = None,
        roles: list[str] | None = None,
        mode: str = "hybrid",
        half_life: str | float | None = None,
        explain: bool = False,
        all_resources: bool = False,
        memory_route: bool = True,
    ) -> RecallResult:
        """Messages relevant to the query, best first, with neighbours as context.

        scope: 'resource' or 'thread'; top_k and message_range default to
        recall.top_k and recall.message_range; since/until take ISO dates or ages
        like '7d'; mode: 'hybrid', 'vector' or 'keyword'; half_life: '30d' or days;
        explain: each hit's keyword, bm25, vector, neighbour, decay and memory parts.
        memory_route: hybrid recall also ranks the messages the resource's facts
        memories cite, fused with its own ranking (False: messages alone).
        """
        query_row = dict(query=query, resource_id=resource_id, thread_id=thread_id, top_k=top_k)
        return self.recall_many(
            [query_row],
            scope=scope,
            message_range=message_range,
            threshold=threshold,
            since=since,
            until=until,
            roles=roles,
            mode=mode,
            half_life=half_life,
            explain=explain,
            all_resources=all_resources,
            memory_route=memory_route,
        )[0]

    def recall_many(
        self,
        queries: list[dict],
        *,
        scope: str = "resource",
        top_k: int | None = None,
        message_range: int | None = None,
        threshold: float | None = None,
        since: str | None = None,
        until: str | None = None,
        roles: list[str] | None = None,
        mode: str = "hybrid",
        half_life: str | float | None = None,
        explain: bool = False,
        all_resources: bool = False,
        memory_route: bool = True,
    ) -> list[RecallResult]:
        """Answer many queries with one model load and one embedding batch.
        Each query dict has `query` and optionally resource_id, thread_id, top_k, scope.
        A query without a resource searches the configured one ('default' without one);
        every resource's messages only with all_resources=True."""
        from memcli.recall import MODES, RecallOptions, run_queries

        if mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise InputError("threshold must be between 0 and 1")
        message_range = self.settings.recall_message_range if message_range is None else message_range
        _check_int("message_range", message_range, 0, MAX_MESSAGE_RANGE)
        bounds = optional_bound(since), optional_bound(until)
        half_life_days = _days(half_life)
        texts, filters, options = [], [], []
        for q in queries:
            if not isinstance(q.get("query"), str) or not q["query"].strip():
                raise InputError("query must be a non-empty string")
            k = q.get("top_k") if q.get("top_k") is not None else top_k
            k = self.settings.recall_top_k if k is None else k
            _check_int("top_k", k, 1, MAX_TOP_K)
            texts.append(q["query"])
            filters.append(
                self._filters(
                    q.get("resource_id"),
                    q.get("thread_id"),
                    q.get("scope") or scope,
                    bounds,
                    roles,
                    all_resources,
                )
            )
            options.append(
                RecallOptions(
                    k,
                    message_range,
                    mode,
                    threshold,
                    half_life_days,
                    explain=explain,
                    memory_route=memory_route,
                )
            )
        return run_queries(
            self._recall_engine, self.store, texts, filters, options, self.ingest.embedder_or_notice
        )

    def recall_memories(
        self, query: str, *, resource_id: str | None = None, top_k: int | None = None
    ) -> list[dict[str, Any]]:
        """Facts memories for a recall query, beside its message hits: each a dict with
        "type": "memory", the version's fields, its score and its source messages.
        top_k defaults to recall.top_k, as message hits do."""
        k = self.settings.recall_top_k if top_k is None else top_k
        rows = []
        for version, score in self.search_memories(query, resource_id=resource_id, top_k=k):  # type: ignore[attr-defined]
            sources = self.list_messages_by_id(version.sources, resource_id=version.resource_id)  # type: ignore[attr-defined]
            rows.append(
                {
                    "type": "memory",
                    **version.to_dict(),
                    "score": round(score, 4),
                    "source_messages": [m.to_dict() for m in sources],
                }
            )
        return rows

    def _filters(self, resource_id, thread_id, scope, bounds, roles, all_resources=False) -> Filters:
        from memcli.records import ROLES

        if scope not in ("resource", "thread"):
            raise InputError(f"scope must be resource or thread, not {scope!r}")
        for role in roles or ():
            if role not in ROLES:
                raise InputError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if thread_id is not None:
            resource_id = self.get_thread(thread_id, resource_id, counts=False).resource_id
        elif scope == "thread":
            raise InputError("scope 'thread' needs a thread id")
        else:
            resource_id = self._covered(resource_id, all_resources)
        return Filters(
            resource_id=resource_id,
            thread_id=thread_id if scope == "thread" else None,
            since=bounds[0],
            until=bounds[1],
            roles=tuple(roles) if roles else None,
        )


def _days(value: str | float | None) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return parse_duration(value).total_seconds() / 86400
    if isinstance(value, bool) or not value > 0 or value == float("inf"):
        raise InputError("half_life must be a positive number of days or an age like '30d'")
    return float(value)


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{name} must be a whole number from {low} to {high}, not {value!r}")
