"""Message embeddings: floats in a sqlite-vec vec0 table, compact copies for search.

`chunks` (a plain table) ties each vector to its message; deleting a message
cascades to its chunks, and from them to the vectors (a trigger on vec0) and
the codes (a foreign key), so nothing is ever orphaned. The vec0 table is
created on first use, once the model's dimension is known; the model name
and dimension are kept in `settings` so a later switch of model is detected
instead of mixing incompatible vectors.

Search does not scan vec0: its KNN costs ~0.85 µs per vector whatever the
vector type, and a point read ~200 µs, so 100k vectors took 17x numpy's
time (bench/RESULTS.md). Each chunk also gets an int8 code
(`vector_codes`), and every SEGMENT codes of a resource are packed as sign
bits into one `vector_segments` row. A search reads the resource's
segments (48 bytes a vector), ranks by Hamming distance, rescores the best
few hundred by cosine on their codes, and scores the newest codes (fewer
than SEGMENT, not packed yet) exactly.
"""

from dataclasses import dataclass

from memcli.errors import StoreError
from memcli.store.base import Table
from memcli.store.batching import in_slices
from memcli.store.vector_search import SEGMENT, VectorSearch

TABLE = "vec_floats"  # one vec0 table, no partition (m004)
# a setting present from `embed --rebuild` dropping the vectors until every message has
# vectors again: a killed rebuild is told by recall and doctor, not silent
VECTORS_INCOMPLETE = "vectors_incomplete"


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


