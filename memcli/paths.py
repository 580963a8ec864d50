"""Where memcli keeps its files: MEMCLI_DB > MEMCLI_HOME > platformdirs."""

import os
from pathlib import Path

APP = "memcli"


def home_dir() -> Path:
    """Folder for data and config: MEMCLI_HOME, else platformdirs' user data dir."""
    if os.environ.get("MEMCLI_HOME"):
        return Path(os.environ["MEMCLI_HOME"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def db_path() -> Path:
    if os.environ.get("MEMCLI_DB"):
        return Path(os.environ["MEMCLI_DB"]).expanduser()
    return home_dir() / "memcli.db"


def cache_dir() -> Path:
    """Model files and other re-creatable data."""
    if os.environ.get("MEMCLI_HOME"):
        return home_dir() / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP, appauthor=False))


def ensure_private_dir(path: Path) -> None:
    """Create a folder readable only by its owner (conversations are private)."""
    if not path.exists():
        path.mkdir(parents=True, mode=0o700, exist_ok=True)
