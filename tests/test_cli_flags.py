"""Pipes, flags and help as a shell user meets them (#18)."""

import json

import pytest  # noqa: E402
from fake_llm import reply

pytestmark = pytest.mark.both_backends


def test_piped_stdin_joins_the_prompt_and_no_memory_stores_nothing(cli, llm_server):
    llm_server.script([reply("Looks good.")])
    r = cli("ask", "Review this change", "--no-memory", input="diff --git a/x b/x\n+new line\n")
    assert r.code == 0 and r.out == "Looks good.\n"
    sent = llm_server.requests[0]["messages"][-1]["content"]
    assert sent == "Review this change\n\ndiff --git a/x b/x\n+new line"
    assert len(llm_server.requests) == 1  # no title call either
    assert cli("threads", "list", "--json").json()["total"] == 0


def test_recall_dash_reads_the_query_from_stdin(cli):
    cli("add", "Marta is vegetarian", "-t", "trip", "-r", "alice", "--no-embed")
    r = cli("recall", "-", "-r", "alice", "--mode", "keyword", "--json", input="vegetarian\n")
    assert r.code == 0 and r.json()[0]["content"] == "Marta is vegetarian"


def test_global_options_work_after_the_command(cli, tmp_path):
    other = tmp_path / "other.db"
    assert cli("add", "hello", "-t", "t", "--no-embed", "--db", other, "-q").code == 0
    assert cli("threads", "list", "--db", other, "--json").json()["total"] == 1
    assert cli("threads", "list", "--json").json()["total"] == 0
    assert cli("add", "--", "--db", "-t", "t2", "--no-embed").code == 2  # after --: text, not an option


def test_help_shows_no_escape_backslashes(cli):
    r = cli("add", "--help")
    assert "[required]" in r.out and "\\[" not in r.out


def test_contradictory_or_bad_flags_are_usage_errors(cli):
    assert cli("threads", "list", "--json", "--nl").code == 2
    assert cli("recall", "x", "--json", "--nl").code == 2
    r = cli("recall", "x", "--since", "yesterday")
    assert r.code == 2 and "--since" in r.err
    assert cli("threads", "new", "-t", "A title").code == 2  # -t is --thread everywhere, not --title


def test_answering_no_to_a_delete_is_not_an_interruption(cli, monkeypatch):
    from memcli.cli import output

    cli("add", "keep me", "-t", "t", "--no-embed")
    monkeypatch.setattr(output, "stdout_is_tty", lambda: True)
    r = cli("threads", "delete", "t", input="n\n")
    assert r.code == 0 and "nothing deleted" in r.err and "interrupted" not in r.err
    assert json.loads(cli("threads", "show", "t", "--json").out)["messages"][0]["content"] == "keep me"


def test_recall_context_pipes_into_simonw_llm(cli, llm_server, tmp_path):
    """#18: the README's `memcli recall ... --format context | llm "question"`, with the
    real llm CLI pointed at the scripted server through extra-openai-models.yaml."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from conftest import EXAMPLE

    assert cli("import", EXAMPLE, "--no-embed").code == 0
    context = cli("recall", "trip plans", "-r", "alice", "--mode", "keyword", "--format", "context").out
    assert context.startswith("Memories relevant to: trip plans")
    home = tmp_path / "llm-home"
    home.mkdir()
    (home / "extra-openai-models.yaml").write_text(
        f'- model_id: fake\n  model_name: fake-model\n  api_base: "{llm_server.base_url}"\n'
    )
    llm_server.script([reply("The Porto trip in August.")])
    llm = Path(sys.executable).with_name("llm")
    done = subprocess.run(
        [llm, "-m", "fake", "--no-stream", "What is planned?"],
        input=context,
        capture_output=True,
        text=True,
        env={**os.environ, "LLM_USER_PATH": str(home), "OPENAI_API_KEY": "sk-test"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "The Porto trip in August."
    sent = json.dumps(llm_server.requests[-1]["messages"])
    assert "What is planned?" in sent and json.dumps(context.strip().splitlines()[1])[1:-1] in sent
