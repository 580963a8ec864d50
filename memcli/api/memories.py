"""Facts memory through `Memory`: add, update, delete, history, search, extract, import/export.

Every change is a new version of the same memory id; nothing is overwritten.
A memory belongs to one resource; naming another resource is an OwnershipError.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import IO, Any

from memcli.api.core import MemoryCore
from memcli.errors import InputError, NotFoundError, OwnershipError
from memcli.timefmt import now, optional_bound, parse, to_stored


class MemoriesAPI(MemoryCore):
    # ---- reading -----------------------------------------------------------------

    def _memory(self, memory_id: str, resource_id: str | None):
        """The latest version of a memory, its owner checked."""
        owner = self.store.memories.owner(memory_id)
        if owner is None:
            raise NotFoundError(f"no memory with id {memory_id}")
        asked = self._checked_owner(resource_id)
        if asked is not None and asked != owner:
            raise OwnershipError(memory_id, owner, asked, kind="Memory")
        return self.store.memories.latest(memory_id)

    def get_memory(self, memory_id: str, *, resource_id: str | None = None):
        """The memory's latest version (event DELETE when it has ended)."""
        return self._memory(memory_id, resource_id)

    def memory_history(self, memory_id: str, *, resource_id: str | None = None) -> list:
        """Every version, oldest first: what changed, when, from which messages."""
        self._memory(memory_id, resource_id)
        return self.store.memories.history(memory_id)

    def list_memories(
        self,
        *,
        resource_id: str | None = None,
        thread_id: str | None = None,
        category: str | None = None,
        as_of: str | None = None,
    ) -> list:
        """Current memories (or, with as_of, those true at that date or age), oldest first."""
        resource = self._owner(resource_id)
        if thread_id is not None:
            resource = self.get_thread(thread_id, resource_id, counts=False).resource_id
        if as_of:
            return self.store.memories.as_of(resource, optional_bound(as_of), category=category)  # type: ignore[arg-type]
        return self.store.memories.current(resource, category=category, thread_id=thread_id)

    def search_memories(
        self,
        query: str,
        *,
        resource_id: str | None = None,
        top_k: int = 10,
        category: str | None = None,
        as_of: str | None = None,
        half_life: str | float | None = None,
    ) -> list[tuple[Any, float]]:
        """(memory, score) best first: meaning and words, expired ones left out."""
        from memcli.api.recalling import _days
        from memcli.facts.search import rank

        if not isinstance(query, str) or not query.strip():
            raise InputError("query must be a non-empty string")
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= 1000:
            raise InputError("top_k must be a whole number from 1 to 1000")
        memories = self.list_memories(resource_id=resource_id, category=category, as_of=as_of)
        if not memories:
            return []
        vector = self._query_vector(query, memories)
        moment = parse(optional_bound(as_of)) if as_of else None  # type: ignore[arg-type]
        return rank(query, memories, vector, half_life_days=_days(half_life), moment=moment)[:top_k]

    def _query_vector(self, query: str, memories: list):
        """The query's vector, and only vectors of the same model left on memories
        (a vector of another model is as good as none: never compared)."""
        if not any(m.embedding for m in memories):
            return None
        embedder = self.ingest.embedder_or_notice([])
        for m in memories:
            if embedder is None or m.embedding_model != embedder.name:
                m.embedding = None
        if embedder is None or not any(m.embedding for m in memories):
            return None
        return embedder.embed([query])[0]

    def _embed_texts(self, texts: list[str]) -> tuple[str, list[bytes]] | None:
        """(model, float32 bytes per text), or None without a model (keyword search still works)."""
        import numpy as np

        embedder = self.ingest.embedder_or_notice([]) if texts else None
        if embedder is None:
            return None
        return embedder.name, [
            np.ascontiguousarray(v, dtype=np.float32).tobytes() for v in embedder.embed(texts)
        ]

    # ---- changing --------------------------------------------------------------------

    def add_memory(
        self,
        text: str,
        *,
        resource_id: str | None = None,
        thread_id: str | None = None,
        category: str | None = None,
        valid_from: str | None = None,
        expires_at: str | None = None,
        sources: list[str] | None = None,
        actor: str = "user",
        memory_id: str | None = None,
    ):
        """Add a memory by hand (or from an import); returns its first version."""
        from memcli.store.memories import MemoryVersion

        text = _text(text)
        resource = self._owner(resource_id)
        if thread_id is not None:
            resource = self.get_thread(thread_id, resource_id, counts=False).resource_id
        cited = self._cited(sources or [], resource)
        version = MemoryVersion(
            memory_id=memory_id or "mem_" + uuid.uuid4().hex[:16],
            resource_id=resource,
            thread_id=thread_id,
            version=1,
            event="ADD",
            text=text,
            category=category,
            sources=list(cited),
            valid_from=_when(valid_from, "valid_from"),
            expires_at=_when(expires_at, "expires_at"),
            created_at=now(),
            actor=actor,
        )
        _set_vectors([version], self._embed_texts([text]))
        with self.store.transaction():
            if self.store.memories.owner(version.memory_id) is not None:
                raise InputError(f"memory {version.memory_id} already exists")
            self.store.memories.write(version)
        return version

    def update_memory(
        self,
        memory_id: str,
        text: str | None = None,
        *,
        resource_id: str | None = None,
        category: str | None = None,
        valid_from: str | None = None,
        expires_at: str | None = None,
        actor: str = "user",
    ):
        """A new version with the changes; the old one gets valid_to and superseded_at."""
        return self._change(memory_id, "UPDATE", resource_id, text, category, valid_from, expires_at, actor)

    def delete_memory(
        self,
        memory_id: str,
        *,
        resource_id: str | None = None,
        valid_to: str | None = None,
        actor: str = "user",
    ):
        """End a memory (it stops being current); its history stays."""
        return self._change(memory_id, "DELETE", resource_id, None, None, valid_to, None, actor)

    def _change(self, memory_id, event, resource_id, text, category, valid_from, expires_at, actor):
        from dataclasses import replace

        with self.store.transaction():
            current = self._memory(memory_id, resource_id)
            if current.event == "DELETE":
                raise InputError(f"memory {memory_id} has ended; add a new one instead")
            new = replace(
                current,
                version=current.version + 1,
                event=event,
                text=_text(text) if text is not None else current.text,
                category=category if category is not None else current.category,
                valid_from=_when(valid_from, "valid_from") or now(),
                valid_to=None,
                expires_at=_when(expires_at, "expires_at") or current.expires_at,
                created_at=now(),
                superseded_at=None,
                actor=actor,
                sources=[],
            )
            if text is not None and event == "UPDATE":
                _set_vectors([new], self._embed_texts([new.text]))
            self.store.memories.write(new)
        return new

    def _cited(self, message_ids: list[str], resource: str) -> dict[str, str]:
        """message id -> thread id for cited messages, all of them the resource's own."""
        found = self.store.messages.by_ids(message_ids)
        for mid in message_ids:
            m = found.get(mid)
            if m is None:
                raise InputError(f"source message {mid} does not exist")
            if m.resource_id != resource:
                raise OwnershipError(m.thread_id, m.resource_id, resource)
        return {mid: found[mid].thread_id for mid in message_ids}

    # ---- extraction ---------------------------------------------------------------------

    def extract_memories(
        self, *, thread_id: str | None = None, resource_id: str | None = None, model: str | None = None
    ):
        """Let the model extract memories from new messages of a thread (or of all a
        resource's threads): one call per batch, exactly once per message."""
        from memcli.facts.extract import Extractor, ExtractResult

        if thread_id is not None:
            owner = self.get_thread(thread_id, resource_id, counts=False).resource_id
            threads = [thread_id]
        else:
            owner = self._owner(resource_id)
            threads = [t.id for t in self.store.threads.list(resource_id=owner, limit=2**62)[0]]
        total = ExtractResult()
        llm = None
        for tid in threads:
            if not self.store.messages.after(self.store.memories.cursor(tid), thread_id=tid):
                continue
            llm = llm or self._chat_model("chat", model)
            done = Extractor(self.store, llm, self._similar_memories).run(tid, owner, self._embed_texts)
            for key in ("calls", "messages"):
                setattr(total, key, getattr(total, key) + getattr(done, key))
            for key in ("added", "updated", "deleted", "notices"):
                getattr(total, key).extend(getattr(done, key))
            total.skipped = total.skipped or (done.skipped if done.calls else None)
        if not total.calls:
            total.skipped = total.skipped or "no new messages"
        return total

    def _similar_memories(self, resource_id: str, texts: list[str], k: int) -> list:
        from memcli.facts.search import rank

        current = self.store.memories.current(resource_id)
        if len(current) <= k:
            return current
        query = " ".join(texts)[:4000]
        ranked = [m for m, _ in rank(query, current, self._query_vector(query, current))]
        seen = {m.memory_id for m in ranked}
        return (ranked + [m for m in reversed(current) if m.memory_id not in seen])[:k]

    # ---- import / export ------------------------------------------------------------------

    def export_memories(
        self, target: IO[str], *, resource_id: str | None = None, all_resources: bool = False
    ) -> int:
        """Every version as JSONL (oldest first per memory) of a resource (the configured one
        by default) or of all; returns lines written."""
        count = 0
        for v in self.store.memories.export_rows(self._covered(resource_id, all_resources)):
            target.write(json.dumps(v.to_dict(), ensure_ascii=False) + "\n")
            count += 1
        return count

    def import_memories(self, path: str | Path, *, resource_id: str | None = None) -> dict:
        """memcli's memory JSONL (every version, ids kept) or a Mem0 get_all dump
        ({"results": [...]} or a list), into a resource (the configured one by default),
        in one transaction. Returns {"added": memories new here, "unchanged": already here}."""
        from memcli.facts.interop import read_memories

        owner = self._owner(resource_id)
        kind, rows = read_memories(Path(path), owner)
        ids = list(dict.fromkeys(r["memory_id"] if kind == "mem0" else r["id"] for r in rows))
        summary = {"added": 0, "unchanged": 0}
        with self.store.transaction():
            here = {i for i in ids if self.store.memories.owner(i) is not None}
            for memory_id in here:
                if self.store.memories.owner(memory_id) != owner:
                    raise OwnershipError(memory_id, None, owner, kind="memory")
            if kind == "mem0":
                for row in rows:
                    if row["memory_id"] not in here:
                        self.add_memory(**row)
            else:
                self._write_memory_versions([r for r in rows if r["id"] not in here])
            summary["unchanged"] = len(here)
            summary["added"] = len(ids) - len(here)
        return summary

    def _write_memory_versions(self, rows: list[dict], *, embed: bool = True) -> int:
        """Write checked memory-version records (an archive's or an export's), every version
        in order; sources that are not stored are dropped, the store checks the rest's owner.
        Memories already here are left as they are. Returns the memories written."""
        from memcli.store.memories import MemoryVersion

        written: set[str] = set()
        for r in sorted(rows, key=lambda r: (r["id"], r["version"])):
            if r["id"] not in written and self.store.memories.owner(r["id"]) is not None:
                continue  # already here: importing twice changes nothing
            found = self.store.messages.by_ids(r.get("sources") or [])
            self.store.memories.write(
                MemoryVersion(
                    memory_id=r["id"],
                    resource_id=r["resource_id"],
                    thread_id=r.get("thread_id"),
                    version=r["version"],
                    event=r["event"],
                    text=r["text"],
                    category=r.get("category"),
                    sources=[s for s in r.get("sources") or [] if s in found],
                    valid_from=_when(r.get("valid_from"), "valid_from"),
                    valid_to=_when(r.get("valid_to"), "valid_to"),
                    expires_at=_when(r.get("expires_at"), "expires_at"),
                    created_at=_when(r.get("created_at"), "created_at") or now(),
                    actor=r.get("actor") or "import",
                )
            )
            written.add(r["id"])
        if written and embed:
            self._embed_current(written)
        return len(written)

    def _embed_current(self, memory_ids: set[str]) -> None:
        """Vectors for the current versions of these memories, when a model is at hand."""
        current = [self.store.memories.latest(i) for i in sorted(memory_ids)]
        live = [v for v in current if v is not None and v.event != "DELETE"]
        embedded = self._embed_texts([v.text for v in live]) if live else None
        if embedded is not None:
            model, vectors = embedded
            self.store.memories.set_current_embeddings(
                [(v.memory_id, b) for v, b in zip(live, vectors)], model
            )


def _set_vectors(versions: list, embedded: tuple[str, list[bytes]] | None) -> None:
    """Put _embed_texts' vectors on the versions, each with the model that made it."""
    if embedded is None:
        return
    model, vectors = embedded
    for version, vector in zip(versions, vectors):
        version.embedding, version.embedding_model = vector, model


def _text(text) -> str:
    from memcli.facts.extract import MAX_MEMORY_CHARS

    if not isinstance(text, str) or not text.strip():
        raise InputError("memory text must be a non-empty string")
    if len(text.strip()) > MAX_MEMORY_CHARS:
        raise InputError(f"a memory is a short fact: at most {MAX_MEMORY_CHARS:,} characters")
    return text.strip()


def _when(value: str | None, what: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        return to_stored(value)
    except InputError:
        raise InputError(f"{what} must be an ISO date, not {value!r}") from None
