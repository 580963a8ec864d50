"""Message vectors in pgvector: one `vec_floats` row per chunk, an HNSW index for
cosine distance, and exact scans where a filter leaves few rows.

Unlike SQLite's store there are no int8 codes or packed segments: PostgreSQL
searches the floats itself. A resource-scoped search lets the planner choose
between the HNSW index (pgvector 0.8's iterative scan keeps going until the
filter has passed enough rows) and the resource's rows read through its
b-tree and sorted exactly; narrower filters (thread, dates, roles) are
scored exactly.
"""

from memcli.records import Filters
from memcli.store.filters import where_clause
from memcli.store.vectors import TABLE, ChunkVector, VectorIndex

# a search over at most this many vectors scores each one (7 ms for 10,000 here, and
# exact); above it the HNSW index answers (bench/RESULTS.md, PostgreSQL)
EXACT_UPTO = 20_000


def _floats(value) -> bytes:
    """A pgvector value (pgvector.psycopg's Vector, or a numpy array) as float32 bytes, as SQLite stores it."""
    import numpy as np

    value = value.to_numpy() if hasattr(value, "to_numpy") else value
    return np.asarray(value, dtype=np.float32).tobytes()


def _vector(blob: bytes):
    import numpy as np

    return np.frombuffer(blob, dtype=np.float32)


class PgVectorIndex(VectorIndex):
    def exists(self) -> bool:
        return self.conn.execute("SELECT to_regclass(?) IS NOT NULL", [f"memcli.{TABLE}"]).fetchone()[0]

    def _create(self, dim: int) -> None:
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} ("
            "chunk_id bigint PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE, "
            'message_rowid bigint NOT NULL, resource_id text COLLATE "C" NOT NULL, '
            f"embedding vector({dim}) NOT NULL)"
        )
        self.conn.execute(f"CREATE INDEX IF NOT EXISTS vec_floats_resource ON {TABLE}(resource_id)")
        self.conn.execute(f"CREATE INDEX IF NOT EXISTS vec_floats_message ON {TABLE}(message_rowid)")
        self.create_hnsw()

    def create_hnsw(self) -> None:
        self.conn.execute(
            f"CREATE INDEX IF NOT EXISTS vec_floats_hnsw ON {TABLE} USING hnsw (embedding vector_cosine_ops)"
        )

    def add(self, items: list[ChunkVector]) -> None:
        if not items:
            return
        with self.conn.copy("COPY chunks (message_rowid, seq, content_hash) FROM STDIN") as copy:
            for item in items:
                copy.write_row((item.message_rowid, item.seq, item.content_hash))
        ids = dict(
            ((r[0], r[1]), r[2])
            for r in self.conn.execute(
                "SELECT message_rowid, seq, id FROM chunks WHERE message_rowid = ANY(?)",
                [list({i.message_rowid for i in items})],
            )
        )
        # binary: pgvector's text form costs 0.5 ms a vector to write in Python
        with self.conn.copy(
            f"COPY {TABLE} (chunk_id, message_rowid, resource_id, embedding) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int8", "int8", "text", "vector"])
            for item in items:
                chunk_id = ids[(item.message_rowid, item.seq)]
                copy.write_row((chunk_id, item.message_rowid, item.resource_id, _vector(item.vector)))
        self.clear_pending([i.message_rowid for i in items])

    # packed codes are SQLite's search structure; pgvector needs none of it
    def pack(self, resource_id: str) -> int:
        return 0

    def reindex(self, progress=None) -> int:
        if self.exists():
            self.conn.execute(f"REINDEX TABLE {TABLE}")
        return 0

    def repack(self) -> int:
        return 0

    def warm(self, resource_id: str | None) -> None:
        """Nothing to load: the server keeps its own cache."""

    def missing_codes(self) -> int:
        return 0

    def known(self, hashes: list[str]) -> dict[str, bytes]:
        if not self.exists() or not hashes:
            return {}
        out: dict[str, bytes] = {}
        for h, vec in self.conn.execute(
            f"SELECT c.content_hash, v.embedding FROM chunks c JOIN {TABLE} v ON v.chunk_id = c.id "
            "WHERE c.content_hash = ANY(?)",
            [list(dict.fromkeys(hashes))],
        ):
            out.setdefault(h, _floats(vec))
        return out

    def vectors_of(self, message_rowids: list[int]) -> list[tuple[int, int, str, bytes]]:
        if not self.exists() or not message_rowids:
            return []
        rows = self.conn.execute(
            f"SELECT c.message_rowid, c.seq, c.content_hash, v.embedding FROM chunks c "
            f"JOIN {TABLE} v ON v.chunk_id = c.id WHERE c.message_rowid = ANY(?) ORDER BY c.id",
            [list(message_rowids)],
            binary=True,
        )
        return [(r[0], r[1], r[2], _floats(r[3])) for r in rows]

    def drop_all(self) -> None:
        self.conn.execute("DELETE FROM chunks")
        self.conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        self.conn.execute("DELETE FROM settings WHERE key IN ('embedding_model', 'embedding_dim')")

    def orphans(self) -> int:
        """Chunks without a vector (foreign keys keep every other kind away): must be 0."""
        if not self.exists():
            return self.conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return self.conn.execute(
            f"SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM {TABLE} v WHERE v.chunk_id = c.id)"
        ).fetchone()[0]

    def _at_most(self, resource_id: str | None, limit: int) -> int:
        """How many vectors the search would read exactly, counted no further than limit."""
        where, params = ("WHERE resource_id = ?", [resource_id]) if resource_id is not None else ("", [])
        sql = f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} {where} LIMIT ?) few"
        return self.conn.execute(sql, [*params, limit]).fetchone()[0]

    def search(self, query: bytes, filters: Filters, k: int) -> list[tuple[int, float]]:
        if not self.exists():
            return []
        q = _vector(query)
        # "+ 0": the same order, but not one the HNSW index can give, so the rows are scored exactly
        exact = "ORDER BY (embedding <=> ?) + 0 LIMIT ?"
        if filters.narrower_than_resource():
            clause, params = where_clause(filters)
            sql = (
                "SELECT v.message_rowid, v.embedding <=> ? AS distance FROM messages m "
                f"JOIN {TABLE} v ON v.message_rowid = m.rowid WHERE {clause} {exact}"
            )
        else:
            where, params = (
                ("WHERE resource_id = ?", [filters.resource_id]) if filters.resource_id else ("", [])
            )
            sql = f"SELECT message_rowid, embedding <=> ? AS distance FROM {TABLE} {where} "
            if self._at_most(filters.resource_id, EXACT_UPTO + 1) <= EXACT_UPTO:
                sql += exact
            else:  # the HNSW index; pgvector 0.8's iterative scan fills the resource filter
                sql += "ORDER BY distance LIMIT ?"
        rows = self.conn.execute(sql, [q, *params, *([q] if exact in sql else []), k * 3]).fetchall()
        # a message has one row per chunk: k * 3 rows keep enough for k distinct messages
        best: dict[int, float] = {}
        for rowid, distance in sorted(rows, key=lambda r: r[1]):  # the iterative scan's order is relaxed
            if rowid not in best:
                best[rowid] = 1.0 - float(distance)
                if len(best) == k:
                    break
        return list(best.items())
