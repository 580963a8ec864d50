"""Importers from other tools' exports into memcli's JSONL line format.

Each reader returns (lines, titles): lines in the import contract of
docs/design.md (ids derived from the source's own ids, so re-importing changes
nothing) and thread titles. `memcli import --from NAME FILE` feeds the lines
through the same checked, batched import as JSONL.
"""

import json
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from memcli.errors import InputError

FORMATS = ("jsonl", "chatgpt", "claude", "llm", "markdown")


def _epoch(value) -> str | None:
    if value in (None, ""):
        return None
    return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _load_json(path: Path):
    """conversations.json, or the export's zip as downloaded (conversations.json inside)."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == "conversations.json"]
                if not names:
                    raise InputError(f"{path} is a zip without a conversations.json")
                return json.loads(archive.read(names[0]).decode("utf-8"))
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path} is not a JSON export ({exc})") from None


NAMES = {
    "chatgpt": "a ChatGPT export",
    "claude": "a Claude export",
    "llm": "an llm logs.db (or another SQLite file)",
    "markdown": "memcli's Markdown export",
    "archive": "a memcli archive",
    "jsonl": "memcli's JSONL of messages",
}


def sniff(head: bytes) -> str | None:
    """The import format the first bytes of a file show, when they show one."""
    if head.startswith(b"SQLite format 3\x00"):
        return "llm"
    if head.startswith(b"PK\x03\x04"):
        return "chatgpt"  # the ChatGPT export is downloaded as a zip
    text = head.lstrip()
    if text.startswith(b"{"):  # JSON lines: the structure decides, never a message's text
        return "archive" if re.match(rb'\{\s*"type"\s*:\s*"archive"', text) else None
    if text.startswith(b"["):
        if b'"mapping"' in head:
            return "chatgpt"
        if b'"chat_messages"' in head:
            return "claude"
        return None
    if re.search(rb"(?m)^<!-- memcli:thread", head):
        return "markdown"
    return None


def _chatgpt_tip(mapping: dict, current: str | None) -> str | None:
    """current_node, or (when the export has none) the newest leaf of the tree."""
    if current and current in mapping:
        return current
    parents = {node.get("parent") for node in mapping.values()}
    leaves = [nid for nid in mapping if nid not in parents]

    def created(nid):
        return ((mapping[nid].get("message") or {}).get("create_time")) or 0

    return max(leaves, key=lambda nid: (created(nid), nid), default=None)


def chatgpt(path: Path, resource_id: str) -> tuple[list[dict], dict[str, str]]:
    """ChatGPT data export (`conversations.json`, or the zip as downloaded): each
    conversation is a tree of nodes; the visible conversation is the path from the
    root to current_node (the newest leaf when current_node is missing). Tool calls
    the assistant addressed to a tool (recipient other than "all") are not things it
    said and are left out; a message without a time takes the one before it."""
    data = _load_json(path)
    if not isinstance(data, list):
        raise InputError("a ChatGPT export is a JSON list of conversations (conversations.json)")
    lines, titles = [], {}
    for conv in data:
        mapping = conv.get("mapping") or {}
        conv_id = conv.get("conversation_id") or conv.get("id")
        if not conv_id or not mapping:
            continue
        thread = f"chatgpt-{conv_id}"
        titles[thread] = conv.get("title") or None
        node_id, path_ids = _chatgpt_tip(mapping, conv.get("current_node")), []
        while node_id and node_id in mapping and node_id not in path_ids:
            path_ids.append(node_id)
            node_id = mapping[node_id].get("parent")
        previous = conv.get("create_time")
        for node_id in reversed(path_ids):
            msg = mapping[node_id].get("message") or {}
            role = (msg.get("author") or {}).get("role")
            created = msg.get("create_time")
            # a missing time (or one before the previous message) keeps the thread's order
            when = previous if created in (None, "") or (previous and created < previous) else created
            previous = when
            if role == "assistant" and msg.get("recipient") not in (None, "all"):
                continue  # a call to a tool (image prompt, code, browsing), not a reply
            content = msg.get("content") or {}
            parts = content.get("parts") or []
            text = "\n".join(p for p in parts if isinstance(p, str)).strip()
            if role not in ("user", "assistant", "tool", "system") or not text:
                continue
            if role == "system" and (msg.get("metadata") or {}).get("is_visually_hidden_from_conversation"):
                continue
            lines.append(
                {
                    "id": f"chatgpt-{msg.get('id') or node_id}",
                    "thread_id": thread,
                    "resource_id": resource_id,
                    "role": role,
                    "content": text,
                    "created_at": _epoch(when),
                    "metadata": {"source": "chatgpt", "model": (msg.get("metadata") or {}).get("model_slug")},
                }
            )
    return lines, titles  # type: ignore[return-value]


CLAUDE_PLACEHOLDER = "This block is not supported on your current device yet."


def _claude_branch(messages: list[dict]) -> list[dict]:
    """The conversation as last seen: from the newest message back through
    parent_message_uuid (an edited message leaves its old branch out)."""
    by_id = {m.get("uuid"): m for m in messages}
    if not any(m.get("parent_message_uuid") in by_id for m in messages):
        return messages  # an export without parents: its order is the conversation
    tip = max(messages, key=lambda m: (m.get("created_at") or "", m.get("index", 0)))
    branch, seen = [], set()
    while tip is not None and tip.get("uuid") not in seen:
        seen.add(tip.get("uuid"))
        branch.append(tip)
        tip = by_id.get(tip.get("parent_message_uuid"))  # type: ignore[assignment]
    return list(reversed(branch))


def _claude_text(msg: dict) -> str:
    """What was said: text blocks only (no thinking, no placeholders), then attachments."""
    blocks = msg.get("content")
    if blocks:
        texts = [b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text"]
    else:
        texts = [msg.get("text") or ""]
    text = "\n".join(t for t in texts if t.strip() and t.strip() != CLAUDE_PLACEHOLDER).strip()
    for attachment in msg.get("attachments") or []:
        extracted = (attachment or {}).get("extracted_content")
        if extracted:
            text += f"\n\n[attachment: {attachment.get('file_name') or 'file'}]\n{extracted}"
    return text.strip()


def claude(path: Path, resource_id: str) -> tuple[list[dict], dict[str, str]]:
    """Claude export `conversations.json`: the current branch of each conversation."""
    data = _load_json(path)
    if not isinstance(data, list):
        raise InputError("a Claude export is a JSON list of conversations (conversations.json)")
    lines, titles = [], {}
    for conv in data:
        conv_id = conv.get("uuid")
        if not conv_id:
            continue
        thread = f"claude-{conv_id}"
        titles[thread] = conv.get("name") or None
        for msg in _claude_branch(conv.get("chat_messages") or []):
            text = _claude_text(msg)
            if not text:
                continue
            attachments = [a.get("file_name") for a in msg.get("attachments") or [] if isinstance(a, dict)]
            lines.append(
                {
                    "id": f"claude-{msg.get('uuid')}",
                    "thread_id": thread,
                    "resource_id": resource_id,
                    "role": "user" if msg.get("sender") == "human" else "assistant",
                    "content": text,
                    "created_at": msg.get("created_at") or conv.get("created_at"),
                    "metadata": {"source": "claude", **({"attachments": attachments} if attachments else {})},
                }
            )
    return lines, titles  # type: ignore[return-value]


_THREAD = re.compile(r"^<!-- memcli:thread (\{.*\}) -->$")
_HEADING = re.compile(r"^## (system|user|assistant|tool) · (\S+)$")
_MESSAGE = re.compile(r"^<!-- memcli:message (\{.*\}) -->$")


def markdown(path: Path, resource_id: str) -> tuple[list[dict], dict[str, str]]:
    """memcli's own Markdown export (the HTML comments carry every field)."""
    from memcli.io.markdown import unescape_line

    text = path.read_text(encoding="utf-8")
    lines: list[str] = []
    titles: dict[str, str] = {}
    thread = None
    current = None
    body: list[str] = []

    def flush():
        if current is not None:
            current["content"] = "\n".join(body).strip("\n")
            lines.append(current)

    rows = text.split("\n")
    i = 0
    while i < len(rows):
        row = rows[i]
        head = _THREAD.match(row)
        heading = _HEADING.match(row)
        if head:
            flush()
            current, body = None, []
            thread = json.loads(head.group(1))
            titles[thread["id"]] = thread.get("title")
        elif heading and i + 1 < len(rows) and _MESSAGE.match(rows[i + 1]):
            flush()
            info = json.loads(_MESSAGE.match(rows[i + 1]).group(1))  # type: ignore[union-attr]
            current = {
                "id": info["id"],
                "thread_id": thread["id"],  # type: ignore[index]
                "resource_id": thread.get("resource_id") or resource_id,  # type: ignore[union-attr]
                "role": heading.group(1),
                "created_at": heading.group(2),
                "metadata": info.get("metadata") or {},
            }
            body = []
            i += 2
            if i < len(rows) and rows[i] == "":
                i += 1  # the blank line after the comment
            continue
        elif row.startswith("# ") and i + 1 < len(rows) and _THREAD.match(rows[i + 1]):
            flush()
            current, body = None, []
        elif current is not None:
            body.append(unescape_line(row))
        i += 1
    flush()
    if not lines:
        raise InputError(f"{path} holds no memcli Markdown export")
    return lines, titles  # type: ignore[return-value]


def llm_logs(path: Path, resource_id: str) -> tuple[list[dict], dict[str, str]]:
    from memcli.io.llm_logs import read

    return read(path, resource_id)


READERS = {"chatgpt": chatgpt, "claude": claude, "llm": llm_logs, "markdown": markdown}
