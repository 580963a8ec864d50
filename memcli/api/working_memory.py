"""Working memory through `Memory`: read, replace, update (Markdown or schema mode), history."""

from __future__ import annotations

import json
from pathlib import Path

from memcli import working_memory
from memcli.api.core import MemoryCore
from memcli.errors import InputError

SCHEMA_SETTING = "working_memory_schema"


class WorkingMemoryAPI(MemoryCore):
    def _wm_scope(self, resource_id: str | None, thread_id: str | None) -> tuple[str, str, str]:
        """(scope, scope id, owner): ('thread', id, its owner) with the owner checked,
        else ('resource', id, id)."""
        if thread_id:
            owner = self.get_thread(thread_id, resource_id, counts=False).resource_id
            return "thread", thread_id, owner
        resource = self._owner(resource_id)
        return "resource", resource, resource

    def get_working_memory(
        self, *, resource_id: str | None = None, thread_id: str | None = None
    ) -> str | None:
        """The working memory text of a thread (thread_id) or of a resource."""
        return self.store.working_memory.get(*self._wm_scope(resource_id, thread_id)[:2])

    def working_memory_schema(self) -> dict | None:
        """The JSON schema working memory follows, or None in Markdown mode."""
        text = self.store.get_setting(SCHEMA_SETTING)
        return json.loads(text) if text else None

    def set_working_memory_schema(self, schema: dict | str | Path | None) -> dict | None:
        """Switch to a JSON schema (a dict, JSON text or a file) or, with None, back to Markdown."""
        if schema is None:
            with self.store.transaction():
                self.store.delete_setting(SCHEMA_SETTING)
            return None
        if isinstance(schema, Path):
            try:
                schema = schema.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(
                    f"cannot read the schema file {schema}: {getattr(exc, 'strerror', exc)}"
                ) from None
        parsed = working_memory.load_schema(schema if isinstance(schema, str) else json.dumps(schema))
        with self.store.transaction():
            self.store.set_setting(SCHEMA_SETTING, json.dumps(parsed, ensure_ascii=False))
        return parsed

    def set_working_memory(
        self,
        content: str,
        *,
        resource_id: str | None = None,
        thread_id: str | None = None,
        source: str = "user",
    ) -> str:
        """Replace the whole working memory (in schema mode, content is a JSON object)."""
        scope = self._wm_scope(resource_id, thread_id)
        new = working_memory.replacement(content, self.working_memory_schema())
        with self.store.transaction():
            self.store.working_memory.set(*scope[:2], new, source=source, owner=scope[2])
        return new

    def update_working_memory(
        self,
        content: str | dict,
        *,
        resource_id: str | None = None,
        thread_id: str | None = None,
        source: str = "api",
    ) -> str:
        """What the model's tool does: in Markdown mode the whole new document (an empty
        template never replaces real data); in schema mode fields merged in (null
        deletes, arrays replace). Returns the stored text; InputError writes nothing."""
        scope = self._wm_scope(resource_id, thread_id)
        with self.store.transaction():
            current = self.store.working_memory.get(*scope[:2])
            new = working_memory.apply_update(current, {"memory": content}, self.working_memory_schema())
            self.store.working_memory.set(*scope[:2], new, source=source, owner=scope[2])
        return new

    def clear_working_memory(self, *, resource_id: str | None = None, thread_id: str | None = None) -> None:
        """Empty the working memory; its history keeps the old text."""
        scope = self._wm_scope(resource_id, thread_id)
        with self.store.transaction():
            self.store.working_memory.set(*scope[:2], None, source="user", owner=scope[2])

    def working_memory_history(
        self, *, resource_id: str | None = None, thread_id: str | None = None, limit: int = 50
    ) -> list[dict]:
        """Every change, newest first: content, source, created_at."""
        return self.store.working_memory.history(*self._wm_scope(resource_id, thread_id)[:2], limit=limit)
