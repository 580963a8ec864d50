"""The config file (TOML) in MEMCLI_HOME or platformdirs' config dir.

Precedence everywhere: flag > environment > config file > default.
"""

import os
import sys
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Key:
    env: str | None
    default: Any
    meaning: str
    kind: type = str  # str, int, float or bool: checked on `config set` and when read
    minimum: float | None = None
    choices: tuple[str, ...] | None = None
    fallback_env: tuple[str, ...] = ()  # read after the config file (other tools' variables)


KNOWN: dict[str, Key] = {
    "model": Key("MEMCLI_MODEL", None, "litellm model for chat, observer and reflector"),
    "resource": Key("MEMCLI_RESOURCE", None, "default --resource (unset: 'default', owners unchecked)"),
    "embedding_model": Key("MEMCLI_EMBEDDING_MODEL", None, "fastembed model name"),
    "embedding_model_path": Key("MEMCLI_EMBEDDING_MODEL_PATH", None, "local folder with the model's files"),
    "api_base": Key(
        "MEMCLI_API_BASE",
        None,
        "base URL of an OpenAI-compatible endpoint (else OPENAI_BASE_URL or OPENAI_API_BASE)",
        fallback_env=("OPENAI_BASE_URL", "OPENAI_API_BASE"),
    ),
    "llm.client": Key(
        "MEMCLI_LLM_CLIENT",
        "auto",
        "auto: a light HTTP client for openai/ models at api_base, litellm for the rest; litellm: always",
        choices=("auto", "litellm"),
    ),
    "timeout": Key("MEMCLI_TIMEOUT", 120.0, "seconds to wait for a model's answer", float, 0.1),
    "llm.backoff": Key(
        "MEMCLI_LLM_BACKOFF",
        1.0,
        "seconds before the first retry of a failed model call (doubling)",
        float,
        0.0,
    ),
    "recall.top_k": Key(None, 4, "hits returned by recall", int, 1),
    "recall.message_range": Key(None, 1, "neighbours shown around each hit", int, 0),
    "observation.enabled": Key("MEMCLI_OBSERVATIONAL", True, "observe and reflect after chat turns", bool),
    "observation.message_tokens": Key(
        "MEMCLI_OBSERVATION_TOKENS", 30_000, "unobserved tokens that trigger the Observer", int, 1
    ),
    "observation.model": Key(None, None, "model for the Observer (default: model)"),
    "observation.instruction": Key(
        None, None, "text appended to the Observer's instructions (extends them, never replaces them)"
    ),
    "observation.previous_tokens": Key(
        None, 2_000, "tokens of the earlier log the Observer sees (0: none)", int, 0
    ),
    "observation.continuation_hints": Key(
        None, True, "ask for and keep the current task and suggested response", bool
    ),
    "observation.redact": Key(
        None,
        None,
        "regular expressions blanked to [redacted] in observations before they are saved (a list)",
        list,
    ),
    "observation.hook": Key(
        None, None, "module:function(text, kind) -> text, run on observations before they are saved"
    ),
    "reflection.instruction": Key(None, None, "text appended to the Reflector's instructions"),
    "observation.retrieval": Key(
        None, False, "the chat model gets recall_messages: the raw messages behind its observations", bool
    ),
    "observation.buffer_tokens": Key(
        "MEMCLI_OBSERVATION_BUFFER_TOKENS",
        0,
        "observe ahead in a background process every N unobserved tokens (0: off, observe at the threshold)",
        int,
        0,
    ),
    "observation.buffer_activation": Key(
        None, 0.8, "share of the threshold buffered observations cover; the newest rest stays raw", float, 0.0
    ),
    "observation.block_after": Key(
        None, 1.2, "times the threshold above which a turn waits for the Observer (buffering on)", float, 1.0
    ),
    "observation.activate_after_idle": Key(
        None, 0.0, "seconds of silence after which buffered observations go into the log (0: off)", float, 0.0
    ),
    "observation.manage_working_memory": Key(
        None, False, "the Observer keeps working memory up to date; the chat model only reads it", bool
    ),
    "observation.thread_titles": Key(None, False, "the Observer titles threads that have no title", bool),
    "observation.retrieval_vector": Key(
        None,
        False,
        "observation groups get vectors when written, and recall_messages searches them too",
        bool,
    ),
    "observation.retrieval_instructions": Key(
        None, None, "text appended to the recall_messages tool's description (extends it)"
    ),
    "reflection.observation_tokens": Key(
        "MEMCLI_REFLECTION_TOKENS", 40_000, "log tokens that trigger the Reflector", int, 1
    ),
    "reflection.model": Key(None, None, "model for the Reflector (default: model)"),
    "title.model": Key(None, None, "model that titles new threads (default: model)"),
    "chat.plain": Key(
        "MEMCLI_PLAIN", False, "chat prints replies as plain text (no Markdown) even on a terminal", bool
    ),
    "memories.extract": Key(
        "MEMCLI_EXTRACT_MEMORIES", False, "extract facts memories after each chat turn", bool
    ),
}

_BOOLS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}
MAX_INT = 2**31 - 1  # larger values are typos, and overflow SQLite's bound parameters


def check(key: str, value: Any, where: str) -> Any:
    """The value as its key's type, or UsageError naming where it came from."""
    from memcli.errors import UsageError

    spec = KNOWN[key]
    if value is None:
        return None
    bad = UsageError(f"{key} from {where} must be {_KIND_NAMES[spec.kind]}, not {value!r}")
    if spec.kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _BOOLS:
            return _BOOLS[value.strip().lower()]
        raise bad
    if spec.kind in (int, float):
        if isinstance(value, bool):
            raise bad
        try:
            number = spec.kind(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError, OverflowError):
            raise bad from None
        if number != number or number in (float("inf"), float("-inf")) or abs(number) > MAX_INT:
            raise bad
        if spec.minimum is not None and number < spec.minimum:
            raise UsageError(f"{key} from {where} must be at least {spec.minimum:g}, not {value!r}")
        return number
    if spec.kind is list:  # a TOML array of texts, or one text (from `config set` or a flag)
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
            raise bad
        return tuple(items)
    if not isinstance(value, str) or not value.strip():
        raise bad
    if spec.choices and value not in spec.choices:
        raise UsageError(f"{key} from {where} must be one of {', '.join(spec.choices)}, not {value!r}")
    return value


_KIND_NAMES = {
    str: "a non-empty text",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list of texts",
}


def resolve(key: str) -> tuple[Any, str]:
    """(value, source) with source one of environment, config, default; values are checked."""
    spec = KNOWN[key]
    if spec.env and os.environ.get(spec.env):
        where = f"environment ({spec.env})"
        return check(key, os.environ[spec.env], where), where
    value = get(key)
    if value is not None:
        where = f"config ({config_path()})"
        return check(key, value, where), where
    for name in spec.fallback_env:
        if os.environ.get(name):
            where = f"environment ({name})"
            return check(key, os.environ[name], where), where
    return spec.default, "default"


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
        target[parts[-1]] = check(key, text, "the command line")
    ensure_private_dir(path.parent)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(dumps(data))
    os.replace(tmp, path)  # atomic: a crash never leaves half a config
    return path
