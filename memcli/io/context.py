"""`--format context`: recalled messages as a compact dated transcript for a prompt.

Grouped by thread (threads in order of their best hit), messages in time
order inside a thread, so a model reads each conversation as it happened.
"""

from memcli.recall import Hit
from memcli.timefmt import parse


def _stamp(created_at: str) -> str:
    return parse(created_at).strftime("%a %Y-%m-%d %H:%M")


def render(hits: list[Hit], query: str | None = None, memories: list[dict] | None = None) -> str:
    """The transcript; facts memories (Memory.recall_memories' rows) come first, dated."""
    if not hits and not memories:
        return ""
    groups: dict[str, list[Hit]] = {}
    for hit in hits:
        groups.setdefault(hit.message.thread_id, []).append(hit)
    lines = []
    if query:
        lines.append(f"Memories relevant to: {query}")
    if memories:
        lines.append("")
        lines.append("Facts remembered about the user:")
        for m in memories:
            since = f" (since {m['valid_from'][:10]})" if m.get("valid_from") else ""
            lines.append(f"- {m['text']}{since}")
    for thread_id, group in groups.items():
        group.sort(key=lambda h: (h.message.created_at, h.message.rowid or 0))
        lines.append("")
        lines.append(f"From conversation {thread_id} (times UTC):")
        for hit in group:
            text = " ".join(hit.message.content.split())
            lines.append(f"[{_stamp(hit.message.created_at)}] {hit.message.role}: {text}")
    return "\n".join(lines).lstrip("\n") + "\n"
