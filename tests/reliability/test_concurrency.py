"""Four writers with embeddings and two readers on one database file, at once."""

import os
import subprocess
import sys
import textwrap

import pytest

WRITER = textwrap.dedent(
    """
    import sys
    from memcli import Memory
    w = int(sys.argv[1])
    mem = Memory()
    for batch in range(20):
        rows = [
            {"id": f"w{w}-{batch}-{i}", "content": f"writer {w} batch {batch} note {i} about topic {i % 7}",
             "thread_id": f"w{w}-t{batch % 3}", "resource_id": f"r{w % 2}"}
            for i in range(50)
        ]
        mem.save_messages(rows)
    """
)

READER = textwrap.dedent(
    """
    import os, sys
    from memcli import Memory
    mem = Memory()
    checks = 0
    # read until the test says every writer is done (a file appears), then one more round
    done_flag = sys.argv[2]
    while True:
        finished = os.path.exists(done_flag)
        for resource in ("r0", "r1"):
            result = mem.recall("note about topic 3", resource_id=resource, top_k=10, message_range=1)
            for hit in result.hits:
                m = hit.message
                assert m.resource_id == resource, m
                # a message a reader can see already has its vectors (same transaction)
                chunks = mem.store.conn.execute(
                    "SELECT count(*) FROM chunks WHERE message_rowid = ?", [m.rowid]).fetchone()[0]
                assert chunks >= 1, (m.id, chunks)
                checks += 1
        if finished:
            break
    print(checks)
    """
)


@pytest.mark.both_backends
@pytest.mark.slow
def test_four_writers_two_readers(home, local_model, db_path, tmp_path, backend):
    from memcli import Memory

    Memory(db_path).close()  # create the schema once
    env = dict(os.environ)
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(w)], env=env, stderr=subprocess.PIPE, text=True)
        for w in range(4)
    ]
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(r), str(tmp_path / "writers-done")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in range(2)
    ]
    for p in writers:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        assert "locked" not in err
    (tmp_path / "writers-done").touch()
    for p in readers:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        assert int(out.strip()) > 0
    mem = Memory(db_path)
    conn = mem.store.conn
    assert conn.execute("SELECT count(*), count(DISTINCT id) FROM messages").fetchone()[:] == (4000, 4000)
    if backend == "sqlite":  # FTS5's own check that the index matches the messages table exactly
        conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
    else:  # the BM25 statistics the triggers keep, per resource, match a recount
        kept = "SELECT resource_id, docs, tokens FROM keyword_totals ORDER BY 1"
        recount = "SELECT resource_id, count(*), sum(term_count) FROM messages GROUP BY 1 ORDER BY 1"
        assert [tuple(r) for r in conn.execute(kept)] == [tuple(r) for r in conn.execute(recount)]
        kept = "SELECT resource_id, lexeme, docs FROM term_docs ORDER BY 1, 2"
        recount = "SELECT m.resource_id, u.lexeme, count(*) FROM messages m, unnest(m.terms) u GROUP BY 1, 2 ORDER BY 1, 2"
        assert [tuple(r) for r in conn.execute(kept)] == [tuple(r) for r in conn.execute(recount)]
    assert conn.execute("SELECT count(DISTINCT message_rowid) FROM chunks").fetchone()[0] == 4000
    assert mem.store.vectors.orphans() == 0
    assert mem.store.integrity_check() == "ok"
    mem.close()
