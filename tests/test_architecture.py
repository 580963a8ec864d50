"""The layering a maintainer relies on, checked from the source: no import cycle among
memcli's modules (imports inside functions and under TYPE_CHECKING count), and nothing
below `Memory` imports it back."""

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "memcli"
FACES = ("memcli.cli", "memcli.mcp_server", "memcli.mcp_transport", "memcli.__main__", "memcli.ui")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _edges(mods: dict[str, Path]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(
                        parts[: len(parts) - node.level + 1] + ([node.module] if node.module else [])
                    )
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target and target not in (mod, "memcli"):
                    edges[mod].add(target)
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_among_memcli_modules():
    cycle = _cycle(_edges(_modules()))
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_check_finds_a_cycle():
    """The check itself can fail: a made-up pair that imports each other is caught."""
    assert _cycle({"a": {"b"}, "b": {"a"}, "c": set()}) == ["a", "b", "a"]


def test_nothing_below_memory_imports_it_or_a_face():
    mods = _modules()
    edges = _edges(mods)
    below = [m for m in mods if m != "memcli.memory" and not m.startswith(FACES) and m != "memcli"]
    bad = {m: sorted(t for t in edges[m] if t == "memcli.memory" or t.startswith(FACES)) for m in below}
    assert {m: t for m, t in bad.items() if t} == {}


def test_the_library_leaves_the_process_environment_as_it_was(tmp_path, local_model, monkeypatch):
    """tiktoken, fastembed and litellm are configured while they read their variables,
    not by changing os.environ for the program that embeds memcli."""
    import os

    from memcli import Memory, tokens

    tokens.encoding.cache_clear()
    before = dict(os.environ)
    with Memory(tmp_path / "m.db") as mem:
        mem.add_message("I moved to Lisbon", thread_id="t", resource_id="r")
        assert mem.recall("Lisbon", resource_id="r").hits
    from memcli.llm import LiteLLM

    LiteLLM("openai/x")._litellm()
    assert dict(os.environ) == before


def test_the_web_viewer_reaches_memory_only():
    """#28: `memcli ui` is a face: it parses, calls `Memory`, renders. It imports no store,
    engine or other face, so every invariant it relies on lives below it."""
    mods = _modules()
    edges = _edges(mods)
    allowed = ("memcli.ui", "memcli.memory", "memcli.errors", "memcli.database")
    reached = {
        m: sorted(t for t in edges[m] if not t.startswith(allowed)) for m in mods if m.startswith("memcli.ui")
    }
    assert {m: t for m, t in reached.items() if t} == {}
