"""The viewer's changes (POST): each is confirmed on a page of its own, then done through `Memory`.

Every action is two POSTs of the same form: the first shows what will happen
(nothing changes), the second, with `confirm=yes`, does it. Both carry the
form token (guard.csrf_token); the guard has already refused other origins.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from memcli.errors import InputError
from memcli.ui.face import Face, scope_of
from memcli.ui.guard import MAX_FORM_BYTES

DONE = {
    "thread-deleted": "The thread and everything derived from it were deleted.",
    "message-deleted": "The message was deleted.",
    "working-memory-saved": "Working memory saved (the old text is in its history).",
    "memory-added": "Memory added.",
    "memory-updated": "Memory updated: a new version; the old one stays in its history.",
    "memory-ended": "Memory ended: it is no longer current; its history stays.",
}


class Refused(Exception):
    """A POST without this page's form token."""


@dataclass
class Plan:
    """What an action will do, shown before it is done."""

    title: str
    details: list[str]
    run: Callable[[], Any]  # does it
    then: str | Callable[[Any], str]  # where to go next (given what run returned)
    button: str = "Yes, do it"
    before: str | None = None  # text as it is now (an edit shows both)
    after: str | None = None
    exports: str | None = None  # a resource whose export is offered first
    back: str = "/"  # where Cancel goes


