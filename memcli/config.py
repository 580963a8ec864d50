"""The config file (TOML) in MEMCLI_HOME or platformdirs' config dir.

Precedence everywhere: flag > environment > config file > default.
"""

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any


def config_path() -> Path:
    if os.environ.get("MEMCLI_HOME"):
        return Path(os.environ["MEMCLI_HOME"]).expanduser() / "config.toml"
    import platformdirs

    return Path(platformdirs.user_config_dir("memcli", appauthor=False)) / "config.toml"


@lru_cache(maxsize=4)
def _load(path: Path, mtime: float) -> dict:
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
