"""Files are private; API keys never reach the database, exports or logs; snapshots are consistent."""

import os
import stat
import subprocess
import sys
import threading

from fake_llm import reply

PLANTED = "sk-planted-secret-0123456789abcdef"


def test_database_and_folder_modes(cli, home, db_path):
    cli("add", "hello", "-t", "t", "--no-embed")
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o700


def test_api_key_is_never_written(cli, home, llm_server, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED)
    llm_server.script([reply("hi there"), reply("title")])
    assert cli("ask", "hello", "-r", "alice", "-t", "s").code == 0
    export = cli("export", "--format", "jsonl").out + cli("export", "--format", "markdown").out
    assert PLANTED not in export
    backup = tmp_path / "backup.db"
    assert cli("db", "backup", str(backup)).code == 0
    for folder in (home, tmp_path):
        for root, _, files in os.walk(folder):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    data = f.read()
                assert PLANTED.encode() not in data, name
    # the key did reach the model server (it is used, just not stored)
    assert llm_server.requests


def test_backup_is_consistent_while_writes_continue(cli, db_path, tmp_path):
    cli("add", "seed", "-t", "t", "--no-embed")
    stop = threading.Event()
    code = (
        "import sys\nfrom memcli import Memory\nm = Memory()\n"
        "for b in range(200):\n"
        "    m.save_messages([{'content': f'w {b} {i}', 'thread_id': 't', 'resource_id': 'default'}"
        " for i in range(20)], embed=False)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ))
    snapshots = []
    try:
        for i in range(5):
            target = tmp_path / f"snap{i}.db"
            assert cli("db", "backup", str(target)).code == 0
            snapshots.append(target)
    finally:
        stop.set()
        writer.wait(timeout=300)
    from memcli.store.connection import connect

    for snap in snapshots:
        conn, _ = connect(snap)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
        count = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        assert (count - 1) % 20 == 0  # whole transactions only
        conn.close()
