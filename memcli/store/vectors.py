"""Message embeddings in a sqlite-vec vec0 table, one row per chunk.

`chunks` (a plain table) ties each vector to its message; deleting a message
cascades to its chunks and a trigger removes the vectors, so nothing is ever
orphaned. The table is created on first use, once the model's dimension is
known; the model name and dimension are kept in `settings` so a later
switch of model is detected instead of mixing incompatible vectors.
"""

from dataclasses import dataclass

from memcli.errors import StoreError
from memcli.records import Filters
from memcli.store.batching import in_slices
from memcli.store.filters import where_clause

TABLE = "vec_chunks"


@dataclass
class ChunkVector:
    message_rowid: int
    seq: int
    content_hash: str
    resource_id: str
    vector: bytes  # float32, little-endian


class ModelMismatch(StoreError):
    def __init__(self, stored: str, configured: str):
        super().__init__(
            f"the vectors in this database were made with {stored}, but the configured "
            f"embedding model is {configured}: run `memcli embed --rebuild`, or set "
            f"MEMCLI_EMBEDDING_MODEL={stored}"
        )
        self.stored, self.configured = stored, configured


class VectorIndex:
    def __init__(self, conn):
        self.conn = conn
        # resource -> (database version, message rowids, matrix): filled by warm()
        self._matrices: dict[str | None, tuple] = {}

    def _version(self) -> tuple[int, int]:
        """Changes by other connections (data_version) and by ours (total_changes)."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0], self.conn.total_changes

    def warm(self, resource_id: str | None) -> None:
        """Keep a resource's vectors in memory for many searches (recall --batch).

        Loading costs about 15 vec0 scans, after which each search is a numpy
        matrix-vector product (~1 ms per 10k vectors instead of ~17 ms).
        """
        if not self.exists():
            return
        import numpy as np

        where, params = ("WHERE v.resource_id = ?", [resource_id]) if resource_id is not None else ("", [])
        rows = self.conn.execute(
            f"SELECT c.message_rowid, v.embedding FROM {TABLE} v JOIN chunks c ON c.id = v.rowid {where}",
            params,
        ).fetchall()
        rowids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        self._matrices[resource_id] = (self._version(), rowids, matrix)

    def _search_warm(self, query: bytes, resource_id: str | None, k: int) -> list[tuple[int, float]] | None:
        cached = self._matrices.get(resource_id)
        if cached is None or cached[0] != self._version():
            return None
        import numpy as np

        _, rowids, matrix = cached
        if not len(rowids):
            return []
        sims = matrix @ np.frombuffer(query, dtype=np.float32)
        n = min(len(sims), k * 3)
        top = np.argpartition(-sims, n - 1)[:n]
        top = top[np.argsort(-sims[top])]
        return [(int(rowids[i]), 1.0 - float(sims[i])) for i in top]

    def exists(self) -> bool:
        row = self.conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", [TABLE]).fetchone()
        return row is not None

    def model(self) -> tuple[str, int] | None:
        rows = dict(
            self.conn.execute(
                "SELECT key, value FROM settings WHERE key IN ('embedding_model', 'embedding_dim')"
            ).fetchall()
        )
        if "embedding_model" not in rows:
            return None
        return rows["embedding_model"], int(rows["embedding_dim"])

    def check_model(self, name: str) -> None:
        stored = self.model()
        if stored and stored[0] != name:
            raise ModelMismatch(stored[0], name)

    def ensure(self, name: str, dim: int) -> None:
        """Create the vector table for this model, or check it matches."""
        stored = self.model()
        if stored:
            if stored[0] != name or stored[1] != dim:
                raise ModelMismatch(stored[0], name)
            if self.exists():
                return
        self.conn.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING vec0("
            f"resource_id text partition key, embedding float[{int(dim)}] distance_metric=cosine)"
        )
        self.conn.execute(
            f"CREATE TRIGGER IF NOT EXISTS chunks_delete_vector AFTER DELETE ON chunks BEGIN "
            f"DELETE FROM {TABLE} WHERE rowid = old.id; END"
        )
        for key, value in (("embedding_model", name), ("embedding_dim", str(dim))):
            self.conn.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    def add(self, items: list[ChunkVector]) -> None:
        for item in items:
            cur = self.conn.execute(
                "INSERT INTO chunks(message_rowid, seq, content_hash) VALUES (?, ?, ?)",
                [item.message_rowid, item.seq, item.content_hash],
            )
            self.conn.execute(
                f"INSERT INTO {TABLE}(rowid, resource_id, embedding) VALUES (?, ?, ?)",
                [cur.lastrowid, item.resource_id, item.vector],
            )

    def known(self, hashes: list[str]) -> dict[str, bytes]:
        """Vectors already computed for these content hashes (no need to embed again)."""
        out: dict[str, bytes] = {}
        if not self.exists():
            return out
        unique = list(dict.fromkeys(hashes))
        for part, marks in in_slices(unique):
            rows = self.conn.execute(
                f"SELECT c.content_hash, v.embedding FROM chunks c JOIN {TABLE} v ON v.rowid = c.id "
                f"WHERE c.content_hash IN ({marks})",
                part,
            ).fetchall()
            for h, vec in rows:
                out.setdefault(h, vec)
        return out

    def without_chunks(self, rowids: list[int]) -> set[int]:
        """Which of these messages have no vectors yet."""
        have: set[int] = set()
        for part, marks in in_slices(rowids):
            have |= {
                r[0]
                for r in self.conn.execute(
                    f"SELECT DISTINCT message_rowid FROM chunks WHERE message_rowid IN ({marks})", part
                )
            }
        return set(rowids) - have

    def vectors_of(self, message_rowids: list[int]) -> list[tuple[int, int, str, bytes]]:
        """(message rowid, seq, hash, vector) for copying vectors (clones)."""
        out = []
        for part, marks in in_slices(message_rowids):
            out += self.conn.execute(
                f"SELECT c.message_rowid, c.seq, c.content_hash, v.embedding FROM chunks c "
                f"JOIN {TABLE} v ON v.rowid = c.id WHERE c.message_rowid IN ({marks})",
                part,
            ).fetchall()
        return [tuple(r) for r in out]

    def copy(self, rowid_map: dict[int, int], resource_id: str) -> int:
        """Give new messages the vectors of old ones (clones: no model needed)."""
        if not rowid_map or not self.exists():
            return 0
        rows = self.vectors_of(list(rowid_map))
        self.add([ChunkVector(rowid_map[old], seq, h, resource_id, vec) for old, seq, h, vec in rows])
        return len(rows)

    def search(self, query: bytes, filters: Filters, k: int) -> list[tuple[int, float]]:
        """(message rowid, cosine similarity) best first, one entry per message.

        Scoped to a resource only, the vec0 partition answers the KNN; with a
        narrower filter (thread, dates, roles) the matching chunks are scanned
        exactly, which is both correct and cheap since the set is small.
        """
        if not self.exists():
            return []
        if filters.narrower_than_resource():
            clause, params = where_clause(filters)
            rows = self.conn.execute(
                f"SELECT c.message_rowid, vec_distance_cosine(v.embedding, ?) AS d "
                f"FROM messages m JOIN chunks c ON c.message_rowid = m.rowid "
                f"JOIN {TABLE} v ON v.rowid = c.id WHERE {clause} ORDER BY d LIMIT ?",
                [query, *params, k * 3],
            ).fetchall()
        elif (warm := self._search_warm(query, filters.resource_id, k)) is not None:
            rows = warm
        else:
            partition, params = "", []
            if filters.resource_id is not None:
                partition, params = " AND resource_id = ?", [filters.resource_id]
            rows = self.conn.execute(
                f"SELECT c.message_rowid, v.distance FROM {TABLE} v "
                f"JOIN chunks c ON c.id = v.rowid "
                f"WHERE v.embedding MATCH ? AND k = ?{partition} ORDER BY v.distance",
                [query, min(4096, k * 3), *params],
            ).fetchall()
        best: dict[int, float] = {}
        for rowid, distance in rows:
            if rowid not in best:
                best[rowid] = 1.0 - distance
        return sorted(best.items(), key=lambda kv: -kv[1])[:k]

    def drop_all(self) -> None:
        """Forget every vector and the recorded model (before a rebuild)."""
        self.conn.execute("DROP TRIGGER IF EXISTS chunks_delete_vector")
        self.conn.execute("DELETE FROM chunks")
        self.conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        self.conn.execute("DELETE FROM settings WHERE key IN ('embedding_model', 'embedding_dim')")

    def orphans(self) -> int:
        """Vectors without a chunk plus chunks without a message: must be 0."""
        n = self.conn.execute(
            "SELECT count(*) FROM chunks c WHERE NOT EXISTS "
            "(SELECT 1 FROM messages m WHERE m.rowid = c.message_rowid)"
        ).fetchone()[0]
        if self.exists():
            n += self.conn.execute(
                f"SELECT count(*) FROM {TABLE} v WHERE NOT EXISTS "
                "(SELECT 1 FROM chunks c WHERE c.id = v.rowid)"
            ).fetchone()[0]
        return n
