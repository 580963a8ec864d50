"""memcli db path|stats|backup|doctor"""

from pathlib import Path
from typing import Annotated

import typer

from memcli.cli import output
from memcli.cli.common import STATE, JsonOpt, open_memory

app = typer.Typer(help="The SQLite file: where it is, what it holds, backups, health.", no_args_is_help=True)


def _db_path() -> Path:
    from memcli import paths

    return Path(STATE["db"]) if STATE["db"] else paths.db_path()


@app.command("path")
def path() -> None:
    """Print the database file's path."""
    print(_db_path())


@app.command("stats")
def stats(as_json: JsonOpt = False) -> None:
    """Counts of resources, threads, messages, tokens and vectors, and file size."""
    with open_memory() as mem:
        data = mem.stats()
    if as_json:
        output.write_json(data)
    else:
        output.table([{"key": k, "value": v} for k, v in data.items()], [("key", "stat"), ("value", "value")])


@app.command("backup")
def backup(target: Annotated[Path, typer.Argument(help="New file to write the snapshot to.")]) -> None:
    """Write a consistent snapshot (safe while other processes write)."""
    with open_memory() as mem:
        mem.backup(target)
    output.notice(f"backed up to {target}")


@app.command("optimize")
def optimize() -> None:
    """Merge the full-text index, repack vector segments, refresh query statistics (safe any time)."""
    with open_memory() as mem:
        mem.store.optimize()
    output.notice("optimized")


@app.command("vacuum")
def vacuum() -> None:
    """Rewrite the file to give back free space (after large deletes)."""
    db = _db_path()
    before = db.stat().st_size if db.exists() else 0
    with open_memory() as mem:
        mem.store.vacuum()
    output.notice(f"{before:,} -> {db.stat().st_size:,} bytes")


@app.command("doctor")
def doctor(as_json: JsonOpt = False) -> None:
    """Check the driver, sqlite-vec, schema, integrity and the embedding model."""
    from memcli.store.connection import load_vec, sqlite_module

    module = sqlite_module()
    checks = []

    def check(name, ok, detail):
        checks.append({"check": name, "ok": bool(ok), "detail": detail})

    check("sqlite driver", True, f"{module.__name__} (SQLite {module.sqlite_version})")
    probe = module.connect(":memory:")
    vec_error = load_vec(probe)
    probe.close()
    check("sqlite-vec", vec_error is None, vec_error or "loads")
    db = _db_path()
    if vec_error is None:
        try:
            with open_memory() as mem:
                check("database", True, str(db))
                check("integrity", mem.store.integrity_check() == "ok", mem.store.integrity_check())
                check("orphaned vectors", mem.store.vectors.orphans() == 0, str(mem.store.vectors.orphans()))
                status = mem.embedding_status()
                spec = status["configured"]
                check(
                    "embedding model",
                    status["present"],
                    f"{spec['name']} ({spec['source']}{', ' + spec['path'] if spec['path'] else ''})"
                    + ("" if status["present"] else " not present: keyword recall only"),
                )
                check(
                    "vectors match model",
                    not status["mismatch"],
                    f"stored {status['stored_model']}" if status["stored_model"] else "no vectors yet",
                )
        except Exception as exc:  # doctor reports, it does not crash
            check("database", False, f"{db}: {exc}")
    failed = [c for c in checks if not c["ok"]]
    if as_json:
        output.write_json({"ok": not failed, "checks": checks})
    else:
        for c in checks:
            mark = "ok  " if c["ok"] else "FAIL"
            print(f"{mark}  {c['check']}: {c['detail']}")
    if failed:
        raise typer.Exit(1)
