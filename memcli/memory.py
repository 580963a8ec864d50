"""Memory: the public API. The CLI and programs call only this.

    from memcli import Memory
    mem = Memory()                      # MEMCLI_DB or the default file
    mem.add_message("I moved to Lisbon", thread_id="t1", resource_id="alice")
    mem.recall("where does alice live", resource_id="alice").hits

Nothing here prints; notices (model missing, fallbacks) come back in results.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from memcli import paths, tokens
from memcli.errors import EmbeddingUnavailable, InputError, NotFoundError, OwnershipError
from memcli.io.jsonl import message_from_obj, read_lines
from memcli.records import Filters, Message, Thread
from memcli.store import Store
from memcli.store.vectors import ModelMismatch
from memcli.timefmt import now

if TYPE_CHECKING:
    from memcli.recall import Recaller, RecallResult

DEFAULT_RESOURCE = "default"
IMPORT_BATCH = 512

Progress = Callable[[int, int | None], None]


@dataclass
class WriteSummary:
    written: int = 0  # new or changed messages
    unchanged: int = 0
    embedded: int = 0  # messages that got vectors
    threads_created: int = 0
    notices: list[str] = field(default_factory=list)


def new_thread_id() -> str:
    return "t_" + uuid.uuid4().hex[:16]


class Memory:
    def __init__(
        self, path: Path | str | None = None, *, embedder=None, notice: Callable[[str], None] | None = None
    ):
        """Open (or create) the database; notice(text) hears of a slow one-time upgrade."""
        self.path = Path(path) if path else paths.db_path()
        self.store = Store(self.path, notice)
        self._embedder = embedder
        self._embedder_error: EmbeddingUnavailable | None = None
        self._recaller: Recaller | None = None

    @property
    def recaller(self) -> Recaller:
        """Imported on first use: light commands never need recall's module."""
        if self._recaller is None:
            from memcli.recall import Recaller

            self._recaller = Recaller(self.store)
        return self._recaller

    def close(self) -> None:
        self.store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- embedding model ------------------------------------------------

    def embedder(self, notice: Callable[[str], None] | None = None):
        """The embedding model, loaded once; raises EmbeddingUnavailable."""
        if self._embedder is None and self._embedder_error is None:
            from memcli import embeddings

            try:
                self._embedder = embeddings.load(notice=notice)
            except EmbeddingUnavailable as exc:
                self._embedder_error = exc
        if self._embedder is None:
            raise self._embedder_error
        return self._embedder

    def _embedder_or_notice(self, notices: list[str]):
        try:
            embedder = self.embedder()
        except EmbeddingUnavailable as exc:
            notices.append(f"semantic recall is off: {exc}")
            return None
        try:
            self.store.vectors.check_model(embedder.name)
        except ModelMismatch as exc:
            notices.append(str(exc))
            return None
        return embedder

    # ---- threads ----------------------------------------------------------

    def create_thread(
        self,
        thread_id: str | None = None,
        resource_id: str | None = None,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Thread:
        thread_id = thread_id or new_thread_id()
        if not str(thread_id).strip():
            raise InputError("thread id must not be empty")
        stamp = now()
        thread = Thread(
            id=thread_id,
            resource_id=resource_id or DEFAULT_RESOURCE,
            title=title,
            metadata=metadata or {},
            created_at=stamp,
            updated_at=stamp,
        )
        with self.store.transaction():
            if self.store.threads.get(thread_id):
                raise InputError(f"thread {thread_id} already exists")
            self.store.threads.insert(thread)
        return thread

    def get_thread(self, thread_id: str, resource_id: str | None = None, *, counts: bool = True) -> Thread:
        """The thread (with message count unless counts=False, which skips a scan of
        its messages); checks the owner when resource_id is given."""
        thread = self.store.threads.get(thread_id, with_counts=counts)
        if thread is None:
            raise NotFoundError(f"no thread with id {thread_id}")
        if resource_id is not None and thread.resource_id != resource_id:
            raise OwnershipError(thread_id, thread.resource_id, resource_id)
        return thread

    def list_threads(
        self,
        resource_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        order_by: str = "created",
        descending: bool = True,
        limit: int = 100,
        offset: int = 0,
        cloned_from: str | None = None,
    ) -> tuple[list[Thread], int]:
        """(threads, total matching) — page with limit/offset."""
        return self.store.threads.list(
            resource_id=resource_id,
            metadata=metadata,
            cloned_from=cloned_from,
            order_by=order_by,
            descending=descending,
            limit=limit,
            offset=offset,
        )

    def rename_thread(self, thread_id: str, title: str, resource_id: str | None = None) -> Thread:
        self.get_thread(thread_id, resource_id, counts=False)
        with self.store.transaction():
            self.store.threads.update(thread_id, title=title)
        return self.get_thread(thread_id)

    def delete_thread(self, thread_id: str, resource_id: str | None = None) -> int:
        """Delete a thread and everything derived from it; returns messages removed."""
        self.get_thread(thread_id, resource_id, counts=False)
        with self.store.transaction():
            return self.store.threads.delete(thread_id)

    # ---- clones and lineage -------------------------------------------------

    def clone_thread(
        self,
        source_thread_id: str,
        *,
        new_thread_id: str | None = None,
        resource_id: str | None = None,
        source_resource_id: str | None = None,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        last: int | None = None,
        since: str | None = None,
        until: str | None = None,
        message_ids: list[str] | None = None,
    ):
        """Branch a thread: copies of the selected messages, their vectors and
        observations, with lineage. All or nothing. Returns a CloneResult."""
        from memcli import clone

        source = self.get_thread(source_thread_id, source_resource_id)
        everything = self.store.messages.window(source_thread_id)
        chosen = clone.select(everything, last=last, since=since, until=until, message_ids=message_ids)
        with self.store.transaction():
            return clone.clone_thread(
                self.store,
                source,
                new_id=new_thread_id,
                resource_id=resource_id or source.resource_id,
                title=title,
                metadata=metadata,
                selected=chosen,
            )

    def is_clone(self, thread_id: str) -> bool:
        return self.get_thread(thread_id, counts=False).cloned_from is not None

    def get_source_thread(self, thread_id: str) -> Thread | None:
        """The thread this one was cloned from (None if not a clone or the source is gone)."""
        source = self.get_thread(thread_id, counts=False).cloned_from
        return self.store.threads.get(source, with_counts=True) if source else None

    def list_clones(self, thread_id: str) -> list[Thread]:
        return self.store.threads.list(cloned_from=thread_id, descending=False, limit=1_000_000)[0]

    def get_clone_history(self, thread_id: str) -> list[dict]:
        """Root to this thread: [{"id", "thread" (None if deleted)}, ...]."""
        chain, seen = [], set()
        current: str | None = thread_id
        while current is not None and current not in seen:
            seen.add(current)
            thread = self.store.threads.get(current, with_counts=True)
            chain.append({"id": current, "thread": thread})
            current = thread.cloned_from if thread else None
        if chain[0]["thread"] is None:
            raise NotFoundError(f"no thread with id {thread_id}")
        return list(reversed(chain))

    # ---- messages ---------------------------------------------------------

    def add_message(
        self,
        content: str,
        thread_id: str,
        resource_id: str | None = None,
        role: str = "user",
        metadata: dict[str, Any] | None = None,
        embed: bool = True,
    ) -> Message:
        """Save one message (creating the thread on first use) and return it."""
        if resource_id is None:
            existing = self.store.threads.get(thread_id)
            resource_id = existing.resource_id if existing else DEFAULT_RESOURCE
        message = message_from_obj(
            {"content": content, "role": role, "metadata": metadata or {}},
            thread_id=thread_id,
            resource_id=resource_id,
        )
        self.save_messages([message], embed=embed)
        return message

    def save_messages(self, messages: Iterable[Message | dict], *, embed: bool = True) -> WriteSummary:
        """Validate and store messages in one transaction, with their vectors."""
        batch = [m if isinstance(m, Message) else message_from_obj(m) for m in messages]
        summary = WriteSummary()
        self._check_owners(batch)
        embedder = self._embedder_or_notice(summary.notices) if embed and batch else None
        self._write_batch(batch, embedder, summary)
        return summary

    def _check_owners(self, batch: list[Message], line_of: dict[str, int] | None = None) -> None:
        owners = self.store.threads.owners(list({m.thread_id for m in batch}))
        for m in batch:
            owner = owners.setdefault(m.thread_id, m.resource_id)
            if owner != m.resource_id:
                err = OwnershipError(m.thread_id, owner, m.resource_id)
                if line_of and m.id in line_of:
                    err.args = (f"line {line_of[m.id]}: {err.args[0]}",)
                raise err

    def _write_batch(self, batch: list[Message], embedder, summary: WriteSummary) -> None:
        from memcli import indexing

        counts = tokens.count_many([m.content for m in batch])
        for m, n in zip(batch, counts):
            m.token_count = n
        prepared = None
        if embedder is not None:
            prepared = indexing.prepare(embedder, batch, known=self.store.vectors.known)
        with self.store.transaction():
            known = self.store.threads.owners(list({m.thread_id for m in batch}))
            for m in batch:
                if m.thread_id not in known:
                    known[m.thread_id] = m.resource_id
                    self.store.threads.insert(
                        Thread(id=m.thread_id, resource_id=m.resource_id, created_at=m.created_at)
                    )
                    summary.threads_created += 1
            written, unchanged = self.store.messages.upsert_many(batch)
            summary.written += len(written)
            summary.unchanged += unchanged
            newest: dict[str, str] = {}
            for m in batch:
                newest[m.thread_id] = max(newest.get(m.thread_id, ""), m.created_at)
            for tid, at in newest.items():
                self.store.threads.touch(tid, at)
            if prepared is not None:
                self.store.vectors.ensure(embedder.name, embedder.dim)
                need = set(written) | self._unembedded([m.rowid for m in batch])
                rows = list(indexing.chunk_vectors(batch, prepared, need))
                self.store.vectors.add(rows)
                summary.embedded += len({r.message_rowid for r in rows})

    def _unembedded(self, rowids: list[int]) -> set[int]:
        return self.store.vectors.without_chunks(rowids)

    def list_messages(
        self,
        thread_id: str,
        resource_id: str | None = None,
        *,
        last: int | None = None,
        max_tokens: int | None = None,
        since: str | None = None,
        until: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[Message]:
        """Chronological messages: the last N, those that fit max_tokens, or a page."""
        self.get_thread(thread_id, resource_id, counts=False)
        return self.store.messages.window(
            thread_id, last=last, max_tokens=max_tokens, since=since, until=until, offset=offset, limit=limit
        )

    def delete_messages(self, ids: list[str], resource_id: str | None = None) -> int:
        found = self.store.messages.by_ids(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFoundError(f"no message with id {missing[0]}")
        if resource_id is not None:
            for m in found.values():
                if m.resource_id != resource_id:
                    raise OwnershipError(m.thread_id, m.resource_id, resource_id)
        with self.store.transaction():
            return self.store.messages.delete(ids)

    # ---- import / export ----------------------------------------------------

    def import_jsonl(
        self,
        stream: IO[bytes],
        *,
        thread_id: str | None = None,
        resource_id: str | None = None,
        embed: bool = True,
        progress: Progress | None = None,
        batch_size: int = IMPORT_BATCH,
    ) -> WriteSummary:
        """Import JSONL from a seekable binary stream.

        Two passes: the first validates every line (and ownership) so a bad
        line anywhere writes nothing; the second writes batches, each in one
        transaction with its vectors. Re-importing the same lines is a no-op.
        """
        total = 0
        owners: dict[str, str] = {}
        ids: dict[str, str] = {}
        threads: dict[str, str] = {}
        pending: list[tuple[int, Message]] = []
        for number, m in read_lines(stream, thread_id=thread_id, resource_id=resource_id):
            total += 1
            owner = owners.setdefault(m.thread_id, m.resource_id)
            if owner != m.resource_id:
                raise InputError(f"line {number}: {OwnershipError(m.thread_id, owner, m.resource_id)}")
            # the thread string seen first, shared: one per thread instead of one per line
            thread = threads.setdefault(m.thread_id, m.thread_id)
            if ids.setdefault(m.id, thread) != thread:
                raise InputError(f"line {number}: message id {m.id} appears in two threads")
            pending.append((number, m))
            if len(pending) >= 500:
                self._check_known_ids(pending)
                pending = []
        self._check_known_ids(pending)
        stored = self.store.threads.owners(list(owners))
        for tid, owner in stored.items():
            if owners[tid] != owner:
                raise OwnershipError(tid, owner, owners[tid])
        del ids, threads
        stream.seek(0)
        summary = WriteSummary()
        embedder = self._embedder_or_notice(summary.notices) if embed and total else None
        done = 0
        batch: list[Message] = []
        for _, m in read_lines(stream, thread_id=thread_id, resource_id=resource_id):
            batch.append(m)
            if len(batch) >= batch_size:
                self._write_batch(batch, embedder, summary)
                done += len(batch)
                batch = []
                if progress:
                    progress(done, total)
        if batch:
            self._write_batch(batch, embedder, summary)
            done += len(batch)
            if progress:
                progress(done, total)
        return summary

    def set_missing_titles(self, titles: dict[str, str]) -> None:
        """Give imported threads their source titles, keeping titles already set."""
        with self.store.transaction():
            for thread_id, title in titles.items():
                thread = self.store.threads.get(thread_id)
                if thread is not None and not thread.title:
                    self.store.threads.update(thread_id, title=title)

    def _check_known_ids(self, lines: list[tuple[int, Message]]) -> None:
        """An id already stored in another thread cannot be imported into this one."""
        known = self.store.messages.by_ids([m.id for _, m in lines])
        for number, m in lines:
            old = known.get(m.id)
            if old is not None and old.thread_id != m.thread_id:
                raise InputError(
                    f"line {number}: message id {m.id} already belongs to thread {old.thread_id}"
                )

    def export_messages(
        self, *, thread_id: str | None = None, resource_id: str | None = None
    ) -> Iterator[Message]:
        if thread_id is not None:
            self.get_thread(thread_id, resource_id, counts=False)
            return self.store.messages.iter_all(thread_id=thread_id)
        return self.store.messages.iter_all(resource_id=resource_id)

    # ---- recall -------------------------------------------------------------

    def _filters(self, resource_id, thread_id, scope, since, until, roles) -> Filters:
        if scope not in ("resource", "thread"):
            raise InputError(f"scope must be resource or thread, not {scope!r}")
        if thread_id is not None:
            thread = self.get_thread(thread_id, resource_id, counts=False)
            resource_id = thread.resource_id
        if scope == "thread" and thread_id is None:
            raise InputError("scope thread needs a thread (--thread)")
        return Filters(
            resource_id=resource_id,
            thread_id=thread_id if scope == "thread" else None,
            since=since,
            until=until,
            roles=tuple(roles) if roles else None,
        )

    def recall(
        self,
        query: str,
        *,
        resource_id: str | None = None,
        thread_id: str | None = None,
        scope: str = "resource",
        top_k: int = 4,
        message_range: int = 1,
        threshold: float | None = None,
        since: str | None = None,
        until: str | None = None,
        roles: list[str] | None = None,
        mode: str = "hybrid",
        half_life_days: float | None = None,
    ) -> RecallResult:
        """Messages relevant to the query, best first, with neighbours as context."""
        return self.recall_many(
            [dict(query=query, resource_id=resource_id, thread_id=thread_id, top_k=top_k)],
            scope=scope,
            message_range=message_range,
            threshold=threshold,
            since=since,
            until=until,
            roles=roles,
            mode=mode,
            half_life_days=half_life_days,
        )[0]

    def recall_many(
        self,
        queries: list[dict],
        *,
        scope: str = "resource",
        top_k: int = 4,
        message_range: int = 1,
        threshold: float | None = None,
        since: str | None = None,
        until: str | None = None,
        roles: list[str] | None = None,
        mode: str = "hybrid",
        half_life_days: float | None = None,
    ) -> list[RecallResult]:
        """Answer many queries with one model load and one embedding batch.

        Each query dict has `query` and optionally resource_id, thread_id, top_k.
        """
        from memcli.recall import MODES, RecallOptions

        if mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        for q in queries:
            if not isinstance(q.get("query"), str) or not q["query"].strip():
                raise InputError("query must be a non-empty string")
        notices: list[str] = []
        vectors: list[bytes | None] = [None] * len(queries)
        if mode in ("hybrid", "vector") and self.store.vectors.exists():
            embedder = self._embedder_or_notice(notices)
            if embedder is not None:
                import numpy as np

                embedded = embedder.embed([q["query"] for q in queries])
                vectors = [np.ascontiguousarray(v, dtype=np.float32).tobytes() for v in embedded]
        elif mode in ("hybrid", "vector"):
            notices.append("no message has been embedded yet: run `memcli embed` for semantic recall")
        if len(queries) >= 8 and vectors[0] is not None:
            for resource in {q.get("resource_id") for q in queries if not q.get("thread_id")}:
                self.store.vectors.warm(resource)
        results = []
        for q, vector in zip(queries, vectors):
            filters = self._filters(
                q.get("resource_id"), q.get("thread_id"), q.get("scope", scope), since, until, roles
            )
            options = RecallOptions(
                top_k=int(q.get("top_k") or top_k),
                message_range=message_range,
                mode=mode,
                threshold=threshold,
                half_life_days=half_life_days,
            )
            results.append(self.recaller.recall(q["query"], filters, options, vector, list(notices)))
        return results

    # ---- embeddings maintenance ---------------------------------------------

    def embed_missing(self, *, progress: Progress | None = None, batch_size: int = 256) -> int:
        """Embed messages that have no vectors yet; returns how many were embedded."""
        embedder = self.embedder()
        self.store.vectors.check_model(embedder.name)
        from memcli import indexing

        total = self.store.messages.count_missing_embeddings()
        done, after = 0, 0
        while True:
            batch = self.store.messages.missing_embeddings(batch_size, after)
            if not batch:
                break
            after = batch[-1].rowid
            prepared = indexing.prepare(embedder, batch, known=self.store.vectors.known)
            with self.store.transaction():
                self.store.vectors.ensure(embedder.name, embedder.dim)
                still = self._unembedded([m.rowid for m in batch])
                self.store.vectors.add(list(indexing.chunk_vectors(batch, prepared, still)))
            done += len(batch)
            if progress:
                progress(done, total)
        return done

    def rebuild_embeddings(self, *, progress: Progress | None = None) -> int:
        """Drop every vector and embed all messages with the configured model."""
        self.embedder()
        with self.store.transaction():
            self.store.vectors.drop_all()
        return self.embed_missing(progress=progress)

    def embedding_status(self) -> dict:
        from memcli import embeddings

        spec = embeddings.resolve()
        stored = self.store.vectors.model()
        return {
            "configured": spec.to_dict(),
            "present": embeddings.is_present(spec),
            "stored_model": stored[0] if stored else None,
            "stored_dim": stored[1] if stored else None,
            "mismatch": bool(stored and stored[0] != spec.name),
            "missing_messages": self.store.messages.count_missing_embeddings(),
        }

    # ---- database ------------------------------------------------------------

    def stats(self) -> dict:
        return self.store.stats()

    def backup(self, target: Path | str) -> Path:
        target = Path(target)
        if target.exists():
            raise InputError(f"{target} already exists; choose a new file")
        self.store.backup(target)
        return target
