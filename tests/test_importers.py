"""Importers for ChatGPT, Claude, simonw/llm and memcli's own Markdown, on small real-format fixtures."""

from pathlib import Path

from conftest import EXAMPLE

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
    md.write_text(cli("export", "--format", "markdown").out)
    before = cli("export", "--format", "jsonl").out
    monkeypatch.setenv("MEMCLI_DB", str(tmp_path / "second.db"))
    r = cli("import", str(md), "--from", "markdown", "--no-embed")
    assert r.code == 0, r.err
    assert cli("export", "--format", "jsonl").out == before
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
