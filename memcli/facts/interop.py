"""Reading memories from files: memcli's own memory JSONL, or a Mem0 `get_all` dump."""

import json
from pathlib import Path

from memcli.errors import InputError


def read_memories(path: Path, resource_id: str) -> list[dict]:
    """add_memory keyword arguments, one per memory still current in the file."""
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    stripped = text.lstrip()
    if stripped.startswith("[") or (stripped.startswith("{") and '"results"' in stripped[:2000]):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if data is not None:
            return _mem0(data, resource_id)
    return _jsonl(text, resource_id)


def _jsonl(text: str, resource_id: str) -> list[dict]:
    latest: dict[str, dict] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"line {number}: malformed JSON ({exc.msg})") from None
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("id"), str)
            or not isinstance(row.get("text"), str)
        ):
            raise InputError(f'line {number}: a memory needs "id" and "text"')
        if row.get("resource_id") not in (None, resource_id):
            raise InputError(
                f"line {number}: memory {row['id']} belongs to {row['resource_id']}, not {resource_id}"
            )
        previous = latest.get(row["id"])
        if previous is None or int(row.get("version") or 0) >= int(previous.get("version") or 0):
            latest[row["id"]] = row
    return [
        {
            "memory_id": row["id"],
            "text": row["text"],
            "resource_id": resource_id,
            "category": row.get("category"),
            "valid_from": row.get("valid_from"),
            "expires_at": row.get("expires_at"),
            "sources": [s for s in row.get("sources") or [] if isinstance(s, str)],
            "actor": "import",
        }
        for row in latest.values()
        if row.get("event") != "DELETE"
    ]


def _mem0(data, resource_id: str) -> list[dict]:
    items = data.get("results") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InputError('a Mem0 dump is a list of memories or {"results": [...]}')
    out = []
    for i, item in enumerate(items, 1):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("memory"), str)
            or not item["memory"].strip()
        ):
            raise InputError(f'Mem0 memory {i}: needs a "memory" text')
        categories = item.get("categories") or (item.get("metadata") or {}).get("categories") or []
        out.append(
            {
                "memory_id": f"mem0-{item.get('id') or i}",
                "text": item["memory"],
                "resource_id": resource_id,
                "category": categories[0] if categories and isinstance(categories[0], str) else None,
                "valid_from": item.get("created_at"),
                "expires_at": item.get("expiration_date"),
                "sources": [],
                "actor": "import (mem0)",
            }
        )
    return out
