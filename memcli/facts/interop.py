"""Reading memories from files: memcli's own memory JSONL (every version), or a Mem0
`get_all` dump (current memories only: Mem0 keeps no versions there)."""

import hashlib
from pathlib import Path

from memcli.errors import InputError
from memcli.io import safejson
from memcli.io.archive_format import check_memory_versions, check_record


def read_memories(path: Path, resource_id: str) -> tuple[str, list[dict]]:
    """("versions", memory_version records) for memcli JSONL, or ("mem0", add_memory
    keyword arguments) for a Mem0 dump; InputError names the line and what is wrong."""
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    stripped = text.lstrip()
    if stripped.startswith("[") or (stripped.startswith("{") and '"results"' in stripped[:2000]):
        try:
            data = safejson.loads(text)
        except InputError:
            data = None
        if data is not None:
            return "mem0", _mem0(data, resource_id)
    return "versions", _jsonl(text, resource_id)


def _jsonl(text: str, resource_id: str) -> list[dict]:
    numbered = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        row = safejson.loads(line, f"line {number}")
        if not isinstance(row, dict):
            raise InputError(f"line {number}: a memory version is a JSON object")
        row.setdefault("resource_id", resource_id)
        check_record("memory_version", row, f"line {number}")
        if row["resource_id"] != resource_id:
            raise InputError(f"line {number}: memory {row['id']} is another resource's, not {resource_id}'s")
        numbered.append((number, row))
    check_memory_versions(numbered)
    return [row for _, row in numbered]


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
                "memory_id": _mem0_id(resource_id, item.get("id") or i),
                "text": item["memory"],
                "resource_id": resource_id,
                "category": categories[0] if categories and isinstance(categories[0], str) else None,
                "valid_from": item.get("created_at") if isinstance(item.get("created_at"), str) else None,
                "expires_at": item.get("expiration_date")
                if isinstance(item.get("expiration_date"), str)
                else None,
                "sources": [],
                "actor": "import (mem0)",
            }
        )
    return out


def _mem0_id(resource_id: str, mem0_id) -> str:
    """A memcli id per (resource, Mem0 id): the same dump imported for two users gives
    each their own memories, and importing it twice for one changes nothing."""
    digest = hashlib.sha256(f"{resource_id}\x00{mem0_id}".encode()).hexdigest()[:16]
    return f"mem0-{digest}"
