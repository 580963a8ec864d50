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
    assert "threads" in out
