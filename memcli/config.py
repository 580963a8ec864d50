"""The config file (TOML) in MEMCLI_HOME or platformdirs' config dir.

Precedence everywhere: flag > environment > config file > default.
"""

import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any


def config_path() -> Path:
    if os.environ.get("MEMCLI_HOME"):
        return Path(os.environ["MEMCLI_HOME"]).expanduser() / "config.toml"
    if sys.platform.startswith("linux"):
        # platformdirs' XDG rule, without its ~8 ms import on every command
        base = os.environ.get("XDG_CONFIG_HOME", "").strip() or os.path.expanduser("~/.config")
        return Path(base) / "memcli" / "config.toml"
    import platformdirs

    return Path(platformdirs.user_config_dir("memcli", appauthor=False)) / "config.toml"


@lru_cache(maxsize=4)
def _load(path: Path, mtime: float) -> dict:
    import tomllib  # ~15 ms: only paid when a config file exists

    from memcli.errors import UsageError

    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"config file {path} is not valid TOML: {exc}") from None


def get(key: str, default: Any = None) -> Any:
    """A dotted key ('observation.message_tokens') from the config file, else default."""
    path = config_path()
    if not path.is_file():
        return default
    data: Any = _load(path, path.stat().st_mtime)
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return default
        data = data[part]
    return data


# key -> (environment variable or None, default, meaning)
KNOWN: dict[str, tuple[str | None, Any, str]] = {
    "model": ("MEMCLI_MODEL", None, "litellm model for chat, observer and reflector"),
    "resource": ("MEMCLI_RESOURCE", "default", "default --resource"),
    "embedding_model": ("MEMCLI_EMBEDDING_MODEL", None, "fastembed model name"),
    "embedding_model_path": ("MEMCLI_EMBEDDING_MODEL_PATH", None, "local folder with the model's files"),
    "recall.top_k": (None, 4, "hits returned by recall"),
    "recall.message_range": (None, 1, "neighbours shown around each hit"),
    "observation.message_tokens": (
        "MEMCLI_OBSERVATION_TOKENS",
        30_000,
        "unobserved tokens that trigger the Observer",
    ),
    "observation.model": (None, None, "model for the Observer (default: model)"),
    "reflection.observation_tokens": (
        "MEMCLI_REFLECTION_TOKENS",
        40_000,
        "log tokens that trigger the Reflector",
    ),
    "reflection.model": (None, None, "model for the Reflector (default: model)"),
}


def resolve(key: str) -> tuple[Any, str]:
    """(value, source) with source one of environment, config, default."""
    env, default, _ = KNOWN.get(key, (None, None, ""))
    if env and os.environ.get(env):
        return os.environ[env], f"environment ({env})"
    value = get(key)
    if value is not None:
        return value, f"config ({config_path()})"
    return default, "default"


def _parse_value(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def dumps(data: dict) -> str:
    """TOML for a dict of scalars and one level of tables (all memcli needs)."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for table, values in data.items():
        if isinstance(values, dict):
            lines.append(f"\n[{table}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines).strip() + "\n"


def set_value(key: str, text: str | None) -> Path:
    """Set (or with None, remove) a dotted key; the file is created 0600 in a 0700 folder."""
    from memcli.errors import UsageError
    from memcli.paths import ensure_private_dir

    if key not in KNOWN:
        raise UsageError(f"unknown config key {key!r}; known keys: {', '.join(KNOWN)}")
    path = config_path()
    data = dict(_load(path, path.stat().st_mtime)) if path.is_file() else {}
    parts = key.split(".")
    target = data
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    if text is None:
        target.pop(parts[-1], None)
    else:
        target[parts[-1]] = _parse_value(text)
    ensure_private_dir(path.parent)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(dumps(data))
    os.replace(tmp, path)  # atomic: a crash never leaves half a config
    return path
