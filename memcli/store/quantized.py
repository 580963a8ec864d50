"""Compact copies of embeddings for search: int8 codes and packed sign bits.

A 384-dim float32 vector is 1,536 bytes, its int8 code 384 and its sign bits
48. Search reads the sign bits of a resource (packed into a few blobs),
ranks them by Hamming distance, and rescores the best few hundred by cosine
on their int8 codes; bench/RESULTS.md has the speed and the recall against
exact float search. Pure numpy, no SQL: the store decides where bytes live.
"""

import numpy as np


def codes(vectors: np.ndarray) -> np.ndarray:
    """int8 codes, each vector scaled so its largest component is ±127.

    No scale is stored: cosine does not depend on a vector's length, and a
    per-vector scale uses the int8 range far better than one fixed scale.
    """
    v = np.asarray(vectors, dtype=np.float32)
    v = v.reshape(1, -1) if v.ndim == 1 else v
    peak = np.abs(v).max(axis=1, keepdims=True)
    peak[peak == 0] = 1.0
    return np.rint(v * (127.0 / peak)).astype(np.int8)


def sign_bits(code_rows: np.ndarray) -> np.ndarray:
    """(N, bytes) uint8, bit set where a component is positive, padded to whole 64-bit words."""
    bits = np.packbits(code_rows > 0, axis=1)
    pad = (-bits.shape[1]) % 8
    return np.pad(bits, ((0, 0), (0, pad))) if pad else bits


def by_word(bit_rows: np.ndarray) -> np.ndarray:
    """(words, N) uint64: one contiguous array per word, so Hamming distance vectorises over N."""
    return np.ascontiguousarray(bit_rows.view(np.uint64).T)


def hamming(words: np.ndarray, query_bits: np.ndarray) -> np.ndarray:
    """Hamming distance of every column of `words` (from by_word) to one query's bits."""
    q = query_bits.reshape(-1).view(np.uint64)
    distance = np.bitwise_count(words[0] ^ q[0]).astype(np.uint16)
    for j in range(1, len(q)):
        distance += np.bitwise_count(words[j] ^ q[j])
    return distance


def cosine(code_rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Cosine similarity of int8 codes to a float query."""
    m = code_rows.astype(np.float32)
    norms = np.linalg.norm(m, axis=1)
    norms[norms == 0] = 1.0
    return (m @ query) / (norms * (float(np.linalg.norm(query)) or 1.0))


def smallest(values: np.ndarray, n: int) -> np.ndarray:
    """Indexes of the n smallest values, in no particular order."""
    if n >= len(values):
        return np.arange(len(values))
    return np.argpartition(values, n - 1)[:n]
