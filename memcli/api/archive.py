"""Everything a resource owns, as one JSONL archive, and back: lossless.

JSONL of messages carries messages only; an archive also carries threads
(titles, metadata, lineage, empty ones too), working memory with its
history, observation logs (cursors as message ids) and facts memories with
every version. One record a line, each with a "type". Importing an archive
twice changes nothing.
"""

from __future__ import annotations

import io
import json
from typing import IO

from memcli.errors import InputError, OwnershipError
from memcli.records import Thread
from memcli.timefmt import now

ARCHIVE_VERSION = 1
TYPES = (
    "archive",
    "resource",
    "thread",
    "message",
    "working_memory_history",
    "observation",
    "memory_version",
)


class ArchiveAPI:
    def export_archive(self, target: IO[str], *, resource_id: str | None = None) -> dict:
        """Write an archive of one resource (or of all); returns how many records of each type."""

        counts: dict[str, int] = {}

        def put(kind: str, record: dict) -> None:
            target.write(json.dumps({"type": kind, **record}, ensure_ascii=False) + "\n")
            counts[kind] = counts.get(kind, 0) + 1

        owner = self._checked_owner(resource_id)
        put("archive", {"version": ARCHIVE_VERSION, "created_at": now()})
        resources = [owner] if owner else self.store.threads.ids_starting("resources", "", limit=2**62)
        for rid in resources:
            put("resource", {"id": rid, "working_memory": self.store.working_memory.get("resource", rid)})
            self._put_scope(put, "resource", rid)
            threads = self.store.threads.list(resource_id=rid, descending=False, limit=2**62)[0]
            for t in threads:
                put(
                    "thread", {**t.to_dict(), "working_memory": self.store.working_memory.get("thread", t.id)}
                )
                for m in self.store.messages.iter_all(thread_id=t.id):
                    put("message", m.to_dict())
                self._put_scope(put, "thread", t.id)
            for v in self.store.memories.export_rows(rid):
                put("memory_version", v.to_dict())
        return counts

    def _put_scope(self, put, scope: str, scope_id: str) -> None:
        for row in reversed(self.store.working_memory.history(scope, scope_id, limit=2**62)):
            put("working_memory_history", {"scope": scope, "scope_id": scope_id, **row})
        for record in self.store.observations.history(scope, scope_id):
            data = dict(record.__dict__)
            cursor = data.pop("last_observed_rowid")
            found = self.store.messages.by_rowids([cursor]) if cursor else {}
            data["last_observed_message_id"] = found[cursor].id if cursor in found else None
            put("observation", data)

    def import_archive(
        self, stream: IO[bytes], *, resource_id: str | None = None, embed: bool = True
    ) -> dict:
        """Restore an archive; with resource_id, every record must belong to that resource."""
        records = _read(stream)
        asked = self._checked_owner(resource_id)
        for kind, owner_of in (
            ("resource", lambda r: r["id"]),
            ("thread", lambda r: r["resource_id"]),
            ("message", lambda r: r["resource_id"]),
            ("memory_version", lambda r: r["resource_id"]),
        ):
            for r in records[kind]:
                if asked is not None and owner_of(r) != asked:
                    raise InputError(
                        f"the archive holds {kind} records of {owner_of(r)}, not only of {asked}"
                    )
        summary = {"threads_created": 0, "messages": 0, "observations": 0, "memories": 0, "history": 0}
        with self.store.transaction():
            for r in records["thread"]:
                existing = self.thread_owner(r["id"])
                if existing is not None and existing != r["resource_id"]:
                    raise OwnershipError(r["id"], existing, r["resource_id"])
                if existing is None:
                    self.store.threads.insert(
                        Thread(
                            id=r["id"],
                            resource_id=r["resource_id"],
                            title=r.get("title"),
                            metadata=r.get("metadata") or {},
                            cloned_from=r.get("cloned_from"),
                            created_at=_stored(r.get("created_at")),
                            updated_at=_stored(r.get("updated_at") or r.get("created_at")),
                        )
                    )
                    summary["threads_created"] += 1
        lines = "".join(
            json.dumps({k: v for k, v in m.items() if k != "type"}) + "\n" for m in records["message"]
        )
        if lines:
            written = self.ingest.import_jsonl(io.BytesIO(lines.encode("utf-8")), embed=embed)
            summary["messages"] = written.written
        with self.store.transaction():
            for r in records["resource"]:
                self.store.threads.ensure_resource(r["id"])
            history: dict[tuple[str, str], list[dict]] = {}
            for h in records["working_memory_history"]:
                history.setdefault((h["scope"], h["scope_id"]), []).append(h)
            current = {("resource", r["id"]): r.get("working_memory") for r in records["resource"]}
            current.update({("thread", r["id"]): r.get("working_memory") for r in records["thread"]})
            for scope in current.keys() | history.keys():
                summary["history"] += self.store.working_memory.restore(
                    *scope, current.get(scope), history.get(scope, [])
                )
            summary["observations"] = self._restore_observations(records["observation"])
            summary["memories"] = self._restore_memories(records["memory_version"])
        return summary

    def _restore_observations(self, rows: list[dict]) -> int:
        from memcli.store.observations import ObservationRecord

        added = 0
        for r in rows:
            have = {rec.generation for rec in self.store.observations.history(r["scope"], r["scope_id"])}
            if r["generation"] in have:
                continue
            data = {k: v for k, v in r.items() if k not in ("type", "last_observed_message_id")}
            cursor = (
                self.store.messages.by_ids([r["last_observed_message_id"]])
                if r.get("last_observed_message_id")
                else {}
            )
            data["last_observed_rowid"] = next(iter(cursor.values())).rowid if cursor else None
            self.store.observations.append(ObservationRecord(**data))
            added += 1
        return added

    def _restore_memories(self, rows: list[dict]) -> int:
        from memcli.store.memories import MemoryVersion

        added = set()
        for r in sorted(rows, key=lambda r: (r["id"], r["version"])):
            if r["id"] not in added and self.store.memories.owner(r["id"]) is not None:
                continue  # already here: importing twice changes nothing
            found = self.store.messages.by_ids(r.get("sources") or [])
            version = MemoryVersion(
                memory_id=r["id"],
                resource_id=r["resource_id"],
                thread_id=r.get("thread_id"),
                version=r["version"],
                event=r["event"],
                text=r["text"],
                category=r.get("category"),
                sources=[s for s in r.get("sources") or [] if s in found],
                valid_from=_stored(r.get("valid_from")),
                valid_to=_stored(r.get("valid_to")),
                expires_at=_stored(r.get("expires_at")),
                created_at=_stored(r.get("created_at")),
                actor=r.get("actor") or "import",
            )
            self.store.memories.write(version, {mid: m.thread_id for mid, m in found.items()})
            added.add(r["id"])
        return len(added)


def _stored(value: str | None) -> str | None:
    from memcli.timefmt import to_stored

    return to_stored(value) if value else None


def _read(stream: IO[bytes]) -> dict[str, list[dict]]:
    records: dict[str, list[dict]] = {kind: [] for kind in TYPES}
    for number, raw in enumerate(stream, 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"archive line {number}: not JSON ({exc})") from None
        kind = row.get("type") if isinstance(row, dict) else None
        if kind not in TYPES:
            raise InputError(f"archive line {number}: unknown record type {kind!r}")
        records[kind].append(row)
    header = records["archive"]
    if not header or header[0].get("version") != ARCHIVE_VERSION:
        raise InputError("not a memcli archive of version 1 (the first line names it)")
    return records
