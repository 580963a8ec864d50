"""memcli's archive file: one JSON record a line, each with a "type".

Version 2 opens with {"type": "archive", "version": 2} and closes with
{"type": "end", "counts": {type: n}, "sha256": ...} over every line before it,
so a file cut short (`head -n -3`), edited or written by a newer memcli is
refused before anything is restored. Version 1 (no trailer) is still read.

Every record is checked here, with the line it came from: its fields and their
types, versions of a memory in order, and that each record belongs to a
resource or thread the archive itself holds (an observation or a memory
cannot ride into someone else's thread).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from memcli.errors import InputError
from memcli.io import safejson
from memcli.io.jsonl import message_from_obj
from memcli.timefmt import to_stored

VERSION = 2
READABLE = (1, 2)
RECORD_TYPES = (
    "resource",
    "thread",
    "message",
    "working_memory_history",
    "observation",
    "memory_version",
    "extraction_cursor",
)


def _opt(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: v is None or check(v)


def _time(v) -> bool:
    if not isinstance(v, str):
        return False
    try:
        to_stored(v)
    except InputError:
        return False
    return True


_ID = lambda v: isinstance(v, str) and bool(v.strip()) and len(v) <= 512  # noqa: E731
_STR = lambda v: isinstance(v, str)  # noqa: E731
_INT0 = lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**62  # noqa: E731
_INT1 = lambda v: _INT0(v) and v >= 1  # noqa: E731
_DICT = lambda v: isinstance(v, dict)  # noqa: E731
_SCOPE = lambda v: v in ("resource", "thread")  # noqa: E731
_IDS = lambda v: isinstance(v, list) and all(_ID(s) for s in v)  # noqa: E731

# type -> field -> (required, check, what it must be)
FIELDS: dict[str, dict[str, tuple[bool, Callable[[Any], bool], str]]] = {
    "resource": {"id": (True, _ID, "an id"), "working_memory": (False, _opt(_STR), "text")},
    "thread": {
        "id": (True, _ID, "an id"),
        "resource_id": (True, _ID, "an id"),
        "title": (False, _opt(_STR), "text"),
        "metadata": (False, _opt(_DICT), "an object"),
        "cloned_from": (False, _opt(_ID), "an id"),
        "created_at": (False, _opt(_time), "an ISO time"),
        "updated_at": (False, _opt(_time), "an ISO time"),
        "working_memory": (False, _opt(_STR), "text"),
    },
    "working_memory_history": {
        "scope": (True, _SCOPE, "resource or thread"),
        "scope_id": (True, _ID, "an id"),
        "content": (False, _opt(_STR), "text"),
        "source": (True, _STR, "text"),
        "created_at": (True, _time, "an ISO time"),
    },
    "observation": {
        "scope": (True, _SCOPE, "resource or thread"),
        "scope_id": (True, _ID, "an id"),
        "generation": (True, _INT0, "a whole number"),
        "origin": (True, lambda v: v in ("observation", "reflection"), "observation or reflection"),
        "observations": (True, _STR, "text"),
        "current_task": (False, _opt(_STR), "text"),
        "suggested_response": (False, _opt(_STR), "text"),
        "token_count": (False, _opt(_INT0), "a whole number"),
        "observed_tokens": (False, _opt(_INT0), "a whole number"),
        "metadata": (False, _opt(_DICT), "an object"),
        "created_at": (True, _time, "an ISO time"),
        "last_observed_message_id": (False, _opt(_ID), "a message id"),
    },
    "memory_version": {
        "id": (True, _ID, "an id"),
        "resource_id": (True, _ID, "an id"),
        "thread_id": (False, _opt(_ID), "an id"),
        "version": (True, _INT1, "a whole number from 1"),
        "event": (True, lambda v: v in ("ADD", "UPDATE", "DELETE"), "ADD, UPDATE or DELETE"),
        "text": (True, lambda v: isinstance(v, str) and bool(v.strip()), "non-empty text"),
        "category": (False, _opt(_STR), "text"),
        "sources": (False, _opt(_IDS), "a list of message ids"),
        "valid_from": (False, _opt(_time), "an ISO time"),
        "valid_to": (False, _opt(_time), "an ISO time"),
        "expires_at": (False, _opt(_time), "an ISO time"),
        "created_at": (True, _time, "an ISO time"),
        "superseded_at": (False, _opt(_time), "an ISO time"),
        "actor": (False, _opt(_STR), "text"),
    },
    "extraction_cursor": {
        "thread_id": (True, _ID, "an id"),
        "last_message_id": (True, _ID, "a message id"),
    },
}


@dataclass
class Archive:
    """The records of a checked archive, by type, each with its line number."""

    version: int
    records: dict[str, list[tuple[int, dict]]] = field(default_factory=lambda: {t: [] for t in RECORD_TYPES})

    def rows(self, kind: str) -> list[dict]:
        return [r for _, r in self.records[kind]]


class Writer:
    """Writes records, counting them and hashing every line, then the trailer."""

    def __init__(self, target: IO[str], created_at: str):
        self.target, self._hash = target, hashlib.sha256()
        self.counts: dict[str, int] = {}
        self._line({"type": "archive", "version": VERSION, "created_at": created_at})

    def put(self, kind: str, record: dict) -> None:
        self._line({"type": kind, **record})
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def close(self) -> dict[str, int]:
        import json

        end = {"type": "end", "counts": self.counts, "sha256": self._hash.hexdigest()}
        self.target.write(json.dumps(end) + "\n")
        return self.counts

    def _line(self, record: dict) -> None:
        import json

        line = json.dumps(record, ensure_ascii=False) + "\n"
        self._hash.update(line.encode("utf-8"))
        self.target.write(line)


def read(stream: IO[bytes]) -> Archive:
    """Read and check a whole archive; InputError names the line and what is wrong."""
    digest = hashlib.sha256()
    archive: Archive | None = None
    end: dict | None = None
    for number, raw in enumerate(stream, 1):
        if end is not None and raw.strip():
            raise InputError(f"archive line {number}: a record after the archive's end")
        if not raw.strip():
            digest.update(raw)
            continue
        row = safejson.loads(raw, f"archive line {number}")
        kind = row.get("type") if isinstance(row, dict) else None
        if archive is None:
            archive = _header(row, kind)
        elif kind == "end":
            end = row
            continue
        elif kind not in RECORD_TYPES:
            raise InputError(f"archive line {number}: unknown record type {kind!r}")
        else:
            archive.records[kind].append((number, check_record(kind, row, f"archive line {number} ({kind})")))
        digest.update(raw)
    if archive is None:
        raise InputError("not a memcli archive: the file is empty")
    _check_end(archive, end, digest.hexdigest())
    _check_references(archive)
    return archive


def _header(row, kind) -> Archive:
    if kind != "archive":
        raise InputError("not a memcli archive (its first line names it: memcli export --format archive)")
    version = row.get("version")
    if not _INT1(version):
        raise InputError("archive line 1: the archive's version must be a whole number")
    if version > VERSION:
        raise InputError(f"this archive was written by a newer memcli (version {version}); upgrade memcli")
    if version not in READABLE:
        raise InputError(f"archive version {version} cannot be read")
    return Archive(version)


def _check_end(archive: Archive, end: dict | None, digest: str) -> None:
    if end is None:
        if archive.version >= 2:
            raise InputError("the archive is incomplete: its last line (the end record) is missing")
        return
    counts = {kind: len(rows) for kind, rows in archive.records.items() if rows}
    said = end.get("counts")
    if not isinstance(said, dict) or {k: v for k, v in said.items() if v} != counts:
        raise InputError(
            f"the archive is incomplete or altered: its end record counts {said}, found {counts}"
        )
    if end.get("sha256") != digest:
        raise InputError("the archive is altered or damaged: its checksum does not match")


def check_record(kind: str, row: dict, where: str) -> dict:
    """The record, its fields checked; InputError starting with `where` otherwise."""
    if kind == "message":
        try:
            message_from_obj(row)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        return row
    for name, (required, check, what) in FIELDS[kind].items():
        if name not in row or row[name] is None:
            if required:
                raise InputError(f"{where}: {name} is missing")
            continue
        if not check(row[name]):
            raise InputError(f"{where}: {name} must be {what}")
    return row


def _check_references(archive: Archive) -> None:
    """Each record belongs to a resource or thread of the archive itself, messages to their
    thread's resource, and each memory's versions run 1, 2, ... from an ADD."""
    resources = {r["id"] for r in archive.rows("resource")}
    threads: dict[str, str] = {}
    for number, t in archive.records["thread"]:
        if threads.setdefault(t["id"], t["resource_id"]) != t["resource_id"]:
            raise InputError(f"archive line {number}: thread {t['id']} appears with two resources")
        resources.add(t["resource_id"])

    def owner_of(number: int, kind: str, scope: str, scope_id: str) -> str:
        owner = scope_id if scope == "resource" else threads.get(scope_id)
        if owner is None or owner not in resources:
            raise InputError(
                f"archive line {number}: {kind} of {scope} {scope_id}, which the archive does not hold"
            )
        return owner

    for number, m in archive.records["message"]:
        if threads.get(m.get("thread_id")) != m.get("resource_id"):  # type: ignore[arg-type]
            raise InputError(
                f"archive line {number}: message {m.get('id')} is not of a thread of its resource in the archive"
            )
    for kind in ("working_memory_history", "observation"):
        for number, r in archive.records[kind]:
            owner_of(number, kind.replace("_", " "), r["scope"], r["scope_id"])
    for number, c in archive.records["extraction_cursor"]:
        owner_of(number, "extraction cursor", "thread", c["thread_id"])
    for number, v in archive.records["memory_version"]:
        owner_of(number, "memory", "resource", v["resource_id"])
        if v.get("thread_id") is not None and threads.get(v["thread_id"]) != v["resource_id"]:
            raise InputError(f"archive line {number}: memory {v['id']} names a thread not of its resource")
    check_memory_versions(archive.records["memory_version"], "archive line")


def check_memory_versions(numbered: list[tuple[int, dict]], line: str = "line") -> None:
    """Each memory's versions run 1, 2, ... from an ADD, end at most with a DELETE, and
    keep one resource (records already checked by check_record)."""
    seen: dict[str, list[tuple[int, dict]]] = {}
    for number, v in numbered:
        seen.setdefault(v["id"], []).append((number, v))
    for versions in seen.values():
        versions.sort(key=lambda nv: nv[1]["version"])
        for i, (number, v) in enumerate(versions, 1):
            where = f"{line} {number}: memory {v['id']}"
            if v["version"] != i:
                problem = "appears twice" if v["version"] < i else f"is missing (found {v['version']})"
                raise InputError(f"{where} version {i} {problem}")
            if (v["event"] == "ADD") != (i == 1):
                raise InputError(
                    f"{where} version {i} is {v['event']}; a memory starts with ADD, then UPDATE or DELETE"
                )
            if v["event"] == "DELETE" and i != len(versions):
                raise InputError(f"{where} has versions after its DELETE")
            if v["resource_id"] != versions[0][1]["resource_id"]:
                raise InputError(f"{where} changes resource")
