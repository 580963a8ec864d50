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


def db_path(value: str | Path | None = None) -> Path | str:
    """The database: the given value, else MEMCLI_DB, else the home folder's file;
    checked by `memcli.database.target` (a URL stays text: Path would fold its '//')."""
    from memcli import database

    value = value if value else os.environ.get("MEMCLI_DB")
    if not value:
        return home_dir() / "memcli.db"
    return database.target(value).location


def cache_dir() -> Path:
    """Model files and other re-creatable data."""
    if os.environ.get("MEMCLI_HOME"):
        return home_dir() / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP, appauthor=False))


def ensure_private_dir(path: Path) -> None:
    """Create a folder readable only by its owner (conversations are private)."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):  # each one 0700: mkdir(parents=True) gives parents the umask's mode
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(folder, 0o700)  # a umask cannot widen it, but be explicit
