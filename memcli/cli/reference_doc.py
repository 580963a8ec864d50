"""docs/reference.md, generated from the code (a test keeps it current):

    python -m memcli.cli.reference_doc > docs/reference.md

Every CLI command with its options, every MCP tool with its arguments, every
config key with its environment variable and default — read from the Typer
app, the MCP server and `memcli.config.KNOWN`, so the reference cannot drift.
"""

import tempfile
from pathlib import Path


def _cli() -> list[str]:
    import click
    import typer.main

    from memcli.cli.main import make_app

    root = typer.main.get_command(make_app())
    lines = ["## Commands", ""]

    def walk(command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name in command.commands:
                if not command.commands[name].hidden:  # earlier names kept as aliases
                    walk(command.commands[name], [*path, name])
            return
        summary = (command.help or "").strip().split("\n\n")[0].replace("\n", " ")
        lines.append(f"### memcli {' '.join(path)}")
        lines.append("")
        lines.append(summary)
        lines.append("")
        options = [p for p in command.params if p.name not in ("help",)]
        if options:
            lines.append("| argument or option | meaning |")
            lines.append("| --- | --- |")
            for p in options:
                names = (
                    ", ".join(f"`{o}`" for o in p.opts)
                    if isinstance(p, click.Option)
                    else f"`{p.name.upper()}`"
                )
                help_text = (getattr(p, "help", None) or "").replace("|", "\\|").replace("\n", " ")
                lines.append(f"| {names} | {help_text} |")
            lines.append("")

    walk(root, [])
    return lines


def _mcp() -> list[str]:
    from memcli.mcp_server import build_server
    from memcli.memory import Memory

    lines = ["## MCP tools (`memcli mcp`)", ""]
    with tempfile.TemporaryDirectory() as folder, Memory(Path(folder) / "m.db") as mem:
        tools = build_server(mem)._tool_manager.list_tools()
    for tool in sorted(tools, key=lambda t: t.name):
        lines.append(f"### {tool.name}")
        lines.append("")
        lines.append(tool.description or "")
        lines.append("")
        props = tool.parameters.get("properties", {})
        required = set(tool.parameters.get("required", []))
        lines.append("| argument | meaning |")
        lines.append("| --- | --- |")
        for name, spec in props.items():
            flag = " (required)" if name in required else ""
            lines.append(f"| `{name}`{flag} | {spec.get('description', '')} |")
        lines.append("")
    return lines


def _config() -> list[str]:
    from memcli.config import KNOWN

    lines = [
        "## Configuration keys",
        "",
        "flag > environment > config file (`memcli config set KEY VALUE`) > default",
        "",
    ]
    lines.append("| key | environment | default | meaning |")
    lines.append("| --- | --- | --- | --- |")
    for key, spec in KNOWN.items():
        env = f"`{spec.env}`" if spec.env else ""
        default = "" if spec.default is None else f"`{spec.default}`"
        lines.append(f"| `{key}` | {env} | {default} | {spec.meaning} |")
    lines += [
        "",
        "`MEMCLI_DB` (a SQLite file or a `postgresql://` URL) and `MEMCLI_HOME` (the folder for",
        "data and config) are read before the config file, which lives in that folder.",
        "`MEMCLI_DB_READ` names a streaming replica of a PostgreSQL `MEMCLI_DB` that serves reads",
        "(docs/postgres.md).",
        "",
    ]
    return lines


def render() -> str:
    head = [
        "# Reference",
        "",
        "Generated from the code by `python -m memcli.cli.reference_doc > docs/reference.md`;",
        "`tests/test_docs.py` fails when it is out of date. The guide, by topic: [guide.md](guide.md).",
        "",
    ]
    return "\n".join(head + _config() + _mcp() + _cli()).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
