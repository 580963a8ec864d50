"""`memcli ui`: the web face of `Memory` (it parses, calls Memory, renders; nothing else).

URLs a person can bookmark: /resources/<id>, /threads/<id>, /memories/<id>,
/recall?q=..., /tokens?thread=...; ids keep their slashes (`{id:path}` last).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from memcli.errors import MemcliError, NotFoundError
from memcli.ui import render
from memcli.ui.actions import DONE, Actions, Refused
from memcli.ui.guard import Guard, csrf_token
from memcli.ui.pages import Pages

if TYPE_CHECKING:
    from memcli.memory import Memory


def build_app(mem: Memory, *, secret: str, port: int, hosts: set[str] | None) -> Guard:
    """The whole viewer for one Memory, behind its guard (guard.py)."""
    csrf = csrf_token(secret)
    pages = Pages(mem=mem, csrf=csrf)
    actions = Actions(mem=mem, csrf=csrf, env=pages.env)
    pages.env.globals["done_messages"] = DONE
    routes = [
        Route("/", pages.home),
        Route("/resources/{id:path}", pages.resource),
        Route("/threads/{id:path}", pages.thread),
        Route("/memories/{id:path}", pages.memory),
        Route("/facts/{id:path}", pages.memories),
        Route("/working-memory/{kind}/{id:path}", pages.working_memory),
        Route("/observations/{kind}/{id:path}", pages.observations),
        Route("/observed/{kind}/{id:path}", pages.observation_sources),
        Route("/export/{id:path}", pages.export),
        Route("/recall", pages.recall),
        Route("/tokens", pages.tokens),
        Route("/do/working-memory/{kind}/{id:path}", actions.act, methods=["POST"]),
        Route("/do/{action}/{id:path}", actions.act, methods=["POST"]),
        Mount("/static", StaticFiles(directory=render.STATIC), name="static"),
    ]

    async def refused(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("memcli ui: this form is stale or not from this page; reload it\n", 403)

    async def failed(request: Request, exc: Exception) -> Response:
        return pages.failure(request, exc)

    async def unknown(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        if status == 404:
            return pages.failure(request, NotFoundError(f"no page at {request.url.path}"))
        return PlainTextResponse(f"memcli ui: {getattr(exc, 'detail', 'refused')}\n", status)

    handlers = {Refused: refused, HTTPException: unknown, MemcliError: failed, Exception: failed}
    app = Starlette(routes=routes, exception_handlers=handlers)
    return Guard(app, secret=secret, hosts=hosts, port=port)
