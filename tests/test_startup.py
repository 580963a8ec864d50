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
