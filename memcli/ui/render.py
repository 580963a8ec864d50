"""Templates and the small pictures the viewer draws (SVG, no script).

Jinja2 escapes every value (autoescape on for every template), so text from a
memory is shown as text. Bars are SVG rectangles sized by attributes: the
Content-Security-Policy allows no inline style and no script.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# The sections of a chat request, in the order the context is assembled.
TOKEN_SECTIONS = (
    "system",
    "working_memory",
    "observations",
    "memories",
    "recalled",
    "history",
    "user",
    "tools",
)
EXPLAIN_PARTS = ("keyword", "bm25", "vector", "neighbour", "decay", "memory")


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.globals["query"] = query
    return env


def when(stamp: str | None) -> str:
    """A stored time as people read it: 2026-12-02 02:56 UTC."""
    if not stamp:
        return ""
    text = str(stamp).replace("T", " ")
    return text[:16] + " UTC" if len(text) >= 16 else text


def query(**params) -> str:
    """`?a=1&b=2` of the parameters that have a value (for links that keep a page's filters)."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return "?" + urlencode(kept) if kept else ""


def token_bar(sections: dict[str, int], scale_to: int, width: int = 1000) -> list[dict]:
    """Stacked rectangles, one per non-empty section, scaled to a whole (the model's window,
    or the request itself)."""
    scale = width / max(scale_to, 1)
    bars, x = [], 0.0
    for name in TOKEN_SECTIONS:
        tokens = int(sections.get(name, 0) or 0)
        if tokens <= 0:
            continue
        w = max(tokens * scale, 1.0)
        bars.append({"name": name, "tokens": tokens, "x": round(x, 2), "width": round(w, 2)})
        x += w
    return bars


def explain_bars(explain: dict | None, width: int = 200) -> list[dict]:
    """One bar per score part (each from 0 to 1); a part that did not apply has none."""
    out = []
    for name in EXPLAIN_PARTS:
        value = (explain or {}).get(name)
        out.append(
            {
                "name": name,
                "value": value,
                "width": round(max(0.0, min(float(value), 1.0)) * width, 1) if value is not None else 0,
            }
        )
    return out


def pages(total: int, size: int, page: int) -> dict:
    """Page numbers (1-based) around the current one, for a pager."""
    last = max(1, -(-total // size))
    page = min(max(page, 1), last)
    return {"page": page, "last": last, "offset": (page - 1) * size, "size": size, "total": total}


def changes(history: list[dict]) -> list[dict]:
    """Working memory history (newest first) with what each change did: the lines it
    removed and added against the version before it."""
    import difflib

    out = []
    for i, entry in enumerate(history):
        before = (history[i + 1]["content"] or "") if i + 1 < len(history) else ""
        after = entry["content"] or ""
        lines = [
            {"kind": "add" if line.startswith("+") else "del", "text": line[1:]}
            for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]
        out.append({**entry, "diff": lines, "first": i + 1 == len(history)})
    return out
