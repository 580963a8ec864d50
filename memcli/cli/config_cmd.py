"""memcli config show|get|set|unset|path"""

from typing import Annotated

import typer

from memcli.cli import output
from memcli.cli.common import JsonOpt, NlOpt

app = typer.Typer(
    help="Settings in a TOML file (flag > environment > config > default).", no_args_is_help=True
)


@app.command("path")
def path() -> None:
    """Print the config file's path."""
    from memcli import config

    print(config.config_path())


@app.command("show")
def show(
    sources: Annotated[bool, typer.Option("--sources", help="Say where each value comes from.")] = False,
    as_json: JsonOpt = False,
    as_nl: NlOpt = False,
) -> None:
    """Every known setting with its effective value."""
    from memcli import config

    rows = []
    for key, spec in config.KNOWN.items():
        value, source = config.resolve(key)
        rows.append({"key": key, "value": value, "source": source, "env": spec.env, "meaning": spec.meaning})
    columns = [("key", "key"), ("value", "value")] + ([("source", "source")] if sources else [])
    columns.append(("meaning", "meaning"))
    output.render(rows, columns, as_json=as_json, as_nl=as_nl)


@app.command("get")
def get(key: Annotated[str, typer.Argument(help="A key such as recall.top_k.")]) -> None:
    """Print one setting's effective value."""
    from memcli import config
    from memcli.errors import UsageError

    if key not in config.KNOWN:
        raise UsageError(f"unknown config key {key!r}; see `memcli config show`")
    value, _ = config.resolve(key)
    print("" if value is None else value)


@app.command("set")
def set_(
    key: Annotated[str, typer.Argument(help="A key such as model or recall.top_k.")],
    value: Annotated[str, typer.Argument(help="The value (numbers and true/false keep their type).")],
) -> None:
    """Write a setting to the config file."""
    from memcli import config

    written = config.set_value(key, value)
    output.notice(f"{key} = {value} in {written}")


@app.command("unset")
def unset(key: Annotated[str, typer.Argument(help="The key to remove.")]) -> None:
    """Remove a setting from the config file (back to the default)."""
    from memcli import config

    config.set_value(key, None)
