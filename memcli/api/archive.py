"""Everything a resource owns, as one JSONL archive, and back: lossless.

JSONL of messages carries messages only; an archive also carries threads
(titles, metadata, lineage, empty ones too), working memory with its
history, observation logs (cursors as message ids), facts memories with
every version, and the extraction cursors (so "extract exactly once" survives
a restore). The format and its checks live in `memcli.io.archive_format`.
A restore is checked whole first, then written in one transaction: a refused
or killed restore leaves nothing. Importing an archive twice changes nothing.
"""

from __future__ import annotations

import io
import json
from typing import IO

from memcli.api.core import MemoryCore
from memcli.errors import InputError, OwnershipError
from memcli.io import archive_format
from memcli.records import Thread
from memcli.timefmt import now


class ArchiveAPI(MemoryCore):
    def export_archive(
        self, target: IO[str], *, resource_id: str | None = None, all_resources: bool = False
    ) -> dict:
        """Write an archive of one resource (the configured one by default) or of all;
        returns how many records of each type."""
        out = archive_format.Writer(target, now())
        if all_resources:
            resources = self.store.threads.ids_starting("resources", "", limit=2**62)
        else:
            resources = [self._owner(resource_id)]
        for rid in resources:
            out.put("resource", {"id": rid, "working_memory": self.store.working_memory.get("resource", rid)})
            self._put_scope(out.put, "resource", rid)
            threads = self.store.threads.list(resource_id=rid, descending=False, limit=2**62)[0]
            for t in threads:
                out.put(
                    "thread", {**t.to_dict(), "working_memory": self.store.working_memory.get("thread", t.id)}
                )
                for m in self.store.messages.iter_all(thread_id=t.id):
                    out.put("message", m.to_dict())
                self._put_scope(out.put, "thread", t.id)
                cursor = self.store.memories.cursor_message(t.id)
                if cursor is not None:
                    out.put("extraction_cursor", {"thread_id": t.id, "last_message_id": cursor})
            for v in self.store.memories.export_rows(rid):
                out.put("memory_version", v.to_dict())
        return out.close()

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
        """Restore an archive; with resource_id (or a configured resource), every record
        must be that resource's. Checked whole, then written in one transaction."""
        archive = archive_format.read(stream)
        asked = self._checked_owner(resource_id)
        if asked is not None:
            for number, r in archive.records["resource"] + archive.records["thread"]:
                owner = r.get("resource_id", r["id"])
                if owner != asked:
                    raise InputError(
                        f"archive line {number}: the archive holds records of another resource than {asked}"
                    )
        summary = {"threads_created": 0, "messages": 0, "observations": 0, "memories": 0, "history": 0}
        owners = {r["id"]: r["resource_id"] for r in archive.rows("thread")}
        with self.store.transaction():
            summary["threads_created"] = self._restore_threads(archive.rows("thread"))
            lines = "".join(json.dumps(m) + "\n" for m in archive.rows("message"))
            if lines:
                written = self.ingest.import_jsonl(io.BytesIO(lines.encode("utf-8")), embed=embed)
                summary["messages"] = written.written
            for r in archive.rows("resource"):
                self.store.threads.ensure_resource(r["id"])
            summary["history"] = self._restore_working_memory(archive, owners)
            summary["observations"] = self._restore_observations(archive.rows("observation"), owners)
            summary["memories"] = self._write_memory_versions(archive.rows("memory_version"), embed=embed)
            for c in archive.rows("extraction_cursor"):
                found = self.store.messages.by_ids([c["last_message_id"]]).get(c["last_message_id"])
                if found is not None and found.thread_id == c["thread_id"]:
                    self.store.memories.move_cursor(c["thread_id"], found.rowid, owner=owners[c["thread_id"]])  # type: ignore[arg-type]
        return summary

    def _restore_threads(self, rows: list[dict]) -> int:
        created = 0
        for r in rows:
            existing = self.store.threads.owners([r["id"]]).get(r["id"])
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
                        created_at=_stored(r.get("created_at")) or now(),
                        updated_at=_stored(r.get("updated_at") or r.get("created_at")) or now(),
                    )
                )
                created += 1
        return created

    def _restore_working_memory(self, archive, owners: dict[str, str]) -> int:
        history: dict[tuple[str, str], list[dict]] = {}
        for h in archive.rows("working_memory_history"):
            history.setdefault((h["scope"], h["scope_id"]), []).append(h)
        current = {("resource", r["id"]): r.get("working_memory") for r in archive.rows("resource")}
        current.update({("thread", r["id"]): r.get("working_memory") for r in archive.rows("thread")})
        added = 0
        for scope, scope_id in current.keys() | history.keys():
            owner = scope_id if scope == "resource" else owners[scope_id]
            added += self.store.working_memory.restore(
                scope,
                scope_id,
                current.get((scope, scope_id)),
                history.get((scope, scope_id), []),
                owner=owner,
            )
        return added

    def _restore_observations(self, rows: list[dict], owners: dict[str, str]) -> int:
        from memcli.store.observations import ObservationRecord

        added = 0
        for r in rows:
            have = {rec.generation for rec in self.store.observations.history(r["scope"], r["scope_id"])}
            if r["generation"] in have:
                continue
            owner = r["scope_id"] if r["scope"] == "resource" else owners[r["scope_id"]]
            cursor = r.get("last_observed_message_id")
            found = self.store.messages.by_ids([cursor]).get(cursor) if cursor else None
            if found is not None and found.resource_id != owner:
                raise OwnershipError(cursor, found.resource_id, owner, kind="message")  # type: ignore[arg-type]
            record = ObservationRecord(
                scope=r["scope"],
                scope_id=r["scope_id"],
                generation=r["generation"],
                origin=r["origin"],
                observations=r["observations"],
                current_task=r.get("current_task"),
                suggested_response=r.get("suggested_response"),
                token_count=r.get("token_count") or 0,
                observed_tokens=r.get("observed_tokens") or 0,
                last_observed_rowid=found.rowid if found is not None else None,
                metadata=r.get("metadata") or {},
                created_at=_stored(r["created_at"]),  # type: ignore[arg-type]
            )
            self.store.observations.append(record, owner=owner)
            added += 1
        return added


def _stored(value: str | None) -> str | None:
    from memcli.timefmt import to_stored

    return to_stored(value) if value else None
