"""docs/schema.md, generated from the migrations (a test keeps it current).

python -m memcli.schema_doc > docs/schema.md
"""

from memcli.store.connection import connect
from memcli.store.migrations import ensure_schema, known_migrations

HEADER = """# Database schema

Generated from the migrations by `python -m memcli.schema_doc > docs/schema.md`;
`tests/test_docs.py` fails when this file is out of date. Migrations applied:
{migrations}.

The vector table `vec_floats` (sqlite-vec `vec0`, one row per chunk, one
table for every resource: a partition per resource reserved 1.5 MB each) is
created on first use, when the embedding
model's dimension is known, together with the trigger that deletes a
chunk's vector with the chunk. It holds the float vectors; search reads
their compact copies: `vector_codes` (int8, one row per chunk) and
`vector_segments` (sign bits of 256 codes of one resource per row), see
`memcli/store/vectors.py`.

This is the SQLite file's schema. On PostgreSQL the same tables live in a
`memcli` schema, created by the steps in `memcli/store/pg/schema.py`
(full-text search as a generated tsvector column, vectors in pgvector);
[postgres.md](postgres.md) lists what differs.
"""


def render() -> str:
    conn, _ = connect(":memory:")
    ensure_schema(conn)
    out = [HEADER.format(migrations=", ".join(f"`{m}`" for m in known_migrations()))]
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE 'messages_fts_%' ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 "
        "ELSE 2 END, name"
    ).fetchall()
    for kind, name, sql in rows:
        out.append(f"## {kind} `{name}`\n\n```sql\n{sql.strip()}\n```\n")
    conn.close()
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
