"""Markdown export: readable transcripts that keep every field in HTML comments.

# Trip planning
<!-- memcli:thread {"id": "t1", "resource_id": "alice", ...} -->

## user · 2023-05-08T13:56:00Z
<!-- memcli:message {"id": "m-17", "metadata": {...}} -->

I moved to Lisbon last spring.
"""

import json
import re
from collections.abc import Iterable, Iterator

from memcli.records import Message, Thread

# A content line that could pass for one of the export's own lines (a heading, a
# memcli comment) or that starts with the escape itself gets one backslash in
# front; import removes it. Without this, a message could forge messages,
# even in other threads and resources.
_NEEDS_ESCAPE = re.compile(r"^(#|<!--|\\)")


def escape(content: str) -> str:
    return "\n".join("\\" + line if _NEEDS_ESCAPE.match(line) else line for line in content.split("\n"))


def unescape_line(line: str) -> str:
    return line[1:] if line.startswith("\\") else line


def export(threads: dict[str, Thread], messages: Iterable[Message]) -> Iterator[str]:
    current = None
    for m in messages:
        if m.thread_id != current:
            current = m.thread_id
            thread = threads.get(m.thread_id)
            title = (thread.title if thread else None) or m.thread_id
            head = {"id": m.thread_id, "resource_id": m.resource_id}
            if thread:
                head.update(title=thread.title, metadata=thread.metadata)  # type: ignore[call-overload]
            yield f"# {title}\n<!-- memcli:thread {json.dumps(head, ensure_ascii=False)} -->\n\n"
        info = json.dumps({"id": m.id, "metadata": m.metadata}, ensure_ascii=False)
        created = m.to_dict()["created_at"]
        yield f"## {m.role} · {created}\n<!-- memcli:message {info} -->\n\n{escape(m.content)}\n\n"
