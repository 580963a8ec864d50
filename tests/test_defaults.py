"""Every face uses the core's defaults: an MCP tool's or a CLI command's option that
names a parameter of the `Memory` method it calls either leaves it unset (None: the
core decides, from Settings) or gives the same value. A face that hard-codes its own
(MCP recall once returned 4 hits where the config said 8) fails here."""

import inspect

import pytest
import typer.main

from memcli import Memory
from memcli.cli.main import COMMANDS, make_app

# MCP tool -> the Memory method it calls
TOOLS = {
    "recall": "recall_many",
    "remember": "add_message",
    "working_memory_get": "get_working_memory",
    "working_memory_update": "update_working_memory",
    "threads_list": "list_threads",
    "observations_show": "get_observations",
    "recall_messages": "open_messages",
    "add_memory": "add_memory",
    "search_memories": "search_memories",
    "update_memory": "update_memory",
    "delete_memory": "delete_memory",
    "memory_history": "memory_history",
}
# CLI command path -> the Memory method it calls
COMMAND_METHODS = {
    ("recall",): "recall_many",
    ("threads", "list"): "list_threads",
    ("threads", "new"): "create_thread",
    ("messages", "list"): "list_messages",
    ("facts", "search"): "search_memories",
    ("facts", "list"): "list_memories",
    ("facts", "add"): "add_memory",
    ("export",): "export",
    ("import",): "import_stream",
    ("observe",): "observe",
    ("reflect",): "reflect",
    ("embed",): "embed_missing",
    ("add",): "add_message",
    ("tokens",): "token_report",
    ("ask",): "chat_session",
    ("chat",): "chat_session",
    ("threads", "clone"): "clone_thread",
    ("threads", "rename"): "rename_thread",
    ("threads", "delete"): "delete_thread",
    ("messages", "delete"): "delete_messages",
    ("facts", "edit"): "update_memory",
    ("facts", "delete"): "delete_memory",
    ("facts", "extract"): "extract_memories",
    ("facts", "export"): "export_memories",
    ("facts", "import"): "import_memories",
    ("facts", "history"): "memory_history",
    ("facts", "show"): "get_memory",
    ("working-memory", "show"): "get_working_memory",
    ("working-memory", "set"): "set_working_memory",
    ("working-memory", "clear"): "clear_working_memory",
    ("working-memory", "history"): "working_memory_history",
    ("observations", "show"): "get_observations",
    ("observations", "history"): "observation_history",
    ("threads", "lineage"): "get_clone_history",
    ("db", "copy"): "copy_to",
    ("db", "backup"): "backup",
    ("db", "stats"): "stats",
    ("db", "doctor"): "doctor",
    ("db", "optimize"): "optimize",
    ("db", "vacuum"): "vacuum",
    ("db", "delete-resource"): "delete_resource",
}
# commands with no Memory method behind their options, each with why
NO_CORE_CALL = {
    ("threads", "show"): "its --limit is the page a terminal shows (50), list_messages has no page size",
    ("mcp",): "builds the MCP server; its tools are checked above",
    ("ui",): "builds the web viewer; its pages take Memory's defaults (tests/ui)",
    ("db", "path"): "prints the setting",
    ("db", "extension"): "prints sqlite-vec's path",
    ("models", "status"): "embedding_status() takes no options",
    ("models", "list"): "embedding_models() takes no options",
    ("working-memory", "edit"): "opens $EDITOR, then set_working_memory",
    ("working-memory", "schema"): "set_working_memory_schema(schema) has no defaults",
    ("config", "path"): "the config file, not the memory",
    ("config", "show"): "the config file, not the memory",
    ("config", "get"): "the config file, not the memory",
    ("config", "set"): "the config file, not the memory",
    ("config", "unset"): "the config file, not the memory",
}
# a face's name for a core parameter
ALIASES = {"resource": "resource_id", "thread": "thread_id", "source_format": "format", "fmt": "format"}


def _core_defaults(method: str) -> dict:
    params = inspect.signature(getattr(Memory, method)).parameters
    return {n: p.default for n, p in params.items() if p.default is not inspect.Parameter.empty}


def _differences(face_defaults: dict, method: str) -> list[str]:
    core = _core_defaults(method)
    out = []
    for name, value in face_defaults.items():
        name = ALIASES.get(name, name)
        if name in core and value is not None and value != core[name]:
            out.append(f"{name}: face {value!r}, Memory.{method} {core[name]!r}")
    return out


def test_every_mcp_tool_takes_memorys_defaults(tmp_path):
    from memcli.mcp_server import build_server

    with Memory(tmp_path / "m.db") as mem:
        server = build_server(mem)
        tools = {t.name: t for t in server._tool_manager.list_tools()}
    assert set(tools) == set(TOOLS), "a new MCP tool must be mapped to its Memory method here"
    wrong = {}
    for name, tool in tools.items():
        fields = tool.fn_metadata.arg_model.model_fields
        defaults = {n: f.default for n, f in fields.items() if not f.is_required()}
        if found := _differences(defaults, TOOLS[name]):
            wrong[name] = found
    assert wrong == {}


