"""memcli ask, memcli chat, memcli tokens"""

import json
import sys
from typing import Annotated

import typer

from memcli.cli import output
from memcli.cli.common import complete_resources, complete_threads, open_memory, prompt_with_stdin
from memcli.errors import UsageError

ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="litellm model (default: MEMCLI_MODEL).")]
ThreadOpt = Annotated[
    str | None,
    typer.Option("--thread", "-t", autocompletion=complete_threads, help="Thread to continue or create."),
]
ContinueOpt = Annotated[bool, typer.Option("--continue", "-c", help="Continue the resource's latest thread.")]
ResourceOpt = Annotated[
    str | None,
    typer.Option(
        "--resource", "-r", autocompletion=complete_resources, help="Who is talking (default: default)."
    ),
]
SystemOpt = Annotated[str | None, typer.Option("--system", "-s", help="System prompt.")]
MaxContextOpt = Annotated[
    int | None,
    typer.Option("--max-context", min=256, help="Context window in tokens (default: the model's)."),
]
NoMemoryOpt = Annotated[bool, typer.Option("--no-memory", help="A plain call: no history, recall or memory.")]
NoTitleOpt = Annotated[bool, typer.Option("--no-title", help="Do not title new threads.")]
TitleModelOpt = Annotated[
    str | None,
    typer.Option("--title-model", help="Model for thread titles (default: title.model, else --model)."),
]


def session_options(thread, cont, resource, system, max_context, no_memory, no_title=False, title_model=None):
    """chat_session's keyword arguments from the shared chat flags."""
    if cont and thread:
        raise UsageError("use --thread or --continue, not both")
    return dict(
        thread_id=thread,
        continue_latest=cont,
        resource_id=resource,
        system=system,
        max_context=max_context,
        memory=not no_memory,
        titles=not no_title,
        title_model=title_model,
    )


def ask(
    prompt: Annotated[
        str | None, typer.Argument(help="The message; piped stdin is added after it (or is the message).")
    ] = None,
    model: ModelOpt = None,
    thread: ThreadOpt = None,
    cont: ContinueOpt = False,
    resource: ResourceOpt = None,
    system: SystemOpt = None,
    max_context: MaxContextOpt = None,
    no_memory: NoMemoryOpt = False,
    no_title: NoTitleOpt = False,
    title_model: TitleModelOpt = None,
    show_context: Annotated[
        bool, typer.Option("--show-context", help="Print to stderr exactly what is sent.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Reply, thread, usage and budget as JSON.")] = False,
) -> None:
    """One turn with memory: prints only the reply (streamed), so it scripts well.

    memcli ask "What did I say about Porto?" -r alice

    git diff | memcli ask "Review this" --no-memory
    """
    text = prompt_with_stdin(prompt)
    with open_memory(model=model) as mem:
        session = mem.chat_session(
            **session_options(thread, cont, resource, system, max_context, no_memory, no_title, title_model)
        )
        if show_context:
            plan = session.plan(text)
            sys.stderr.write(json.dumps({"messages": plan.messages, "tools": plan.tools}, indent=2) + "\n")
        streamed = []

        def on_token(token: str) -> None:
            streamed.append(token)
            if not as_json:
                sys.stdout.write(token)
                sys.stdout.flush()

        result = session.send(text, on_token=on_token)
    if not as_json:  # end the reply's line before any notice lands on stderr
        sys.stdout.write(("" if streamed else result.reply) + "\n")
        sys.stdout.flush()
    for notice in result.notices:
        output.warn(notice)
    for line in result.info:
        output.notice(line)
    if as_json:
        output.write_json(
            {
                "reply": result.reply,
                "thread_id": result.thread_id,
                "usage": result.usage,
                "memory_updated": result.memory_updated,
                "title": result.title,
                "context": result.plan.to_dict(),
            }
        )


def tokens(
    thread: ThreadOpt = None,
    resource: ResourceOpt = None,
    model: ModelOpt = None,
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="The message you are about to send.")] = "",
    system: SystemOpt = None,
    max_context: MaxContextOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Output JSON.")] = False,
) -> None:
    """The token budget of the next request, before anything is sent."""
    with open_memory(model=model) as mem:
        report = mem.token_report(
            prompt, **session_options(thread, False, resource, system, max_context, False, True)
        )
    totals = report["thread"]
    if as_json:
        output.write_json(report)
        return
    rows = [{"section": k, "tokens": v} for k, v in report["sections"].items()]
    rows += [
        {"section": "reply reserve", "tokens": report["reserve"]},
        {"section": "total sent", "tokens": report["total"]},
        {"section": "window", "tokens": report["window"]},
    ]
    output.table(rows, [("section", "section"), ("tokens", "tokens")])
    if report["trimmed"]:
        output.notice(f"{len(report['trimmed'])} oldest history messages would be trimmed to fit")
    used = sum(t.get("prompt_tokens", 0) + t.get("completion_tokens", 0) for t in totals["turns"])
    output.notice(
        f"thread: {totals['messages']} messages, {totals['tokens']} tokens stored, "
        f"{len(totals['turns'])} turns used {used} tokens"
    )
