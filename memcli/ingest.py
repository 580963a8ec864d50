"""The write pipeline: validate, own, count tokens, embed, store — in one transaction a batch.

`Memory` composes an `Ingest` with the store and a way to get the embedder;
nothing here imports `Memory` back. Ownership is checked inside each write
transaction, so two writers can never give one thread two owners.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO

from memcli import tokens
from memcli.errors import EmbeddingUnavailable, InputError, OwnershipError
from memcli.io.jsonl import message_from_obj, read_lines
from memcli.records import Message, Thread
from memcli.store.indexed_text import longer_than_indexed, partly_indexed
from memcli.store.vectors import VECTORS_INCOMPLETE, ModelMismatch

IMPORT_BATCH = 512

Progress = Callable[[int, int | None], None]


@dataclass
class WriteSummary:
    written: int = 0  # new or changed messages
    unchanged: int = 0
    embedded: int = 0  # messages that got vectors
    threads_created: int = 0
    notices: list[str] = field(default_factory=list)
    long_messages: int = 0  # messages longer than the store's keyword index covers

    def note_long(self, batch: list[Message], limit: int | None) -> None:
        """Say so when messages are longer than the keyword index covers: one line per write,
        however many batches it took."""
        count = longer_than_indexed(batch, limit)
        if not count or limit is None:
            return
        if self.long_messages:
            self.notices.remove(partly_indexed(self.long_messages, limit))
        self.long_messages += count
        self.notices.append(partly_indexed(self.long_messages, limit))

    def to_dict(self) -> dict:
        return {
            "written": self.written,
            "unchanged": self.unchanged,
            "embedded": self.embedded,
            "threads_created": self.threads_created,
        }


class Ingest:
    def __init__(self, store, embedder: Callable[[], object]):
        """embedder() returns the loaded embedding model or raises EmbeddingUnavailable."""
        self.store = store
        self._embedder = embedder

    def embedder_or_notice(self, notices: list[str]):
        """The embedder, or None with the reason added to notices (keyword recall goes on)."""
        try:
            embedder = self._embedder()
        except EmbeddingUnavailable as exc:
            notices.append(f"semantic recall is off: {exc}")
            return None
        try:
            self.store.vectors.check_model(embedder.name)  # type: ignore[attr-defined]
        except ModelMismatch as exc:
            notices.append(str(exc))
            return None
        self.embed_pending(embedder)
        return embedder

    def embed_pending(self, embedder, batch_size: int = 256) -> int:
        """Vectors for messages saved with embed='later', now that the model is loaded."""
        from memcli import indexing

        done = 0
        while rowids := self.store.vectors.pending(batch_size):
            batch = list(self.store.messages.by_rowids(rowids).values())
            prepared = indexing.prepare(embedder, batch, known=self.store.vectors.known)
            with self.store.transaction():
                self.store.vectors.ensure(embedder.name, embedder.dim)
                still = self.store.vectors.without_chunks([m.rowid for m in batch])
                self.store.vectors.add(list(indexing.chunk_vectors(batch, prepared, still)))
                self.store.vectors.clear_pending(rowids)  # those with vectors already, too
            done += len(batch)
        return done

    # ---- messages ------------------------------------------------------------

    def save(self, messages: Iterable[Message | dict], *, embed: bool | str = True) -> WriteSummary:
        """Validate and store messages in one transaction, with their vectors: now (True),
        by the next command that loads the model ("later"), or not (False)."""
        batch = [m if isinstance(m, Message) else message_from_obj(m) for m in messages]
        summary = WriteSummary()
        embedder = self.embedder_or_notice(summary.notices) if embed is True and batch else None
        self.write_batch(batch, embedder, summary, later=embed == "later")
        return summary

    def write_batch(self, batch: list[Message], embedder, summary: WriteSummary, later: bool = False) -> None:
        from memcli import indexing

        counts = tokens.count_many([m.content for m in batch])
        for m, n in zip(batch, counts):
            m.token_count = n
        prepared = None
        if embedder is not None:
            prepared = indexing.prepare(embedder, batch, known=self.store.vectors.known)
        # under the locks of the resources written: a writer of another resource goes on
        # beside this one (PostgreSQL); one of the same resource waits. The first vectors
        # ever make the vector table, which only a writer alone may do.
        first_vectors = prepared is not None and not self.store.vectors.exists()
        with self.store.transaction(resources=None if first_vectors else {m.resource_id for m in batch}):
            known = self.store.threads.owners(list({m.thread_id for m in batch}))
            for m in batch:
                owner = known.get(m.thread_id)
                if owner is None:
                    thread = Thread(id=m.thread_id, resource_id=m.resource_id, created_at=m.created_at)
                    # another resource's writer may create the same id at the same time:
                    # the database decides who owns it, and the other one is refused
                    owner = known[m.thread_id] = self.store.threads.claim(thread)
                    summary.threads_created += owner == m.resource_id
                if owner != m.resource_id:
                    raise OwnershipError(m.thread_id, owner, m.resource_id)
            written, unchanged = self.store.messages.upsert_many(batch)
            summary.written += len(written)
            summary.note_long(batch, self.store.keyword_indexed_chars)
            summary.unchanged += unchanged
            if later:
                self.store.vectors.mark_pending(written)
            newest: dict[str, str] = {}
            for m in batch:
                newest[m.thread_id] = max(newest.get(m.thread_id, ""), m.created_at)
            for tid, at in newest.items():
                self.store.threads.touch(tid, at)
            if prepared is not None:
                self.store.vectors.ensure(embedder.name, embedder.dim)
                need = set(written) | self.store.vectors.without_chunks([m.rowid for m in batch])
                rows = list(indexing.chunk_vectors(batch, prepared, need))
                self.store.vectors.add(rows)
                summary.embedded += len({r.message_rowid for r in rows})

    # ---- import ----------------------------------------------------------------

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
        transaction with its vectors (owners checked again under the lock).
        Re-importing the same lines is a no-op.
        """
        total = self._validate(stream, thread_id, resource_id)
        stream.seek(0)
        summary = WriteSummary()
        embedder = self.embedder_or_notice(summary.notices) if embed and total else None
        done = 0
        batch: list[Message] = []
        for _, m in read_lines(stream, thread_id=thread_id, resource_id=resource_id):
            batch.append(m)
            if len(batch) >= batch_size:
                self.write_batch(batch, embedder, summary)
                done += len(batch)
                batch = []
                if progress:
                    progress(done, total)
        if batch:
            self.write_batch(batch, embedder, summary)
            done += len(batch)
            if progress:
                progress(done, total)
        return summary

    def _validate(self, stream: IO[bytes], thread_id: str | None, resource_id: str | None) -> int:
        """First pass: every line well-formed, one owner per thread, ids not in another thread."""
        total = 0
        owners: dict[str, str] = {}
        first_line: dict[str, int] = {}
        ids: dict[str, str] = {}
        threads: dict[str, str] = {}
        pending: list[tuple[int, Message]] = []
        for number, m in read_lines(stream, thread_id=thread_id, resource_id=resource_id):
            total += 1
            if resource_id is not None and m.resource_id != resource_id:
                raise OwnershipError(
                    m.id,
                    None,
                    resource_id,
                    where=f"line {number}",
                    detail=f"the line is not of resource {resource_id}",
                )
            if self.store.nul_refused and "\x00" in m.id + m.thread_id + m.resource_id + m.content:
                raise InputError(f"line {number}: {self.store.nul_refused}")
            owner = owners.setdefault(m.thread_id, m.resource_id)
            first_line.setdefault(m.thread_id, number)
            if owner != m.resource_id:
                raise OwnershipError(m.thread_id, owner, m.resource_id, where=f"line {number}")
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
                raise OwnershipError(tid, owner, owners[tid], where=f"line {first_line[tid]}")
        return total

    def _check_known_ids(self, lines: list[tuple[int, Message]]) -> None:
        """An id already stored in another thread cannot be imported into this one."""
        known = self.store.messages.by_ids([m.id for _, m in lines])
        for number, m in lines:
            old = known.get(m.id)
            if old is not None and old.thread_id != m.thread_id:
                raise InputError(
                    f"line {number}: message id {m.id} already belongs to thread {old.thread_id}"
                )

    # ---- embedding backfill ------------------------------------------------------

    def embed_missing(self, *, progress: Progress | None = None, batch_size: int = 256) -> int:
        """Embed messages that have no vectors yet; returns how many were embedded."""
        from memcli import indexing

        embedder = self._embedder()
        self.store.vectors.check_model(embedder.name)  # type: ignore[attr-defined]
        total = self.store.messages.count_missing_embeddings()
        done, after = 0, 0
        while True:
            batch = self.store.messages.missing_embeddings(batch_size, after)
            if not batch:
                break
            after = batch[-1].rowid
            prepared = indexing.prepare(embedder, batch, known=self.store.vectors.known)  # type: ignore[arg-type]
            with self.store.transaction():
                self.store.vectors.ensure(embedder.name, embedder.dim)  # type: ignore[attr-defined]
                still = self.store.vectors.without_chunks([m.rowid for m in batch])
                self.store.vectors.add(list(indexing.chunk_vectors(batch, prepared, still)))
            done += len(batch)
            if progress:
                progress(done, total)
        self.embed_memories(embedder, batch_size)
        if self.store.get_setting(VECTORS_INCOMPLETE) and not self.store.messages.count_missing_embeddings():
            with self.store.transaction():
                self.store.delete_setting(VECTORS_INCOMPLETE)
        return done

    def embed_memories(self, embedder, batch_size: int = 256) -> int:
        """Vectors of this model for current facts memories that have none, or another
        model's (left by a rebuild): a memory search never compares two models."""
        import numpy as np

        done, after = 0, 0
        while rows := self.store.memories.stale_embeddings(embedder.name, batch_size, after):
            after = rows[-1][0]
            vectors = embedder.embed([text for _, text in rows])
            blobs = [np.ascontiguousarray(v, dtype=np.float32).tobytes() for v in vectors]
            with self.store.transaction():
                self.store.memories.set_embeddings(
                    [(vid, b) for (vid, _), b in zip(rows, blobs)], embedder.name
                )
            done += len(rows)
        return done

    def rebuild_embeddings(self, *, progress: Progress | None = None) -> int:
        """Drop every vector and embed all messages with the configured model."""
        self._embedder()
        with self.store.transaction():
            self.store.vectors.drop_all()
            self.store.set_setting(VECTORS_INCOMPLETE, "rebuild")
        return self.embed_missing(progress=progress)
