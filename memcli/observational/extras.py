"""What the Observer may keep besides the log: the working memory (Mastra's
`manageWorkingMemory`) and the titles of untitled threads. Both ride on the observation
call (no extra model call) and are written in the generation's own transaction."""

from __future__ import annotations

import json

from memcli import working_memory
from memcli.errors import InputError
from memcli.observational import parse as parsing
from memcli.titles import clean_title

WM_FORM = "\n<working-memory>the user's complete working memory, updated (the same text if nothing changed)</working-memory>"
TITLE_FORM = "\n<thread-title>a short title for this conversation, a few words</thread-title>"
SCHEMA_SETTING = "working_memory_schema"


def prompt_parts(store, options, scope: str, owner: str) -> tuple[list[str], str]:
    """(parts of the user message, lines added to the answer's form)."""
    parts, form = [], ""
    if options.manage_working_memory:
        current = store.working_memory.get("resource", owner) or ""
        parts.append(
            "The user's working memory now (keep it up to date from the new messages):\n"
            f"<working-memory>\n{current.strip()}\n</working-memory>"
        )
        form += WM_FORM
    if options.titles and scope == "thread":
        form += TITLE_FORM
    return parts, form


def parse(text: str, options, scope: str) -> dict:
    return {
        "working_memory": parsing.section(text, "working-memory") if options.manage_working_memory else None,
        "title": parsing.section(text, "thread-title") if options.titles and scope == "thread" else None,
    }


def checked(store, options, extras: dict) -> dict:
    """The extras as they will be saved (transformed, validated); an invalid working memory is
    left out rather than failing the observation."""
    out: dict[str, str | None] = {"working_memory": None, "title": None}
    text = options.transform(extras.get("working_memory"), "observation")
    if text and text.strip():
        schema_text = store.get_setting(SCHEMA_SETTING)
        schema = json.loads(schema_text) if schema_text else None
        try:
            out["working_memory"] = working_memory.replacement(text, schema)
        except InputError:
            pass
    out["title"] = clean_title(options.transform(extras.get("title"), "observation"))
    return out


def write(store, scope: str, scope_id: str, owner: str, extras: dict) -> None:
    """Inside the generation's transaction: a changed working memory, a title for an untitled thread."""
    new = extras.get("working_memory")
    if new and new != store.working_memory.get("resource", owner):
        store.working_memory.set("resource", owner, new, source="observer", owner=owner)
    if extras.get("title") and scope == "thread":
        thread = store.threads.get(scope_id)
        if thread is not None and not thread.title:
            store.threads.update(scope_id, title=extras["title"])
