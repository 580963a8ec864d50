"""Generated files stay in step with the code: completions and the schema doc."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_schema_doc_is_current():
    from memcli.schema_doc import render

    assert (ROOT / "docs" / "schema.md").read_text() == render(), (
        "run: python -m memcli.schema_doc > docs/schema.md"
    )


def test_reference_doc_is_current():
    from memcli.cli.reference_doc import render

    assert (ROOT / "docs" / "reference.md").read_text() == render(), (
        "run: python -m memcli.cli.reference_doc > docs/reference.md"
    )


def test_every_mcp_tool_is_named_in_mcp_help_and_the_guide(tmp_path):
    from memcli.cli.main import mcp_command
    from memcli.mcp_server import build_server
    from memcli.memory import Memory

    with Memory(tmp_path / "m.db") as mem:
        tools = {t.name for t in build_server(mem)._tool_manager.list_tools()}
    guide = (ROOT / "docs" / "guide.md").read_text()
    assert {t for t in tools if t not in (mcp_command.__doc__ or "")} == set()
    assert {t for t in tools if f"`{t}`" not in guide} == set()


def test_completions_are_current():
    for shell in ("bash", "zsh", "fish"):
        env = {**os.environ, "_MEMCLI_COMPLETE": f"source_{shell}"}
        generated = subprocess.run(
            [str(Path(sys.executable).parent / "memcli")],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        committed = (ROOT / "completions" / f"memcli.{shell}").read_text()
        assert generated == committed, f"completions/memcli.{shell} is stale: run `just completions`"


def test_completion_answers_subcommands():
    env = {
        **os.environ,
        "_MEMCLI_COMPLETE": "complete_bash",
        "COMP_WORDS": "memcli thr",
        "COMP_CWORD": "1",
    }
    out = subprocess.run(
        [str(Path(sys.executable).parent / "memcli")], env=env, capture_output=True, text=True, check=False
    ).stdout
    assert out.split() == ["threads"]  # the one command starting with "thr", nothing else


def _complete(words: str, cword: int, home_env: dict) -> list[str]:
    env = {
        **os.environ,
        **home_env,
        "_MEMCLI_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(cword),
    }
    out = subprocess.run(
        [str(Path(sys.executable).parent / "memcli")], env=env, capture_output=True, text=True, check=False
    )
    assert "error" not in out.stderr, out.stderr
    return out.stdout.split()


def test_completion_offers_option_values_and_ids_from_the_database(cli):
    """#18: values of --mode, --from, --format, --scope, --order, and thread and resource ids."""
    cli("add", "hi", "-t", "trip-porto", "-r", "alice", "--no-embed")
    cli("add", "hi", "-t", "trip-lisbon", "-r", "alice", "--no-embed")
    cli("add", "hi", "-t", "work", "-r", "bob", "--no-embed")
    assert _complete("memcli recall x --mode h", 4, {}) == ["hybrid"]
    assert _complete("memcli import f --from c", 4, {}) == ["chatgpt", "claude"]
    assert _complete("memcli recall x --format ", 4, {}) == ["table", "json", "nl", "context"]
    assert _complete("memcli export --format m", 3, {}) == ["markdown"]
    assert _complete("memcli recall x --scope t", 4, {}) == ["thread"]
    assert _complete("memcli threads list --order u", 4, {}) == ["updated"]
    assert _complete("memcli threads show trip-", 3, {}) == ["trip-lisbon", "trip-porto"]
    assert _complete("memcli recall x -r b", 4, {}) == ["bob"]
    assert _complete("memcli messages list -t w", 4, {}) == ["work"]
