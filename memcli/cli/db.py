"""memcli db path|stats|backup|doctor"""

from pathlib import Path
from typing import Annotated

import typer

from memcli.cli import environment, output
from memcli.cli.common import JsonOpt, open_memory

app = typer.Typer(
    help="The database (a SQLite file or PostgreSQL): where it is, what it holds, copies, backups, health.",
    no_args_is_help=True,
)


def _db_path() -> str:
    """The database setting as shown to people: a PostgreSQL URL without its password."""
    from memcli import database, paths

    return database.shown(paths.db_path(environment.current.db))


@app.command("path")
def path() -> None:
    """Print the database: the SQLite file's path, or the PostgreSQL URL (password hidden)."""
    print(_db_path())


@app.command("extension")
def extension() -> None:
    """Print the sqlite-vec library's path, for other SQLite tools (--load-extension)."""
    from memcli.memory import Memory

    print(Memory.vector_extension_path())


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


@app.command("copy")
def copy(
    source: Annotated[str, typer.Argument(help="The memory to copy: a SQLite file or a postgresql:// URL.")],
    target: Annotated[
        str, typer.Argument(help="An empty (or new) database to copy it into, of either kind.")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Copy a whole memory between databases, vectors included, checked by counts and checksums.

    \b
      memcli db copy ~/.local/share/memcli/memcli.db postgresql://me@db.internal/memcli
      memcli db copy postgresql://me@db.internal/memcli backup.db
    """
    from memcli import database
    from memcli.errors import InputError
    from memcli.memory import Memory

    if not database.is_url(source) and not Path(source).expanduser().is_file():
        raise InputError(f"no such database file: {source}")  # opening it would create an empty one
    with Memory(source, notice=output.notice) as mem, output.progress("copying") as bar:
        result = mem.copy_to(target, progress=bar, stage=output.notice)
    for line in result["notices"]:
        output.warn(line)
    if as_json:
        output.write_json(result)
    else:
        copied, took = result["tables"], result["seconds"]
        output.notice(
            f"copied {copied['messages']['rows']:,} messages, {copied['threads']['rows']:,} threads and "
            f"{copied['vectors']['rows']:,} vectors to {result['target']} in {took['total_s']:.1f} s "
            f"(rows {took['rows_s']:.1f} s, index {took['index_s']:.1f} s, check {took['check_s']:.1f} s); "
            "counts and checksums match"
        )


@app.command("optimize")
def optimize() -> None:
    """Merge the full-text index, repack vector segments, refresh query statistics (safe any time)."""
    with open_memory() as mem:
        mem.optimize()
    output.notice("optimized")


@app.command("vacuum")
def vacuum() -> None:
    """Rewrite the file to give back free space (after large deletes)."""
    with open_memory() as mem:
        before, after = mem.vacuum()
    output.notice(f"{before:,} -> {after:,} bytes")


@app.command("doctor")
def doctor(as_json: JsonOpt = False) -> None:
    """Check the driver, sqlite-vec, schema, integrity and the embedding model."""
    from memcli.errors import MemcliError
    from memcli.memory import Memory

    checks = Memory.driver_checks()
    if all(c["ok"] for c in checks):
        try:
            with open_memory() as mem:
                checks += mem.doctor()
        except MemcliError as exc:  # doctor reports, it does not crash
            checks.append({"check": "database", "ok": False, "detail": f"{_db_path()}: {exc}"})
    failed = [c for c in checks if not c["ok"]]
    if as_json:
        output.write_json({"ok": not failed, "checks": checks})
    else:
        for c in checks:
            mark = "ok  " if c["ok"] else "FAIL"
            print(f"{mark}  {c['check']}: {c['detail']}")
    if failed:
        raise typer.Exit(1)


@app.command("delete-resource")
def delete_resource(
    resource: Annotated[str, typer.Argument(help="The resource (user) to forget.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete everything a resource owns: threads, messages, vectors, working memory, logs."""
    from memcli.errors import UsageError

    if not yes:
        if not output.stdout_is_tty():
            raise UsageError("deleting a resource needs --yes when not on a terminal")
        if not typer.confirm(f"Delete resource {resource} and everything it owns?"):
            output.notice("nothing deleted")
            return
    with open_memory() as mem:
        removed = mem.delete_resource(resource)
    if as_json:
        output.write_json(removed)
    else:
        output.notice(
            f"deleted resource {resource}: {removed['threads']} threads, {removed['messages']} messages"
        )
