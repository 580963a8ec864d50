"""Database bytes per message, split by what they hold.

    python bench/db_size.py --db /tmp/scale100k.db      # e.g. kept by recall_scale.py --db

The file size (after a WAL checkpoint) is the number that matters; the split
sums the stored bytes of each part (payload only: SQLite's page and b-tree
overhead is the difference to the file size). The stock SQLite here has no
dbstat table, so the parts are measured with length() over their tables,
including the FTS5 and vec0 shadow tables.
"""

import argparse
from pathlib import Path

from memcli.store.connection import connect

PARTS = {
    "message rows (text, ids, metadata)": "SELECT sum(length(id) + length(thread_id) + length(resource_id) "
    "+ length(role) + length(content) + length(metadata) + length(created_at) + 8) FROM messages",
    "FTS5 index (messages_fts_data)": "SELECT sum(length(block)) FROM messages_fts_data",
    "float32 vectors (vec0 chunks)": "SELECT sum(length(vectors)) FROM vec_floats_vector_chunks00",
    "chunk rows (message, hash)": "SELECT sum(length(content_hash) + 16) FROM chunks",
    "int8 codes (vector_codes)": "SELECT sum(length(code) + length(resource_id) + 24) FROM vector_codes",
    "sign-bit segments (vector_segments)": "SELECT sum(length(ids) + length(bits)) FROM vector_segments",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    args = ap.parse_args()
    conn, _ = connect(args.db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    n = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
    size = Path(args.db).stat().st_size
    print(f"{n:,} messages, file {size / 1e6:,.1f} MB\n")
    print("| part | MB | bytes/message |")
    print("| --- | --- | --- |")
    total = 0
    for name, sql in PARTS.items():
        try:
            b = conn.execute(sql).fetchone()[0] or 0
        except Exception:  # a part that does not exist yet (no vectors)
            b = 0
        total += b
        print(f"| {name} | {b / 1e6:,.1f} | {b / n:,.0f} |")
    print(
        f"| page and index overhead, free space | {(size - total) / 1e6:,.1f} | {(size - total) / n:,.0f} |"
    )
    print(f"| **whole file** | **{size / 1e6:,.1f}** | **{size / n:,.0f}** |")


if __name__ == "__main__":
    main()
