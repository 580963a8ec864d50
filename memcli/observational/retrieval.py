"""Observations that point back to their messages (Mastra's `retrieval` option).

The model gets a `recall_messages` tool: it opens the raw messages behind an observation
generation, pages through a thread, or searches, a page at a time with a cursor. The
observations block tells it which generation covers which stretch of time.
"""

from __future__ import annotations

from datetime import datetime

TOOL_NAME = "recall_messages"
PAGE = 20
DESCRIPTION = (
    "Read the raw messages behind your observations. Give `generation` to open the messages an "
    "observation generation was made from (see the sources list under your observations), "
    "`thread_id` to page through a thread, or `query` to search this user's messages. Results "
    "come a page at a time; pass `cursor` from the last answer for the next page."
)


def tool_definition(extra: str | None = None) -> dict:
    """The tool for the chat model; config's instructions extend its description, never replace it."""
    description = DESCRIPTION + (f"\n\n{extra.strip()}" if extra and extra.strip() else "")
    return {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {
                    "generation": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "An observation generation.",
                    },
                    "scope": {
                        "type": "string",
                        "enum": ["thread", "resource"],
                        "description": "Whose log the generation is in: this thread's (default) or the user's.",
                    },
                    "thread_id": {"type": "string", "description": "A thread to page through."},
                    "query": {"type": "string", "description": "Words or a question to search for."},
                    "cursor": {"type": "string", "description": "From the previous answer: the next page."},
                },
            },
        },
    }


def run(memory, arguments: dict, *, resource_id: str | None, thread_id: str | None) -> dict:
    """A recall_messages call, checked, through Memory.open_messages (owners checked there)."""
    from memcli.errors import InputError

    generation = arguments.get("generation")
    if generation is not None and (isinstance(generation, bool) or not isinstance(generation, int)):
        raise InputError("generation must be a whole number")
    where: dict = {}
    if arguments.get("thread_id"):
        where["thread_id"] = str(arguments["thread_id"])
    elif generation is not None and arguments.get("scope", "thread") == "thread" and thread_id:
        where["thread_id"] = thread_id
    query = arguments.get("query")
    cursor = arguments.get("cursor")
    return memory.open_messages(
        generation=generation,
        query=str(query) if query else None,
        cursor=str(cursor) if cursor not in (None, "") else None,
        resource_id=resource_id,
        **where,
    )


def sources_legend(memory, resource_id: str | None, thread_id: str | None) -> str | None:
    """Which generation covers which messages, for the observations block."""
    logs = [("resource", memory.observation_history(resource_id=resource_id))]
    if thread_id:
        logs.insert(0, ("thread", memory.observation_history(thread_id=thread_id)))
    lines = []
    for scope_name, record_list in logs:
        for r in record_list:
            first, last = r.metadata.get("first_message_at"), r.metadata.get("last_message_at")
            if r.origin != "observation" or not first or not last:
                continue
            lines.append(
                f"- {scope_name} generation {r.generation}: messages of {_when(first)} to {_when(last)}"
            )
    if not lines:
        return None
    return "Sources (open them with recall_messages):\n" + "\n".join(lines)


def _when(stamp: str) -> str:
    from memcli.timefmt import parse

    moment: datetime = parse(stamp)
    return moment.strftime("%b %-d, %Y %H:%M")


# ---- observation groups indexed for semantic recall (observation.retrieval_vector) ----------


def group(text: str, first_rowid: int, last_rowid: int, vectors) -> dict:
    """One observation group as a generation records it: its text, the messages it came from,
    and (with observation.retrieval_vector) its vector, made when it was written."""
    import base64

    out = {"text": text, "first_rowid": first_rowid, "last_rowid": last_rowid}
    if vectors is not None:
        model, blobs = vectors
        out.update(model=model, vector=base64.b64encode(blobs[0]).decode("ascii"))
    return out


def best_groups(logs: list[tuple[str, list]], query_vector: bytes, model: str, top: int = 3) -> list[dict]:
    """The groups closest in meaning to the query, across the given scopes' generations."""
    import base64

    import numpy as np

    wanted = np.frombuffer(query_vector, dtype=np.float32)
    found = []
    for scope_name, records in logs:
        for record in records:
            for g in record.metadata.get("groups", []):
                if g.get("model") != model or not g.get("vector"):
                    continue  # another model's vector is never compared
                vector = np.frombuffer(base64.b64decode(g["vector"]), dtype=np.float32)
                if vector.shape != wanted.shape:
                    continue
                found.append((float(vector @ wanted), scope_name, record.scope_id, record.generation, g))
    found.sort(key=lambda f: -f[0])
    return [
        {"score": round(score, 4), "scope": scope, "scope_id": scope_id, "generation": generation, **g}
        for score, scope, scope_id, generation, g in found[:top]
    ]
