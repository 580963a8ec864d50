"""Importers for ChatGPT, Claude, simonw/llm and memcli's own Markdown, on small real-format fixtures."""

import json
from pathlib import Path

import pytest

from conftest import EXAMPLE

pytestmark = pytest.mark.both_backends

EXPORTS = Path(__file__).resolve().parent / "fixtures" / "exports"


def _messages(cli, thread):
    return cli("messages", "list", "-t", thread, "--json").json()


def test_chatgpt_export_follows_the_current_branch(cli):
    r = cli(
        "import",
        str(EXPORTS / "chatgpt-conversations.json"),
        "--from",
        "chatgpt",
        "-r",
        "alice",
        "--no-embed",
    )
    assert r.code == 0, r.err
    thread = cli("threads", "show", "chatgpt-c0ffee-1", "--json").json()["thread"]
    assert thread["title"] == "Trip to Porto" and thread["resource_id"] == "alice"
    msgs = _messages(cli, "chatgpt-c0ffee-1")
    assert [(m["role"], m["content"]) for m in msgs] == [
        ("user", "Plan a weekend in Porto for me and my sister Marta"),
        ("assistant", "Take the Alfa Pendular on Friday evening."),
        ("user", "Marta is vegetarian."),
    ]
    assert msgs[0]["created_at"] == "2024-05-06T12:53:30.500000Z"
    assert msgs[1]["metadata"] == {"source": "chatgpt", "model": "gpt-4o"}
    again = cli(
        "import",
        str(EXPORTS / "chatgpt-conversations.json"),
        "--from",
        "chatgpt",
        "-r",
        "alice",
        "--no-embed",
        "--json",
    )
    assert again.json()["unchanged"] == 3  # idempotent


def test_claude_export(cli):
    assert (
        cli("import", str(EXPORTS / "claude-conversations.json"), "--from", "claude", "--no-embed").code == 0
    )
    assert cli("threads", "show", "claude-5a1e-1", "--json").json()["thread"]["title"] == "Dagster migration"
    msgs = _messages(cli, "claude-5a1e-1")
    assert [(m["role"], m["content"]) for m in msgs] == [
        ("user", "We are moving pipelines from Airflow to Dagster"),
        ("assistant", "Start with the sensors, then the schedules."),
    ]
    assert msgs[1]["created_at"] == "2024-05-20T18:41:00Z"


def test_llm_logs_db(cli):
    assert cli("import", str(EXPORTS / "llm-logs.db"), "--from", "llm", "-r", "bob", "--no-embed").code == 0
    assert cli("threads", "show", "llm-01j0conv", "--json").json()["thread"]["title"] == "Peanut allergy menu"
    msgs = _messages(cli, "llm-01j0conv")
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant"]
    assert (
        msgs[0]["content"] == "I am allergic to peanuts"
        and msgs[0]["created_at"] == "2024-08-11T11:17:00.123456Z"
    )
    assert msgs[1]["metadata"]["model"] == "gpt-4o-mini"


def test_markdown_round_trip(cli, tmp_path, monkeypatch):
    assert cli("import", str(EXAMPLE), "--no-embed").code == 0
    cli("threads", "rename", "t-2024-03-02-move", "Moving to Lisbon")
    md = tmp_path / "all.md"
    md.write_text(cli("export", "--format", "markdown", "-r", "alice").out)
    before = cli("export", "--format", "jsonl", "-r", "alice").out
    monkeypatch.setenv("MEMCLI_DB", str(tmp_path / "second.db"))
    r = cli("import", str(md), "--from", "markdown", "--no-embed")
    assert r.code == 0, r.err
    assert cli("export", "--format", "jsonl", "-r", "alice").out == before
    assert (
        cli("threads", "show", "t-2024-03-02-move", "--json").json()["thread"]["title"] == "Moving to Lisbon"
    )


def test_wrong_format_is_one_line(cli):
    r = cli("import", str(EXPORTS / "llm-logs.db"), "--from", "chatgpt")
    assert r.code == 1 and r.err.count("\n") == 1 and "import it with --from llm" in r.err
    # a wrong --from imported 0 messages with exit 0 (#18): now it names the right one
    r = cli("import", str(EXPORTS / "chatgpt-conversations.json"))
    assert r.code == 1 and "looks like a ChatGPT export: import it with --from chatgpt" in r.err
    r = cli("import", str(EXPORTS / "claude-conversations.json"), "--from", "chatgpt")
    assert r.code == 1 and "--from claude" in r.err
    r = cli("import", str(EXAMPLE), "--from", "nope")
    assert r.code == 2


def test_the_chatgpt_zip_as_downloaded_imports(cli, tmp_path):
    """#18: the export arrives as a zip; reading it as text failed on byte 0xa3."""
    import zipfile

    archive = tmp_path / "chatgpt-export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("conversations.json", (EXPORTS / "chatgpt-conversations.json").read_text())
        z.writestr("image.png", b"\x89PNG\xa3\x00")
    r = cli("import", str(archive), "--from", "chatgpt", "-r", "alice", "--no-embed", "--json")
    assert r.code == 0, r.err
    assert r.json()["written"] > 0


def _node(nid, parent, role, text, t, **extra):
    message = {
        "id": nid,
        "author": {"role": role},
        "create_time": t,
        "content": {"content_type": "text", "parts": [text]},
        **extra,
    }
    return nid, {"id": nid, "parent": parent, "message": message}


