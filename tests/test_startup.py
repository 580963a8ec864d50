"""Commands that do not embed or call a model must not load model libraries."""

import subprocess
import sys

HEAVY = ("fastembed", "onnxruntime", "litellm")


def _imported_by(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return {name.split(".")[0] for name in out.split()}


def test_cli_module_imports_no_model_library():
    loaded = _imported_by("import memcli.cli.main")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def _modules_after(argv: list[str], env_db: str) -> set[str]:
    code = (
        "import sys, os\n"
        f"os.environ['MEMCLI_DB'] = {env_db!r}\n"
        "from memcli.cli.main import main\n"
        f"sys.argv = ['memcli', *{argv!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(' '.join(sorted(sys.modules)))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, input="")
    return {name.split(".")[0] for name in p.stderr.split()}


def test_light_commands_stay_light(tmp_path, cli):
    db = str(tmp_path / "light.db")
    for argv in (["--help"], ["threads", "list"], ["messages", "list", "-t", "x"], ["db", "stats"]):
        assert not _modules_after(argv, db) & set(HEAVY), argv
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"content": "hi", "thread_id": "t", "resource_id": "r"}\n')
    assert not _modules_after(["import", str(jsonl), "--no-embed"], db) & set(HEAVY)


def test_embed_with_nothing_waiting_loads_no_model(tmp_path, local_model):
    """#25: `memcli embed` loaded the model (5-9 s) even when no message waited for a vector."""
    db = str(tmp_path / "e.db")
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"content": "hi", "thread_id": "t", "resource_id": "r"}\n')
    assert "onnxruntime" in _modules_after(["import", str(jsonl)], db)  # embedded now
    assert not _modules_after(["embed"], db) & set(HEAVY)
    assert not _modules_after(["ui", "--help"], db) & set(HEAVY)
    jsonl.write_text('{"content": "later", "thread_id": "t", "resource_id": "r"}\n')
    _modules_after(["import", str(jsonl), "--no-embed"], db)
    assert "onnxruntime" in _modules_after(["embed"], db)  # something waits: the model loads


def test_tokens_needs_no_model_client(tmp_path, monkeypatch):
    """#17: the window comes from litellm's table read as JSON, not from importing litellm,
    and it is the same number litellm itself gives."""
    monkeypatch.setenv("MEMCLI_MODEL", "openai/gpt-4o-mini")
    loaded = _modules_after(["tokens", "-r", "alice", "--json"], str(tmp_path / "t.db"))
    assert not loaded & set(HEAVY), loaded & set(HEAVY)
    import litellm

    from memcli.model_windows import context_window

    for model in ("openai/gpt-4o-mini", "gpt-4o", "anthropic/claude-sonnet-4-5"):
        assert context_window(model) == litellm.get_model_info(model)["max_input_tokens"], model
    assert context_window("openai/some-local-model") == 8192


def _help_of(app) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            app(args=["--help"], prog_name="memcli", standalone_mode=False)
        except SystemExit:
            pass
    return out.getvalue()


def test_root_help_from_summaries_matches_the_commands_own_help():
    """`memcli --help` loads no command module; its list must not drift from them."""
    import inspect

    import typer

    from memcli.cli.main import COMMANDS, ROOT_HELP, make_app

    for name, (module, attribute, summary) in COMMANDS.items():
        target = getattr(__import__(module, fromlist=[attribute]), attribute)
        text = target.info.help if isinstance(target, typer.Typer) else inspect.getdoc(target)
        assert text.split("\n\n")[0] == summary, name
    assert _help_of(make_app(ROOT_HELP)) == _help_of(make_app(None))


def test_command_line_names_the_command_to_load():
    from memcli.cli.main import ROOT_HELP, requested_command

    assert requested_command(["threads", "list"]) == "threads"
    assert requested_command(["--db", "recall", "-q", "recall", "x"]) == "recall"  # --db takes a value
    assert requested_command(["--help", "threads"]) == ROOT_HELP
    assert requested_command([]) == ROOT_HELP
    assert requested_command(["threadz"]) is None  # click's error lists every command
    assert requested_command(["--version"]) is None
