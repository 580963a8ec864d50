"""Turning messages into vectors: chunking, content hashes, reuse of known vectors.

Vectors are computed before the write transaction opens (embedding is the
slow part, and a writer should hold the lock only briefly), then written in
the same transaction as their messages so readers never see a message
without its vectors.
"""

import hashlib
from dataclasses import dataclass

import numpy as np

from memcli.embeddings import Embedder
from memcli.records import Message
from memcli.store.vectors import ChunkVector

CHUNK_CHARS = 1200  # ~256 word pieces, MiniLM's input limit
CHUNK_OVERLAP = 200
MAX_CHUNKS = 64  # ~75k characters embedded per message; keyword search covers the rest


def chunks_of(text: str) -> list[str]:
    """Split long text on whitespace into overlapping windows; short text is one chunk."""
    text = text.strip()
    if len(text) <= CHUNK_CHARS:
        return [text]
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + CHUNK_CHARS)
        if end < len(text):
            cut = text.rfind(" ", start + CHUNK_CHARS // 2, end)
            end = cut if cut > 0 else end
        out.append(text[start:end].strip())
        if end >= len(text):
            break
        start = max(end - CHUNK_OVERLAP, start + 1)
        if len(out) >= MAX_CHUNKS:
            break
    return [c for c in out if c]


def content_hash(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass
class PreparedChunk:
    seq: int
    content_hash: str
    vector: bytes


def prepare(
    embedder: Embedder, messages: list[Message], known=lambda hashes: {}
) -> list[list[PreparedChunk]]:
    """Vectors for each message's chunks; identical text is embedded once."""
    plan: list[list[tuple[int, str, str]]] = []
    for m in messages:
        plan.append([(i, content_hash(embedder.name, c), c) for i, c in enumerate(chunks_of(m.content))])
    hashes = [h for chunks in plan for _, h, _ in chunks]
    vectors: dict[str, bytes] = dict(known(hashes))
    todo: dict[str, str] = {}
    for chunks in plan:
        for _, h, text in chunks:
            if h not in vectors and h not in todo:
                todo[h] = text
    if todo:
        embedded = embedder.embed(list(todo.values()))
        for h, row in zip(todo, embedded):
            vectors[h] = np.ascontiguousarray(row, dtype=np.float32).tobytes()
    return [[PreparedChunk(seq, h, vectors[h]) for seq, h, _ in chunks] for chunks in plan]


def chunk_vectors(messages: list[Message], prepared: list[list[PreparedChunk]], rowids: set[int]):
    """ChunkVector rows for the messages that were written (rowid in rowids)."""
    for m, chunks in zip(messages, prepared):
        if m.rowid in rowids:
            for c in chunks:
                yield ChunkVector(m.rowid, c.seq, c.content_hash, m.resource_id, c.vector)