def test_chatgpt_times_tool_calls_and_missing_current_node(cli, tmp_path):
    """#18: a null create_time jumped to the top; a DALL-E prompt became something the
    assistant said; a conversation without current_node vanished."""
    convs = [
        {
            "conversation_id": "c1",
            "title": "Cats",
            "create_time": 1700000000,
            "current_node": "n4",
            "mapping": dict(
                [
                    _node("n1", None, "user", "draw my cat", 1700000001),
                    _node(
                        "n2", "n1", "assistant", '{"prompt": "a cat"}', 1700000002, recipient="dalle.text2im"
                    ),
                    _node("n3", "n2", "assistant", "Here is your cat.", None),
                    _node("n4", "n3", "user", "thanks", 1700000009),
                ]
            ),
        },
        {
            "conversation_id": "c2",
            "title": "No tip",
            "create_time": 1700000100,
            "current_node": None,
            "mapping": dict(
                [
                    _node("m1", None, "user", "hello", 1700000101),
                    _node("m2", "m1", "assistant", "old answer", 1700000102),
                    _node("m3", "m1", "assistant", "newer answer", 1700000105),
                ]
            ),
        },
    ]
    export = tmp_path / "conversations.json"
    export.write_text(json.dumps(convs))
    r = cli("import", export, "--from", "chatgpt", "-r", "alice", "--no-embed")
    assert r.code == 0, r.err
    c1 = cli("messages", "list", "-t", "chatgpt-c1", "--json").json()
    assert [m["content"] for m in c1] == ["draw my cat", "Here is your cat.", "thanks"]
    c2 = cli("messages", "list", "-t", "chatgpt-c2", "--json").json()
    assert [m["content"] for m in c2] == ["hello", "newer answer"]


def test_claude_branches_thinking_and_attachments(cli, tmp_path):
    """#18: both branches of an edited message were merged; thinking and placeholders
    became content; attachment text was lost."""
    conv = {
        "uuid": "k1",
        "name": "Edited",
        "created_at": "2024-05-01T10:00:00Z",
        "chat_messages": [
            {
                "uuid": "a",
                "parent_message_uuid": "root",
                "sender": "human",
                "created_at": "2024-05-01T10:00:00Z",
                "text": "first try",
                "content": [{"type": "text", "text": "first try"}],
            },
            {
                "uuid": "b",
                "parent_message_uuid": "a",
                "sender": "assistant",
                "created_at": "2024-05-01T10:00:05Z",
                "content": [{"type": "text", "text": "answer to the first try"}],
            },
            {
                "uuid": "c",
                "parent_message_uuid": "root",
                "sender": "human",
                "created_at": "2024-05-01T10:01:00Z",
                "content": [{"type": "text", "text": "edited question"}],
                "attachments": [{"file_name": "notes.txt", "extracted_content": "budget is 1400 euros"}],
            },
            {
                "uuid": "d",
                "parent_message_uuid": "c",
                "sender": "assistant",
                "created_at": "2024-05-01T10:01:09Z",
                "content": [
                    {"type": "thinking", "thinking": "let me think"},
                    {"type": "text", "text": "This block is not supported on your current device yet."},
                    {"type": "text", "text": "answer to the edit"},
                ],
            },
        ],
    }
    export = tmp_path / "claude.json"
    export.write_text(json.dumps([conv]))
    assert cli("import", export, "--from", "claude", "-r", "alice", "--no-embed").code == 0
    got = cli("messages", "list", "-t", "claude-k1", "--json").json()
    assert [m["content"].split("\n")[0] for m in got] == ["edited question", "answer to the edit"]
    assert "budget is 1400 euros" in got[0]["content"] and got[0]["metadata"]["attachments"] == ["notes.txt"]
    assert "let me think" not in got[1]["content"] and "not supported" not in got[1]["content"]


@pytest.mark.parametrize("version, threads", [("0.13", 2), ("0.31", 3), ("0.36", 3)])
def test_llm_logs_of_every_schema(cli, version, threads):
    """#18: logs.db files written by real llm releases (tests/fixtures/make_llm_logs.py):
    0.13 (naive times), 0.31 (times with +00:00, fragments) and 0.36 (the message tree)."""
    source = EXPORTS / f"llm-{version}-logs.db"
    r = cli("import", source, "--from", "llm", "-r", "alice", "--no-embed", "--json")
    assert r.code == 0, r.err
    assert r.json()["threads_created"] == threads
    listed = cli("threads", "list", "-r", "alice", "--json").json()["threads"]
    by_title = {t["title"]: t["id"] for t in listed}
    if version != "0.13":  # 0.13 left conversations unnamed
        assert "I moved to Lisbon last spring." in by_title
    conversation = [t["id"] for t in listed if t["message_count"] == 4][0]
    msgs = cli("messages", "list", "-t", conversation, "--json").json()
    assert [(m["role"], m["content"]) for m in msgs] == [
        ("user", "I moved to Lisbon last spring."),
        ("assistant", "answer to: I moved to Lisbon last spring."),
        ("user", "Where do I live now?"),
        ("assistant", "answer to: Where do I live now?"),
    ]
    assert msgs[0]["created_at"] <= msgs[2]["created_at"] and msgs[0]["created_at"].startswith("2026-")
    everything = cli("export", "-r", "alice").out
    assert '"role": "system", "content": "You are terse."' in everything
    if version != "0.13":
        assert json.dumps("Fragment text: the budget is 1400 euros.\nSummarise the notes.") in everything
    again = cli("import", source, "--from", "llm", "-r", "alice", "--no-embed", "--json").json()
    assert again["written"] == 0 and again["threads_created"] == 0
