"""The viewer's pages (GET): each reads through `Memory` and renders one template.

Long lists come a page at a time from the store (a thread of 100,000 messages
is never loaded whole).
"""

from __future__ import annotations

import io
import tempfile
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from memcli.errors import InputError
from memcli.ui import render
from memcli.ui.face import Face, int_param, scope_of

THREADS_PER_PAGE = 50
MESSAGES_PER_PAGE = 100
RESOURCES_PER_PAGE = 100


class Pages(Face):
    def home(self, request: Request) -> Response:
        if self.pinned:
            return RedirectResponse("/resources/" + quote(self.pinned), status_code=303)
        search = request.query_params.get("q") or None
        page_no = int_param(request, "page", 1, low=1)
        listing = self.mem.list_resources(
            search=search, limit=RESOURCES_PER_PAGE, offset=(page_no - 1) * RESOURCES_PER_PAGE
        )
        pager = render.pages(listing["total"], RESOURCES_PER_PAGE, page_no)
        return self.page(request, "home.html", listing=listing, pager=pager, search=search or "")

    def resource(self, request: Request) -> Response:
        rid = request.path_params["id"]
        if rid != self.pinned:  # the pinned resource's page shows even before it holds anything
            rid = self.owner("resource", rid)
        search = request.query_params.get("q") or None
        metadata = _metadata_filter(request.query_params.get("meta") or "")
        page_no = int_param(request, "page", 1, low=1)
        order = request.query_params.get("order") or "updated"
        listing = self.mem.list_threads(
            resource_id=rid,
            search=search,
            metadata=metadata,
            order_by=order,
            limit=THREADS_PER_PAGE,
            offset=(page_no - 1) * THREADS_PER_PAGE,
        )
        return self.page(
            request,
            "resource.html",
            resource=rid,
            listing=listing,
            pager=render.pages(listing.total, THREADS_PER_PAGE, page_no),
            search=search or "",
            meta=request.query_params.get("meta") or "",
            order=order,
            memories=len(self.mem.list_memories(resource_id=rid)),
        )

    def thread(self, request: Request) -> Response:
        tid = request.path_params["id"]
        owner = self.owner("thread", tid)
        thread = self.mem.get_thread(tid, owner)
        total = thread.message_count or 0
        last_page = render.pages(total, MESSAGES_PER_PAGE, 1)["last"]
        pager = render.pages(total, MESSAGES_PER_PAGE, int_param(request, "page", last_page, low=1))
        messages = self.mem.list_messages(tid, owner, offset=pager["offset"], limit=MESSAGES_PER_PAGE)
        return self.page(
            request,
            "thread.html",
            thread=thread,
            messages=messages,
            pager=pager,
            source=self.mem.get_source_thread(tid) if thread.cloned_from else None,
            clones=self.mem.list_clones(tid),
        )

    def working_memory(self, request: Request) -> Response:
        where = self._scope(request)
        return self.page(
            request,
            "working_memory.html",
            where=where,
            content=self.mem.get_working_memory(**where) or "",
            history=render.changes(self.mem.working_memory_history(**where)),
            schema=self.mem.working_memory_schema(),
        )

    def observations(self, request: Request) -> Response:
        where = self._scope(request)
        history = self.mem.observation_history(**where)
        status = self.mem.observation_status(**where)
        return self.page(
            request,
            "observations.html",
            where=where,
            generations=list(reversed(history)),
            status=status,
        )

    def observation_sources(self, request: Request) -> Response:
        where = self._scope(request)
        generation = _int(request.query_params.get("generation") or "", "generation")
        page_no = int_param(request, "page", 1, low=1)
        messages = self.mem.observation_sources(
            generation, limit=MESSAGES_PER_PAGE + 1, offset=(page_no - 1) * MESSAGES_PER_PAGE, **where
        )
        return self.page(
            request,
            "observation_sources.html",
            where=where,
            generation=generation,
            messages=messages[:MESSAGES_PER_PAGE],
            page_no=page_no,
            has_more=len(messages) > MESSAGES_PER_PAGE,
        )

    def memories(self, request: Request) -> Response:
        rid = self.owner("resource", request.path_params["id"])
        search = (request.query_params.get("q") or "").strip()
        as_of = (request.query_params.get("as_of") or "").strip() or None
        if search:
            found = self.mem.search_memories(search, resource_id=rid, top_k=50, as_of=as_of)
            rows = [{"memory": m, "score": score} for m, score in found]
        else:
            rows = [
                {"memory": m, "score": None} for m in self.mem.list_memories(resource_id=rid, as_of=as_of)
            ]
        return self.page(request, "memories.html", resource=rid, rows=rows, search=search, as_of=as_of or "")

    def memory(self, request: Request) -> Response:
        mid = request.path_params["id"]
        owner = self.owner("memory", mid)
        versions = self.mem.memory_history(mid, resource_id=owner)
        as_of = (request.query_params.get("as_of") or "").strip() or None
        standing = None
        if as_of:
            standing = next(
                (v for v in self.mem.list_memories(resource_id=owner, as_of=as_of) if v.memory_id == mid),
                None,
            )
        sources = {
            v.version: self.mem.list_messages_by_id(v.sources, resource_id=owner)
            for v in versions
            if v.sources
        }
        return self.page(
            request,
            "memory.html",
            resource=owner,
            memory_id=mid,
            versions=versions,
            current=versions[-1],
            sources=sources,
            as_of=as_of or "",
            standing=standing,
        )

    def recall(self, request: Request) -> Response:
        rid = self.resource_param(request)
        text = (request.query_params.get("q") or "").strip()
        mode = request.query_params.get("mode") or "hybrid"
        top_k = int_param(request, "top_k", self.mem.settings.recall_top_k, low=1, high=100)
        result, facts = None, []
        if text:
            result = self.mem.recall(text, resource_id=rid, mode=mode, top_k=top_k, explain=True)
            facts = self.mem.recall_memories(text, resource_id=rid)
        return self.page(
            request,
            "recall.html",
            resource=rid,
            text=text,
            mode=mode,
            top_k=top_k,
            result=result,
            facts=facts,
            bars=render.explain_bars,
        )

    def tokens(self, request: Request) -> Response:
        rid = self.resource_param(request)
        thread_id = (request.query_params.get("thread") or "").strip() or None
        if thread_id:
            rid = self.owner("thread", thread_id)
        prompt = request.query_params.get("prompt") or ""
        model = (request.query_params.get("model") or "").strip() or self.mem.settings.model
        report = None
        if model:
            report = self.mem.token_report(prompt, resource_id=rid, thread_id=thread_id, model=model)
        bar = render.token_bar(report["sections"], report["window"]) if report else []
        zoom = render.token_bar(report["sections"], report["total"]) if report else []
        return self.page(
            request,
            "tokens.html",
            resource=rid,
            thread_id=thread_id or "",
            prompt=prompt,
            model=model or "",
            report=report,
            bar=bar,
            zoom=zoom,
            sections=render.TOKEN_SECTIONS,
        )

    def export(self, request: Request) -> Response:
        rid = self.owner("resource", request.path_params["id"])
        form = request.query_params.get("format") or "jsonl"
        if form not in ("jsonl", "archive"):
            raise InputError("format must be jsonl or archive")
        # a big resource is spooled to disk and streamed, not held in memory; _chunks closes it
        spool = tempfile.TemporaryFile("w+b")  # noqa: SIM115
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
        try:
            self.mem.export(text, format=form, resource_id=rid)
        except BaseException:
            text.close()
            raise
        text.flush()
        spool.seek(0)
        name = f"memcli-{_safe_name(rid)}.{'jsonl' if form == 'jsonl' else 'archive.jsonl'}"
        return StreamingResponse(
            _chunks(text, spool),
            media_type="application/x-ndjson",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    def _scope(self, request: Request) -> dict:
        """{thread_id} for a thread's page, {resource_id} for a resource's, owners checked."""
        return scope_of(self, request.path_params)


def _chunks(text, spool):
    with text:
        while block := spool.read(1 << 16):
            yield block


def _metadata_filter(text: str) -> dict | None:
    """`key=value` (several separated by commas) as a metadata filter."""
    if not text.strip():
        return None
    out = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise InputError(f"metadata filter must be key=value, not {part.strip()!r}")
        out[key.strip()] = value.strip()
    return out


def _int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InputError(f"{name} must be a whole number") from None


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:64] or "resource"
