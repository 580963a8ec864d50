"""Import and export through `Memory`, in every format memcli reads or writes."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import IO

from memcli.api.core import MemoryCore
from memcli.errors import InputError

IMPORT_FORMATS = ("jsonl", "archive", "chatgpt", "claude", "llm", "markdown")
EXPORT_FORMATS = ("jsonl", "archive", "markdown")


class TransferAPI(MemoryCore):
    def import_file(
        self,
        path: str | Path,
        *,
        format: str = "jsonl",
        resource_id: str | None = None,
        thread_id: str | None = None,
        embed: bool = True,
        progress=None,
    ):
        """Import a file: memcli JSONL, a ChatGPT or Claude export, an llm logs.db, or
        memcli's Markdown export. Every line is checked before anything is written;
        ids are kept, so importing twice changes nothing. Returns a WriteSummary."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"no such file: {path}")
        with path.open("rb") as stream:
            return self.import_stream(
                stream,
                format=format,
                resource_id=resource_id,
                thread_id=thread_id,
                embed=embed,
                progress=progress,
                source=path,
            )

    def import_stream(
        self,
        stream: IO[bytes],
        *,
        format: str = "jsonl",
        resource_id: str | None = None,
        thread_id: str | None = None,
        embed: bool = True,
        progress=None,
        source: Path | None = None,
    ):
        """import_file for a binary stream (stdin, a download); it need not be seekable."""
        from memcli.io.importers import NAMES, READERS

        if format not in IMPORT_FORMATS:
            raise InputError(f"format must be one of {', '.join(IMPORT_FORMATS)}, not {format!r}")
        resource = self._checked_owner(resource_id)
        with tempfile.TemporaryDirectory(prefix="memcli-import-") as tmp:
            if format == "archive":
                with _seekable(stream, Path(tmp)) as lines:
                    _check_format(lines.read(4096), format)
                    lines.seek(0)
                    return self.import_archive(lines, resource_id=resource, embed=embed)
            if format == "jsonl":
                lines, titles = _seekable(stream, Path(tmp)), dict[str, str]()
                _check_format(lines.read(4096), format)
                lines.seek(0)
            else:
                path = source if source is not None else _spool_to_file(stream, Path(tmp) / "export")
                with path.open("rb") as head:
                    _check_format(head.read(4096), format)
                rows, titles = READERS[format](path, resource or self.settings.owner)
                if not rows:
                    raise InputError(f"no messages found in {source or 'stdin'} read as {NAMES[format]}")
                lines = (Path(tmp) / "lines.jsonl").open("w+b")
                for row in rows:
                    lines.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
                lines.seek(0)
            with lines:
                summary = self.ingest.import_jsonl(
                    lines, thread_id=thread_id, resource_id=resource, embed=embed, progress=progress
                )
        self._set_missing_titles({k: v for k, v in titles.items() if v})
        return summary

    def _set_missing_titles(self, titles: dict[str, str]) -> None:
        """Give imported threads their source titles, keeping titles already set."""
        if not titles:
            return
        with self.store.transaction():
            for thread_id, title in titles.items():
                thread = self.store.threads.get(thread_id)
                if thread is not None and not thread.title:
                    self.store.threads.update(thread_id, title=title)

    def export(
        self,
        target: IO[str],
        *,
        format: str = "jsonl",
        thread_id: str | None = None,
        resource_id: str | None = None,
        all_resources: bool = False,
    ) -> int:
        """Write messages (one thread, a resource's — the configured one by default — or,
        with all_resources, everyone's) as JSONL, Markdown or an archive; returns how many.
        JSONL is the import format, so export then import round-trips."""
        from memcli.io import jsonl, markdown

        if format not in EXPORT_FORMATS:
            raise InputError(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {format!r}")
        if format == "archive":
            if thread_id is not None:
                raise InputError("an archive holds whole resources: give a resource, not a thread")
            return sum(
                self.export_archive(target, resource_id=resource_id, all_resources=all_resources).values()
            )
        messages = self.export_messages(
            thread_id=thread_id, resource_id=resource_id, all_resources=all_resources
        )
        count = 0
        if format == "jsonl":
            for m in messages:
                target.write(jsonl.dumps(m) + "\n")
                count += 1
            return count
        owner = None if thread_id is None and all_resources else self._covered(resource_id)
        if thread_id is not None:
            owner = self.get_thread(thread_id, resource_id, counts=False).resource_id
        threads = {t.id: t for t in self.store.threads.list(resource_id=owner, limit=2**62)[0]}
        for chunk in markdown.export(threads, messages):
            target.write(chunk)
            count += chunk.startswith("## ")
        return count


def _check_format(head: bytes, format: str) -> None:
    """A file of another format than the one named is refused (it imported 0 messages before)."""
    from memcli.io.importers import NAMES, sniff

    found = sniff(head)
    if found is not None and found != format:
        raise InputError(f"this looks like {NAMES[found]}: import it with --from {found}")


def _seekable(stream: IO[bytes], folder: Path) -> IO[bytes]:
    """The stream itself when it can seek (import reads twice), else a spooled copy."""
    try:
        if stream.seekable():
            stream.seek(0, 1)
            return _Unclosed(stream)  # type: ignore[return-value]
    except OSError:
        pass
    return _spool_to_file(stream, folder / "stdin.jsonl").open("rb")


def _spool_to_file(stream: IO[bytes], path: Path) -> Path:
    with path.open("wb") as out:
        shutil.copyfileobj(stream, out)
    return path


class _Unclosed:
    """A caller's stream used in a with-block without closing it."""

    def __init__(self, stream):
        self._stream = stream

    def __getattr__(self, name):
        return getattr(self._stream, name)

    def __iter__(self):
        return iter(self._stream)

    def __enter__(self):
        return self._stream

    def __exit__(self, *exc):
        return False
