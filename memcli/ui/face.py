"""What every page and action of the viewer shares: the Memory, templates, lookups, errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from memcli.database import redact, shown
from memcli.errors import InputError, MemcliError, NotFoundError, OwnershipError
from memcli.ui import render

if TYPE_CHECKING:
    from memcli.memory import Memory


@dataclass
class Face:
    mem: Memory
    csrf: str
    env: Any = field(default_factory=render.environment)

    @property
    def pinned(self) -> str | None:
        return self.mem.settings.resource if self.mem.settings.pinned else None

    def page(self, request: Request, template: str, *, code: int = 200, **context) -> Response:
        html = self.env.get_template(template).render(
            request=request,
            csrf=self.csrf,
            pinned=self.pinned,
            database=shown(self.mem.path),
            **context,
        )
        return HTMLResponse(html, status_code=code)

    def owner(self, kind: str, item_id: str) -> str:
        """The resource owning what a URL names; 404 when there is none or it is not shown here
        (the same answer for both, so a pinned viewer does not reveal others' ids)."""
        owner = self.mem.owner_of(kind, item_id)
        if owner is None:
            raise NotFoundError(f"no {kind} {item_id} here")
        return owner

    def resource_param(self, request: Request) -> str:
        """The resource a page without one in its path is about: the pinned one, the
        `resource` parameter, else the memory's default."""
        asked = (request.query_params.get("resource") or "").strip()
        if self.pinned:
            if asked and asked != self.pinned:
                raise NotFoundError(f"no resource {asked} here")
            return self.pinned
        return asked or self.mem.resource_for(None)

    def failure(self, request: Request, exc: Exception) -> Response:
        """One line for people, with the status a program expects."""
        if isinstance(exc, OwnershipError):
            status, text = 404, "not found here"
        elif isinstance(exc, NotFoundError):
            status, text = 404, str(exc)
        elif isinstance(exc, InputError):
            status, text = 400, str(exc)
        elif isinstance(exc, MemcliError):
            status, text = 503, str(exc)
        else:
            status, text = 500, f"internal error (a bug in memcli): {type(exc).__name__}"
        return self.page(request, "error.html", code=status, message=redact(text), status_code=status)


def int_param(request: Request, name: str, default: int, low: int = 0, high: int = 2**31) -> int:
    value = request.query_params.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise InputError(f"{name} must be a whole number, not {value!r}") from None
    return min(max(number, low), high)


def scope_of(face: Face, params: dict) -> dict:
    """{thread_id, resource_id} for /<view>/threads/<id>, {resource_id} for /<view>/resources/<id>."""
    kind = params.get("kind")
    if kind == "threads":
        return {"thread_id": params["id"], "resource_id": face.owner("thread", params["id"])}
    if kind == "resources":
        return {"resource_id": face.owner("resource", params["id"])}
    raise NotFoundError(f"no page for {kind}")