class Actions(Face):
    async def form(self, request: Request) -> dict[str, str]:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                raise InputError(f"the form is over {MAX_FORM_BYTES // (1024 * 1024)} MB")
        fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if not hmac.compare_digest(fields.pop("csrf", "").encode(), self.csrf.encode()):
            raise Refused()
        return fields

    async def act(self, request: Request) -> Response:
        fields = await self.form(request)
        name = request.path_params.get("action", "working-memory")
        planner = PLANNERS.get(name)
        if planner is None:
            raise InputError(f"there is no action {name!r}")
        plan = await run_in_threadpool(planner, self, request.path_params, fields)
        if fields.pop("confirm", "") != "yes":
            return self.page(request, "confirm.html", plan=plan, fields=fields, action=request.url.path)
        result = await run_in_threadpool(plan.run)
        target = plan.then(result) if callable(plan.then) else plan.then
        if target.startswith("page:"):  # nothing left to go back to (a pinned resource forgotten)
            return self.page(request, "done.html", message=target[5:])
        return RedirectResponse(target, status_code=303)

    # ---- planners: read, check, describe; `run` changes ------------------------------------

    def delete_thread(self, params: dict, fields: dict) -> Plan:
        tid = params["id"]
        owner = self.owner("thread", tid)
        thread = self.mem.get_thread(tid, owner)
        return Plan(
            title=f"Delete thread {thread.title or tid}?",
            details=[
                f"{thread.message_count} messages of resource {owner} go, with their vectors, "
                "the thread's working memory and observation log, and facts memories only they were the source of.",
                "This cannot be undone.",
            ],
            button="Delete the thread",
            back=_to("threads", tid),
            run=lambda: self.mem.delete_thread(tid, owner),
            then=_to("resources", owner, "thread-deleted"),
        )

    def delete_message(self, params: dict, fields: dict) -> Plan:
        mid = params["id"]
        owner = self.owner("message", mid)
        message = self.mem.list_messages_by_id([mid], resource_id=owner)[0]
        return Plan(
            title="Delete this message?",
            details=[f"{message.role} in thread {message.thread_id}, {message.created_at}"],
            before=message.content,
            button="Delete the message",
            back=_to("threads", message.thread_id) + "#" + quote(mid),
            run=lambda: self.mem.delete_messages([mid], owner),
            then=_to("threads", message.thread_id, "message-deleted"),
        )

    def forget_resource(self, params: dict, fields: dict) -> Plan:
        rid = self.owner("resource", params["id"])
        threads = self.mem.list_threads(resource_id=rid, limit=1).total

        def then(removed: dict) -> str:
            summary = ", ".join(f"{v} {k}" for k, v in removed.items() if v)
            return f"page:Resource {rid} was forgotten ({summary or 'nothing was stored'})."

        return Plan(
            title=f"Forget resource {rid}?",
            details=[
                f"Everything {rid} owns goes: {threads} threads and their messages, working memory "
                "and its history, observation logs and facts memories.",
                "Export it first if you may want it back (memcli import reads the file).",
            ],
            exports=rid,
            button=f"Forget {rid}",
            back=_to("resources", rid),
            run=lambda: self.mem.delete_resource(rid),
            then=then,
        )

    def set_working_memory(self, params: dict, fields: dict) -> Plan:
        where = scope_of(self, params)
        content = fields.get("content", "").replace("\r\n", "\n")
        before = self.mem.get_working_memory(**where) or ""

        def run() -> None:
            if content.strip():
                self.mem.set_working_memory(content, **where)
            else:
                self.mem.clear_working_memory(**where)

        return Plan(
            title="Save this working memory?",
            details=["The model reads it at every turn. The text it replaces stays in its history."],
            before=before,
            after=content,
            button="Save",
            back="/working-memory/" + _path(where),
            run=run,
            then="/working-memory/" + _path(where) + "?done=working-memory-saved",
        )

    def add_memory(self, params: dict, fields: dict) -> Plan:
        rid = self.owner("resource", params["id"])
        text = fields.get("text", "").strip()
        category = fields.get("category", "").strip() or None
        if not text:
            raise InputError("a memory needs some text")
        return Plan(
            title=f"Add this memory to {rid}?",
            details=[f"category: {category}"] if category else [],
            after=text,
            button="Add",
            back=_to("facts", rid),
            run=lambda: self.mem.add_memory(text, resource_id=rid, category=category),
            then=lambda added: _to("memories", added.memory_id, "memory-added"),
        )

    def edit_memory(self, params: dict, fields: dict) -> Plan:
        mid = params["id"]
        owner = self.owner("memory", mid)
        current = self.mem.get_memory(mid, resource_id=owner)
        text = fields.get("text", "").strip()
        if not text:
            raise InputError("a memory needs some text; to end it, use End")
        return Plan(
            title="Change this memory?",
            details=[
                f"version {current.version} is kept in the history; this becomes version {current.version + 1}."
            ],
            before=current.text,
            after=text,
            button="Save the new version",
            back=_to("memories", mid),
            run=lambda: self.mem.update_memory(mid, text, resource_id=owner),
            then=_to("memories", mid, "memory-updated"),
        )

    def delete_memory(self, params: dict, fields: dict) -> Plan:
        mid = params["id"]
        owner = self.owner("memory", mid)
        current = self.mem.get_memory(mid, resource_id=owner)
        return Plan(
            title="End this memory?",
            details=["It stops being current and is no longer recalled; its versions stay in its history."],
            before=current.text,
            button="End the memory",
            back=_to("memories", mid),
            run=lambda: self.mem.delete_memory(mid, resource_id=owner),
            then=_to("memories", mid, "memory-ended"),
        )


PLANNERS: dict[str, Callable[[Actions, dict, dict], Plan]] = {
    "delete-thread": Actions.delete_thread,
    "delete-message": Actions.delete_message,
    "forget-resource": Actions.forget_resource,
    "working-memory": Actions.set_working_memory,
    "add-memory": Actions.add_memory,
    "edit-memory": Actions.edit_memory,
    "end-memory": Actions.delete_memory,
}


def _to(kind: str, item: str, done: str | None = None) -> str:
    return f"/{kind}/{quote(item)}" + (f"?done={done}" if done else "")


def _path(where: dict) -> str:
    if "thread_id" in where:
        return "threads/" + quote(where["thread_id"])
    return "resources/" + quote(where["resource_id"])
