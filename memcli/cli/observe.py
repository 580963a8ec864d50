"""memcli observe, memcli reflect, memcli observations show|history"""

import json
from typing import Annotated

import typer

from memcli.cli import output
from memcli.cli.common import JsonOpt, NlOpt, complete_resources, complete_threads, open_memory
from memcli.errors import UsageError

app = typer.Typer(help="The observation log kept by the Observer and the Reflector.", no_args_is_help=True)

ThreadOpt = Annotated[
    str | None,
    typer.Option("--thread", "-t", autocompletion=complete_threads, help="Thread scope (default scope)."),
]
ResourceOpt = Annotated[
    str | None,
    typer.Option(
        "--resource",
        "-r",
        autocompletion=complete_resources,
        help="With --thread: check the owner; alone: resource scope.",
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="litellm model (default: config observation.model / reflection.model, else model).",
    ),
]


def _scope(thread, resource) -> dict:
    if not thread and not resource:
        raise UsageError("give --thread T (thread scope) or --resource R (resource scope)")
    return {"thread_id": thread, "resource_id": resource}


def _scope_label(scope: dict) -> tuple[str, str]:
    return ("thread", scope["thread_id"]) if scope["thread_id"] else ("resource", scope["resource_id"])


def observe(
    thread: ThreadOpt = None,
    resource: ResourceOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Observe even below the threshold.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the prompts and token counts only.")
    ] = False,
    threshold: Annotated[
        int | None, typer.Option("--threshold", min=1, help="Unobserved tokens that trigger it (30000).")
    ] = None,
    model: ModelOpt = None,
    buffer: Annotated[
        bool,
        typer.Option(
            "--buffer",
            help="Observe ahead into buffered observations (what the background observer runs; "
            "observation.buffer_tokens).",
        ),
    ] = False,
    activate: Annotated[
        bool, typer.Option("--activate", help="Put buffered observations into the log now (no model call).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the Observer now: compress unobserved messages into the observation log."""
    where = _scope(thread, resource)
    scope, scope_id = _scope_label(where)
    if buffer or activate:
        return _buffering(where, scope, scope_id, buffer, force, threshold, model, as_json)
    with open_memory() as mem:
        with output.progress("observing", enabled=not dry_run):
            result = mem.observe(**where, force=force, dry_run=dry_run, threshold=threshold, model=model)
    if dry_run:
        from memcli.context import message_tokens

        prompts = [{"messages": p, "tokens": sum(message_tokens(m) for m in p)} for p in result.prompts]
        if as_json:
            output.write_json(prompts)
        else:
            for p in prompts:
                print(json.dumps(p["messages"], indent=2, ensure_ascii=False))
                output.notice(f"this call would send {p['tokens']} tokens")
        return
    report = {
        "scope": scope,
        "id": scope_id,
        "observed_messages": result.observed_messages,
        "observed_tokens": result.observed_tokens,
        "generations": result.generations,
        "skipped": result.skipped,
    }
    if as_json:
        output.write_json(report)
    elif result.skipped:
        output.notice(f"nothing observed: {result.skipped}")
    else:
        output.notice(f"observed {result.observed_messages} messages ({result.observed_tokens} tokens)")


def _buffering(where, scope, scope_id, buffer, force, threshold, model, as_json) -> None:
    with open_memory() as mem:
        if buffer:
            done = mem.observe(**where, buffer=True, force=force, threshold=threshold, model=model)
            report = {"scope": scope, "id": scope_id, **done.__dict__}
            line = done.skipped or f"buffered {done.buffered_messages} messages in {done.chunks} chunks"
        else:
            count = mem.activate_observations(**where)
            report = {"scope": scope, "id": scope_id, "activated": count}
            line = f"activated {count} buffered observations" if count else "nothing buffered to activate"
    if as_json:
        output.write_json(report)
    else:
        output.notice(line)


def reflect(
    thread: ThreadOpt = None,
    resource: ResourceOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Reflect even below the threshold.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say whether it would run.")] = False,
    threshold: Annotated[
        int | None, typer.Option("--threshold", min=1, help="Log tokens that trigger it (40000).")
    ] = None,
    model: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the Reflector now: condense an observation log that has grown too long."""
    where = _scope(thread, resource)
    scope, scope_id = _scope_label(where)
    with open_memory() as mem:
        with output.progress("reflecting", enabled=not dry_run):
            result = mem.reflect(**where, force=force, dry_run=dry_run, threshold=threshold, model=model)
    report = {
        "scope": scope,
        "id": scope_id,
        "before_tokens": result.before_tokens,
        "after_tokens": result.after_tokens,
        "attempts": result.attempts,
        "attempt_tokens": result.attempt_tokens,
        "generation": result.generation,
        "skipped": result.skipped,
    }
    if as_json:
        output.write_json(report)
    elif result.generation is None:
        output.notice(f"log unchanged: {result.skipped}")
    else:
        output.notice(
            f"reflected {result.before_tokens} -> {result.after_tokens} tokens in {result.attempts} attempts"
        )


@app.command("show")
def show(
    thread: ThreadOpt = None,
    resource: ResourceOpt = None,
    sources: Annotated[
        bool, typer.Option("--sources", help="Also list the messages each generation was made from.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The active observation log, current task and suggested response.

    With --sources, each observation generation's messages (open them with
    `memcli ui`, or a model with the recall_messages tool: observation.retrieval)."""
    where = _scope(thread, resource)
    with open_memory() as mem:
        latest = mem.get_observations(**where)
        found = (
            {
                g.generation: mem.observation_sources(g.generation, **where, limit=10_000)
                for g in mem.observation_history(**where)
            }
            if sources
            else {}
        )
    if as_json:
        data = None if latest is None else dict(latest.__dict__)
        if data is not None and sources:
            data["sources"] = {str(g): [m.to_dict() for m in ms] for g, ms in found.items() if ms}
        output.write_json(data)
        return
    if latest is None:
        output.notice("no observations yet")
        return
    print(latest.observations)
    if latest.current_task:
        print(f"\nCurrent task: {latest.current_task}")
    if latest.suggested_response:
        print(f"Suggested response: {latest.suggested_response}")
    for generation, messages in found.items():
        if messages:
            print(
                f"\nGeneration {generation}: {len(messages)} messages, {messages[0].created_at} to {messages[-1].created_at}"
            )
            for m in messages:
                print(f"  {m.id}  {m.role}: {' '.join(m.content.split())[:100]}")


@app.command("history")
def history(
    thread: ThreadOpt = None, resource: ResourceOpt = None, as_json: JsonOpt = False, as_nl: NlOpt = False
) -> None:
    """Every generation with token counts, compression ratios, and what each model run
    took in and gave out (tokens_in, tokens_out; empty for runs before they were kept)."""
    with open_memory() as mem:
        records = mem.observation_history(**_scope(thread, resource))
    rows = []
    for r in records:
        ratio = round(r.observed_tokens / r.token_count, 2) if r.token_count else None
        rows.append(
            {
                "generation": r.generation,
                "origin": r.origin,
                "tokens": r.token_count,
                "observed_tokens": r.observed_tokens,
                "compression": ratio,
                "tokens_in": r.metadata.get("tokens_in"),
                "tokens_out": r.metadata.get("tokens_out"),
                "created_at": r.created_at,
            }
        )
    output.render(
        rows,
        [
            ("generation", "gen"),
            ("origin", "origin"),
            ("tokens", "log tokens"),
            ("observed_tokens", "observed"),
            ("compression", "ratio"),
            ("tokens_in", "model in"),
            ("tokens_out", "model out"),
            ("created_at", "time"),
        ],
        as_json=as_json,
        as_nl=as_nl,
    )
