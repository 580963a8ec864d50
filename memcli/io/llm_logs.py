"""simonw/llm's logs.db, every schema from 0.13 to the current one.

Until 0.32 llm logged each call as a row of `responses` (prompt, system,
response) in a `conversations` row; fragments (0.24+) in `prompt_fragments`
and `system_fragments`. From 0.32.1 it logs a content-addressed message tree:
`threads` (with a tip message), `messages` (hash, parent, role), their
`parts` (text, or a payload of fragment references and literals) and
`turns` (one model call, with its time). A database upgraded across both
keeps the old rows and adds new ones; both are read, a turn and a response
with the same id only once. Ids are derived from llm's own, so importing the
same file again changes nothing.
"""

import json
import sqlite3
from pathlib import Path

from memcli.errors import InputError


def read(path: Path, resource_id: str) -> tuple[list[dict], dict[str, str]]:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "responses" not in tables and "turns" not in tables:
            raise InputError(f"{path} is not an llm logs.db (no responses or turns table)")
        fragments = _fragments(conn, tables)
        lines: list[dict] = []
        titles: dict[str, str] = {}
        seen: set[str] = set()
        if "turns" in tables:
            _turns(conn, fragments, resource_id, lines, titles, seen)
        _responses(conn, tables, fragments, resource_id, lines, titles, seen)
        conn.close()
    except sqlite3.Error as exc:
        raise InputError(f"{path} is not an llm logs.db ({exc})") from None
    return lines, titles


def _when(text: str | None) -> str | None:
    """llm wrote '2024-05-08T13:56:00.123', '... 13:56:00+00:00' or with a 'T': all ISO."""
    return text.replace(" ", "T", 1) if text else None


def _fragments(conn, tables) -> dict[int, str]:
    if "fragments" not in tables:
        return {}
    return {r[0]: r[1] for r in conn.execute("SELECT id, content FROM fragments")}


def _line(mid, thread, resource_id, role, text, created, metadata) -> dict:
    return {
        "id": mid,
        "thread_id": thread,
        "resource_id": resource_id,
        "role": role,
        "content": text,
        "created_at": created,
        "metadata": {"source": "llm", **{k: v for k, v in metadata.items() if v}},
    }


def _responses(conn, tables, fragments, resource_id, lines, titles, seen) -> None:
    """The pre-0.32.1 schema: one row per call."""
    if "responses" not in tables:
        return
    names = (
        {r[0]: r[1] for r in conn.execute("SELECT id, name FROM conversations")}
        if "conversations" in tables
        else {}
    )
    used: dict[str, dict] = {"prompt": {}, "system": {}}
    for kind in used:
        table = f"{kind}_fragments"
        if table in tables:
            for rid, fid in conn.execute(f'SELECT response_id, fragment_id FROM {table} ORDER BY "order"'):
                used[kind].setdefault(rid, []).append(fragments.get(fid, ""))
    last_system: dict[str, str] = {}
    rows = conn.execute(
        "SELECT id, model, prompt, system, response, conversation_id, datetime_utc FROM responses "
        "ORDER BY datetime_utc, id"
    ).fetchall()
    for rid, model, prompt, system, response, conv_id, when in rows:
        if rid in seen:
            continue
        thread = f"llm-{conv_id or rid}"
        titles.setdefault(thread, names.get(conv_id) or None)
        created = _when(when)
        system_text = "\n".join([*used["system"].get(rid, []), system or ""]).strip()
        if system_text and last_system.get(thread) != system_text:
            last_system[thread] = system_text
            lines.append(
                _line(
                    f"llm-{rid}-system", thread, resource_id, "system", system_text, created, {"model": model}
                )
            )
        prompt_text = "\n".join([*used["prompt"].get(rid, []), prompt or ""]).strip()
        meta = {"model": model, "fragments": len(used["prompt"].get(rid, []))}
        for suffix, role, text in (("prompt", "user", prompt_text), ("response", "assistant", response)):
            if text and text.strip():
                lines.append(_line(f"llm-{rid}-{suffix}", thread, resource_id, role, text, created, meta))


def _part_text(text: str | None, payload: str | None, fragments: dict[int, str]) -> str:
    if text is not None:
        return text
    try:
        refs = (json.loads(payload) if payload else {}).get("text_ref") or []
    except (json.JSONDecodeError, AttributeError):
        return ""
    out = []
    for ref in refs:
        if isinstance(ref, dict) and "fragment" in ref:
            out.append(fragments.get(ref["fragment"], ""))
        elif isinstance(ref, dict) and "literal" in ref:
            out.append(str(ref["literal"]))
    return "".join(out)


def _turns(conn, fragments, resource_id, lines, titles, seen) -> None:
    """The 0.32.1+ schema: each thread is the path from its tip message to the root."""
    parents = {h: p for h, p in conn.execute("SELECT hash, parent_hash FROM messages")}
    roles = {h: r for h, r in conn.execute("SELECT hash, role FROM messages")}
    texts: dict[str, list[str]] = {}
    for mhash, ptype, text, payload in conn.execute(
        "SELECT message_hash, type, text, payload FROM parts ORDER BY message_hash, position"
    ):
        if ptype == "text":
            texts.setdefault(mhash, []).append(_part_text(text, payload, fragments))
    turns = conn.execute(
        "SELECT id, thread_id, parent_message_hash, tip_message_hash, model, datetime_utc FROM turns "
        "ORDER BY datetime_utc, id"
    ).fetchall()
    for tid, name, tip in conn.execute(
        "SELECT id, name, tip_message_hash FROM threads ORDER BY datetime_utc, id"
    ):
        thread = f"llm-{tid}"
        titles.setdefault(thread, name or None)
        path, node = [], tip
        while node is not None and node not in path:
            path.append(node)
            node = parents.get(node)
        path.reverse()
        # which turn wrote each message: from the turn's parent (exclusive) to its tip
        written: dict[str, tuple] = {}
        for turn_id, turn_thread, parent, turn_tip, model, when in turns:
            if turn_thread != tid or turn_tip not in path:
                continue
            seen.add(turn_id)
            start = path.index(parent) + 1 if parent in path else 0
            for mhash in path[start : path.index(turn_tip) + 1]:
                written.setdefault(mhash, (_when(when), model))
        first = next(iter(written.values()), (None, None))
        for mhash in path:
            text = "".join(texts.get(mhash, [])).strip()
            role = roles.get(mhash)
            if not text or role not in ("system", "user", "assistant", "tool"):
                continue
            created, model = written.get(mhash, first)
            lines.append(
                _line(f"llm-{tid}-{mhash}", thread, resource_id, role, text, created, {"model": model})
            )
