"""Markdown export: readable transcripts that keep every field in HTML comments.

# Trip planning
<!-- memcli:thread {"id": "t1", "resource_id": "alice", ...} -->

## user · 2023-05-08T13:56:00Z
<!-- memcli:message {"id": "m-17", "metadata": {...}} -->

I moved to Lisbon last spring.
"""

import json
from collections.abc import Iterable, Iterator

from memcli.records import Message, Thread


def export(threads: dict[str, Thread], messages: Iterable[Message]) -> Iterator[str]:
    current = None
    for m in messages:
        if m.thread_id != current:
            current = m.thread_id
            thread = threads.get(m.thread_id)
            title = (thread.title if thread else None) or m.thread_id
            head = {"id": m.thread_id, "resource_id": m.resource_id}
            if thread:
                head.update(title=thread.title, metadata=thread.metadata)
            yield f"# {title}\n<!-- memcli:thread {json.dumps(head, ensure_ascii=False)} -->\n\n"
        info = json.dumps({"id": m.id, "metadata": m.metadata}, ensure_ascii=False)
        created = m.to_dict()["created_at"]
        yield f"## {m.role} · {created}\n<!-- memcli:message {info} -->\n\n{m.content}\n\n"