class VectorIndex(VectorSearch, Table):
    def __init__(self, connections):
        super().__init__(connections)
        # resource -> (partition state, packed ids, sign bits by word), least recently used first
        self._cache: dict[str, tuple] = {}
        # resource -> (database version, message rowids, normalised float codes): warm() only
        self._exact: dict[str, tuple] = {}

    def _rows(self, sql: str, params=()) -> list[tuple]:
        """Plain tuples: the connection's Row factory costs ~30% on hot paths."""
        cur = self.conn.cursor()
        cur.row_factory = None
        return cur.execute(sql, params).fetchall()

    # ---- schema and model ----------------------------------------------------

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
        self._create(int(dim))
        for key, value in (("embedding_model", name), ("embedding_dim", str(dim))):
            self.conn.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    def _create(self, dim: int) -> None:
        self.conn.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING vec0(embedding float[{dim}] distance_metric=cosine)"
        )
        self.conn.execute(
            f"CREATE TRIGGER IF NOT EXISTS chunks_delete_vector AFTER DELETE ON chunks BEGIN "
            f"DELETE FROM {TABLE} WHERE rowid = old.id; END"
        )

    # ---- writing ---------------------------------------------------------------

    def add(self, items: list[ChunkVector]) -> None:
        """Store vectors (vec0) and their codes; pack full segments of each resource touched."""
        if not items:
            return
        import numpy as np

        from memcli.store import quantized

        matrix = np.frombuffer(b"".join(i.vector for i in items), dtype=np.float32).reshape(len(items), -1)
        code_rows = quantized.codes(matrix)
        for item, code in zip(items, code_rows):
            chunk_id = self._insert_id(
                "INSERT INTO chunks(message_rowid, seq, content_hash) VALUES (?, ?, ?)",
                [item.message_rowid, item.seq, item.content_hash],
            )
            self.conn.execute(
                f"INSERT INTO {TABLE}(rowid, embedding) VALUES (?, ?)",
                [chunk_id, item.vector],
            )
            self.conn.execute(
                "INSERT INTO vector_codes(chunk_id, message_rowid, resource_id, code) VALUES (?, ?, ?, ?)",
                [chunk_id, item.message_rowid, item.resource_id, code.tobytes()],
            )
        for resource_id in dict.fromkeys(i.resource_id for i in items):
            self.pack(resource_id)
        self.clear_pending([i.message_rowid for i in items])

    def mark_pending(self, message_rowids: list[int]) -> None:
        """Leave these messages' vectors to the next command that loads the model."""
        self.conn.executemany(
            "INSERT INTO pending_embeddings(message_rowid) VALUES (?) ON CONFLICT DO NOTHING",
            [(r,) for r in message_rowids],
        )

    def clear_pending(self, message_rowids: list[int]) -> None:
        # a few statements, not one a message (1.4 s of a 30,000-message copy into PostgreSQL)
        for part, marks in in_slices(message_rowids):
            self.conn.execute(f"DELETE FROM pending_embeddings WHERE message_rowid IN ({marks})", part)

    def pending(self, limit: int) -> list[int]:
        """Messages waiting for their vectors, oldest first."""
        rows = self.conn.execute(
            "SELECT message_rowid FROM pending_embeddings ORDER BY message_rowid LIMIT ?", [limit]
        ).fetchall()
        return [r[0] for r in rows]

    def pack(self, resource_id: str) -> int:
        """Pack a resource's unpacked codes into segments of SEGMENT; returns segments written.

        Repacks the whole resource first when deleted vectors make up more
        than a tenth of what is packed (they only cost search time, never
        correctness: a missing code is skipped at rescoring).
        """

        from memcli.store import quantized

        self.conn.execute("INSERT OR IGNORE INTO vector_partitions(resource_id) VALUES (?)", [resource_id])
        upto, stale = self.conn.execute(
            "SELECT packed_upto, stale FROM vector_partitions WHERE resource_id = ?", [resource_id]
        ).fetchone()
        if stale > SEGMENT and stale * 10 > self._packed_count(resource_id):
            self.conn.execute("DELETE FROM vector_segments WHERE resource_id = ?", [resource_id])
            upto, stale = 0, 0
        written = 0
        while True:
            rows = self._rows(
                "SELECT id, code FROM vector_codes WHERE resource_id = ? AND id > ? ORDER BY id LIMIT ?",
                [resource_id, upto, SEGMENT],
            )
            if len(rows) < SEGMENT:
                break
            ids, code_rows = self._as_arrays(rows, 0, 1)
            self.conn.execute(
                "INSERT INTO vector_segments(resource_id, first_id, ids, bits) VALUES (?, ?, ?, ?)",
                [resource_id, int(ids[0]), ids.tobytes(), quantized.sign_bits(code_rows).tobytes()],
            )
            upto = int(ids[-1])
            written += 1
        self.conn.execute(
            "UPDATE vector_partitions SET packed_upto = ?, stale = ? WHERE resource_id = ?",
            [upto, stale, resource_id],
        )
        return written

    def _packed_count(self, resource_id: str) -> int:
        row = self.conn.execute(
            "SELECT coalesce(sum(length(ids)), 0) / 8 FROM vector_segments WHERE resource_id = ?",
            [resource_id],
        ).fetchone()
        return int(row[0])

    def reindex(self, progress=None) -> int:
        """Recompute every code and segment from the vec0 floats (migration, `db optimize --reindex`)."""
        import numpy as np

        from memcli.store import quantized

        self.conn.execute("DELETE FROM vector_segments")
        self.conn.execute("DELETE FROM vector_partitions")
        self.conn.execute("DELETE FROM vector_codes")
        if not self.exists():
            return 0
        total = self.conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        done, after = 0, 0
        while True:
            rows = self._rows(
                f"SELECT c.id, c.message_rowid, m.resource_id, v.embedding FROM chunks c "
                f"JOIN {TABLE} v ON v.rowid = c.id JOIN messages m ON m.rowid = c.message_rowid "
                "WHERE c.id > ? ORDER BY c.id LIMIT 5000",
                [after],
            )
            if not rows:
                break
            after = rows[-1][0]
            matrix = np.frombuffer(b"".join(r[3] for r in rows), dtype=np.float32).reshape(len(rows), -1)
            self.conn.executemany(
                "INSERT INTO vector_codes(chunk_id, message_rowid, resource_id, code) VALUES (?, ?, ?, ?)",
                [(r[0], r[1], r[2], c.tobytes()) for r, c in zip(rows, quantized.codes(matrix))],
            )
            done += len(rows)
            if progress:
                progress(done, total)
        for (resource_id,) in self._rows("SELECT DISTINCT resource_id FROM vector_codes"):
            self.pack(resource_id)
        return done

    def repack(self) -> int:
        """Rewrite the segments of every resource (after many deletions); returns segments."""
        self.conn.execute("DELETE FROM vector_segments")
        self.conn.execute("UPDATE vector_partitions SET packed_upto = 0, stale = 0")
        return sum(self.pack(r) for (r,) in self._rows("SELECT DISTINCT resource_id FROM vector_codes"))

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
        out: list = []
        if not self.exists():
            return out
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

    def drop_all(self) -> None:
        """Forget every vector and the recorded model (before a rebuild)."""
        self.conn.execute("DROP TRIGGER IF EXISTS chunks_delete_vector")
        self.conn.execute("DELETE FROM chunks")
        self.conn.execute("DELETE FROM vector_segments")
        self.conn.execute("DELETE FROM vector_partitions")
        self.conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        self.conn.execute("DELETE FROM settings WHERE key IN ('embedding_model', 'embedding_dim')")

    # ---- checks ----------------------------------------------------------------

    def missing_codes(self) -> int:
        """Chunks whose search code is missing (an upgrade killed mid-way); must be 0."""
        return self.conn.execute(
            "SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM vector_codes v WHERE v.chunk_id = c.id)"
        ).fetchone()[0]

    def orphans(self) -> int:
        """Vectors or codes without a chunk, chunks without a message or code: must be 0."""
        n = self.conn.execute(
            "SELECT count(*) FROM chunks c WHERE NOT EXISTS "
            "(SELECT 1 FROM messages m WHERE m.rowid = c.message_rowid) "
            "OR NOT EXISTS (SELECT 1 FROM vector_codes v WHERE v.chunk_id = c.id)"
        ).fetchone()[0]
        n += self.conn.execute(
            "SELECT count(*) FROM vector_codes v WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = v.chunk_id)"
        ).fetchone()[0]
        if self.exists():
            n += self.conn.execute(
                f"SELECT count(*) FROM {TABLE} v WHERE NOT EXISTS "
                "(SELECT 1 FROM chunks c WHERE c.id = v.rowid)"
            ).fetchone()[0]
        return n
