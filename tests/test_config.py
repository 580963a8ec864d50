"""memcli config: a TOML file, precedence flag > environment > config > default."""

import os
import stat

from conftest import EXAMPLE


def test_set_get_show_sources(cli, home, monkeypatch):
    assert cli("config", "get", "recall.top_k").out.strip() == "4"
    assert cli("config", "set", "recall.top_k", "2").code == 0
    assert cli("config", "set", "model", "ollama/llama3.2").code == 0
    path = cli("config", "path").out.strip()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert cli("config", "get", "recall.top_k").out.strip() == "2"
    rows = {r["key"]: r for r in cli("config", "show", "--sources", "--json").json()}
    assert rows["recall.top_k"]["value"] == 2 and rows["recall.top_k"]["source"].startswith("config")
    assert rows["observation.message_tokens"]["source"] == "default"
    monkeypatch.setenv("MEMCLI_MODEL", "openai/gpt-4o-mini")
    rows = {r["key"]: r for r in cli("config", "show", "--sources", "--json").json()}
    assert (
        rows["model"]["value"] == "openai/gpt-4o-mini"
        and rows["model"]["source"] == "environment (MEMCLI_MODEL)"
    )
    assert cli("config", "unset", "recall.top_k").code == 0
    assert cli("config", "get", "recall.top_k").out.strip() == "4"


def test_config_feeds_recall_and_flags_win(cli):
    cli("import", str(EXAMPLE), "--no-embed")
    cli("config", "set", "recall.top_k", "2")
    cli("config", "set", "recall.message_range", "0")
    cli("config", "set", "resource", "alice")
    assert len(cli("recall", "Lisbon", "--mode", "keyword", "--json").json()) == 2
    assert len(cli("recall", "Lisbon", "--mode", "keyword", "-k", "3", "--json").json()) == 3


def test_unknown_key(cli):
    r = cli("config", "set", "colour", "blue")
    assert r.code == 2 and "unknown config key" in r.err