def _command(path: tuple[str, ...]):
    command = typer.main.get_command(make_app(path[0]))
    for part in path:
        command = command.commands[part]
    return command


def test_every_cli_command_is_checked_or_says_why_not():
    import click

    root = typer.main.get_command(make_app())
    found = set()

    def walk(command, path):
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                if not sub.hidden:
                    walk(sub, (*path, name))
        else:
            found.add(path)

    walk(root, ())
    assert found - set(COMMAND_METHODS) - set(NO_CORE_CALL) == set(), "map a new command to its Memory method"


@pytest.mark.parametrize("path", list(COMMAND_METHODS), ids=" ".join)
def test_cli_commands_take_memorys_defaults(path):
    assert path[0] in COMMANDS
    command = _command(path)
    defaults = {p.name: p.default for p in command.params if not p.required and p.default is not None}
    assert _differences(defaults, COMMAND_METHODS[path]) == []


def test_the_check_catches_a_hard_coded_default():
    assert _differences({"top_k": 4, "limit": 100}, "list_threads") == []
    assert _differences({"limit": 20}, "list_threads") == ["limit: face 20, Memory.list_threads 100"]


def test_mcp_recall_follows_the_configured_top_k(cli, tmp_path):
    """The defect that started this: config recall.top_k = 8, MCP recall returned 4."""
    from conftest import jsonl, mcp_session

    rows = [{"content": f"garden note {i}", "thread_id": "t", "resource_id": "r"} for i in range(12)]
    assert cli("import", "-", "--no-embed", input=jsonl(rows)).code == 0
    assert cli("config", "set", "recall.top_k", "8").code == 0
    assert cli("config", "set", "recall.message_range", "0").code == 0
    with Memory() as mem:
        core = len(mem.recall("garden", resource_id="r").hits)

    async def run(session):
        return await session.call_tool("recall", {"query": "garden"})

    result = mcp_session(run, "-r", "r")
    assert core == 8 and len(result.structured_content["result"]) == core


def test_pinning_lives_in_memory(tmp_path):
    """`memcli mcp --resource R` pins Memory itself: any path that names another resource
    (or asks for every resource) is refused below the faces."""
    from memcli import InputError, Settings

    settings = Settings.resolve(db=str(tmp_path / "m.db"), resource="alice", pinned=True)
    with Memory(settings=settings) as mem:
        mem.add_message("hi", thread_id="t")
        for call in (
            lambda: mem.recall("hi", resource_id="bob"),
            lambda: mem.list_threads("bob"),
            lambda: mem.list_threads(all_resources=True),
            lambda: mem.add_memory("x", resource_id="bob"),
            lambda: mem.get_working_memory(resource_id="bob"),
        ):
            with pytest.raises(InputError, match="serves resource alice only"):
                call()
        assert [t.id for t in mem.list_threads()] == ["t"]


def test_a_pinned_memory_neither_forgets_nor_shows_another_resource(tmp_path):
    """#28: the viewer pinned to one resource reaches delete_resource and lineage; the pin
    holds in Memory, not in the viewer."""
    from memcli import InputError, Settings

    db = str(tmp_path / "m.db")
    with Memory(settings=Settings.resolve(db=db)) as everyone:
        everyone.add_message("bob's", thread_id="b", resource_id="bob", embed=False)
        everyone.add_message("alice's", thread_id="a", resource_id="alice", embed=False)
        clone_of_b = everyone.clone_thread("b", resource_id="alice", source_resource_id="bob").thread.id
        clone_of_a = everyone.clone_thread("a", resource_id="bob", source_resource_id="alice").thread.id
    with Memory(settings=Settings.resolve(db=db, resource="alice", pinned=True)) as mem:
        with pytest.raises(InputError, match="serves resource alice only"):
            mem.delete_resource("bob")
        assert mem.owner_of("thread", "b") is None and mem.owner_of("resource", "bob") is None
        assert [r["id"] for r in mem.list_resources()["resources"]] == ["alice"]
        assert mem.list_clones("a") == []  # bob's clone of alice's thread is not shown
        assert mem.get_source_thread(clone_of_b) is None
    with Memory(settings=Settings.resolve(db=db, resource="bob", pinned=True)) as bob:
        assert bob.get_source_thread(clone_of_a) is None
        assert [h["id"] for h in bob.get_clone_history(clone_of_a)] == [clone_of_a]
    with Memory(settings=Settings.resolve(db=db)) as everyone:
        assert everyone.owner_of("resource", "bob") == "bob"


def test_chat_and_ask_take_the_same_session_options():
    """#25: `chat` lacked --title-model although `ask` had it; what means the same is spelled
    the same on both (ask adds only its one-shot outputs)."""
    ask = {p.name for p in _command(("ask",)).params}
    chat = {p.name for p in _command(("chat",)).params}
    # ask prints plain text always (it scripts); chat renders Markdown on a terminal unless --plain
    assert ask - chat == {"prompt", "show_context", "as_json"} and chat - ask == {"plain"}
