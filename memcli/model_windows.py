"""Context windows from litellm's own model table, read as JSON (not by importing litellm).

`import litellm` costs seconds; `memcli tokens` needs one number from the
table litellm ships inside its package. The number found for a model is
cached in a small file, keyed to the table file's size and time, so later
commands read a few bytes instead of parsing ~1.5 MB.
"""

import importlib.util
import json
import os
from pathlib import Path

TABLE = "model_prices_and_context_window_backup.json"
DEFAULT_WINDOW = 8192


def _table_path() -> Path | None:
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / TABLE
    return path if path.is_file() else None


def _window(entry: dict) -> int | None:
    value = entry.get("max_input_tokens") or entry.get("max_tokens")
    return int(value) if isinstance(value, int | float) and value > 0 else None


def lookup(model: str, table: dict) -> int | None:
    """litellm's key for the model: as given, without its provider prefix, or with it."""
    candidates = [model]
    if "/" in model:
        candidates.append(model.split("/", 1)[1])
    for key in candidates:
        if isinstance(table.get(key), dict) and _window(table[key]):
            return _window(table[key])
    return None


def context_window(model: str) -> int:
    """The model's input window; DEFAULT_WINDOW when litellm's table does not know it."""
    from memcli.paths import cache_dir, ensure_private_dir

    source = _table_path()
    if source is None:
        return DEFAULT_WINDOW
    stat = source.stat()
    stamp = f"{stat.st_size}:{int(stat.st_mtime)}"
    cache = cache_dir() / "context-windows.json"
    try:
        cached = json.loads(cache.read_text())
        if cached.get("stamp") == stamp and model in cached["windows"]:
            return cached["windows"][model] or DEFAULT_WINDOW
    except (OSError, ValueError, KeyError, TypeError):
        cached = {}
    window = lookup(model, json.loads(source.read_text(encoding="utf-8")))
    windows = cached.get("windows", {}) if cached.get("stamp") == stamp else {}
    windows[model] = window
    try:
        ensure_private_dir(cache.parent)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"stamp": stamp, "windows": windows}))
        os.replace(tmp, cache)  # atomic: concurrent commands never read half a file
    except OSError:
        pass  # a cache, nothing more
    return window or DEFAULT_WINDOW
