"""#25: every OpenAI-compatible endpoint goes the light way (no litellm import), and a
missing key is one line at once naming the variable to set, before anything is sent."""

import pytest
from fake_llm import FakeLLM, reply


@pytest.fixture
def server():
    s = FakeLLM().start()
    yield s
    s.stop()


def _imports_litellm(r) -> bool:
    return any(line.rstrip().endswith("| litellm") for line in r.err.splitlines())


@pytest.mark.parametrize("variable", ["OPENAI_BASE_URL", "OPENAI_API_BASE"])
def test_the_variables_openai_compatible_servers_document_go_the_light_way(
    proc, server, monkeypatch, variable
):
    for name in ("MEMCLI_API_BASE", "OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    server.script([reply("hello from the server")])
    env = {
        "MEMCLI_MODEL": "openai/fake",
        variable: server.base_url,
        "OPENAI_API_KEY": "sk-x",
        "PYTHONPROFILEIMPORTTIME": "1",
    }
    r = proc("ask", "hi", "--no-memory", env=env)
    assert r.code == 0 and r.out.strip() == "hello from the server", r.err[-500:]
    assert len(server.requests) == 1 and not _imports_litellm(r)


def test_openai_without_a_key_is_one_line_at_once(proc, monkeypatch):
    for name in ("OPENAI_API_KEY", "MEMCLI_API_BASE", "OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    r = proc(
        "ask", "hi", "--no-memory", env={"MEMCLI_MODEL": "openai/gpt-4o-mini", "PYTHONPROFILEIMPORTTIME": "1"}
    )
    last = r.err.strip().splitlines()[-1]
    assert r.code == 1 and "OPENAI_API_KEY" in last and "nothing was sent" in last, r.err[-500:]
    assert not _imports_litellm(r) and "retrying" not in r.err


def test_another_provider_without_its_key_names_the_variable(proc, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("MEMCLI_API_BASE", raising=False)
    r = proc("ask", "hi", "--no-memory", env={"MEMCLI_MODEL": "anthropic/claude-3-haiku"})
    assert r.code == 1 and r.err.count("\n") == 1 and "ANTHROPIC_API_KEY" in r.err, r.err
