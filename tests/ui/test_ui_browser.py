"""`memcli ui` in a real browser (Debian's chromium driven by Playwright, never a
downloaded browser): the token leaves the address bar, markup in a message stays
text and runs nothing, pages need nothing the CSP blocks, a change is confirmed by
clicks, and a form on another site cannot change anything."""

from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from memcli import Memory
from ui.conftest import HOSTILE, serve

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def _fill() -> dict:
    with Memory() as mem:
        first = mem.add_message(
            "I moved to Lisbon last spring.", thread_id="t1", resource_id="alice", embed=False
        )
        hostile = mem.add_message(HOSTILE, thread_id="t1", resource_id="alice", role="assistant", embed=False)
        mem.set_working_memory("- **Location**: Lisbon", resource_id="alice")
        fact = mem.add_memory("Lives in Lisbon", resource_id="alice", sources=[first.id])
        return {"first": first.id, "hostile": hostile.id, "fact": fact.memory_id}


def test_pages_show_markup_as_text_and_need_nothing_the_csp_blocks(browser):
    ids = _fill()
    with serve() as ui:
        page = browser.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(ui.url)
        assert "token" not in page.url and page.url.rstrip("/") == ui.origin
        for path in (
            "/",
            "/resources/alice",
            "/threads/t1",
            "/working-memory/resources/alice",
            "/observations/resources/alice",
            "/facts/alice",
            f"/memories/{ids['fact']}",
            "/recall?q=bold&resource=alice&mode=keyword",
            "/tokens?thread=t1&model=openai/gpt-4o-mini",
        ):
            page.goto(ui.origin + path)
            assert page.evaluate("window.__pwned") is None, path
        page.goto(ui.origin + "/threads/t1")
        shown = page.inner_text(f"article[id='{ids['hostile']}'] pre")
        assert shown == HOSTILE  # every character the model sent, as text
        assert page.locator("article b").count() == 0 and page.locator("main img").count() == 0
        # the stylesheet applied (served by the viewer itself): a message has its border
        border = page.eval_on_selector("article.message", "e => getComputedStyle(e).borderTopStyle")
        assert border == "solid"
        assert problems == []


def test_a_deletion_is_confirmed_by_clicks(browser):
    ids = _fill()
    with serve() as ui:
        page = browser.new_page()
        page.goto(ui.url)
        page.goto(ui.origin + "/threads/t1")
        page.locator(f"article[id='{ids['first']}'] button").click()
        assert page.get_by_role("heading").first.inner_text() == "Delete this message?"
        with Memory() as mem:
            assert mem.owner_of("message", ids["first"]) == "alice"  # nothing yet
        page.get_by_role("button", name="Delete the message").click()
        assert page.get_by_role("status").inner_text() == "The message was deleted."
        assert page.locator(f"article[id='{ids['first']}']").count() == 0
        with Memory() as mem:
            assert mem.owner_of("message", ids["first"]) is None


class _Attacker(BaseHTTPRequestHandler):
    page = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args):
        pass


def test_a_form_on_another_site_changes_nothing(browser):
    """Even knowing the form token, a page of another origin cannot post a change: the
    cookie is SameSite=Strict and the Origin is checked."""
    ids = _fill()
    with serve() as ui:
        from memcli.ui.guard import csrf_token

        _Attacker.page = (
            f'<form id=f method=post action="{ui.origin}/do/delete-thread/t1">'
            f'<input name=csrf value="{csrf_token(ui.token)}"><input name=confirm value=yes></form>'
            "<script>document.getElementById('f').submit()</script>"
        ).encode()
        attacker = ThreadingHTTPServer(("127.0.0.1", 0), _Attacker)
        threading.Thread(target=attacker.serve_forever, daemon=True).start()
        try:
            page = browser.new_page()
            page.goto(ui.url)  # the victim has the viewer open: the cookie is set
            with page.expect_navigation(url=f"{ui.origin}/do/delete-thread/t1") as landed:
                page.goto(f"http://localhost:{attacker.server_address[1]}/")
            assert landed.value.status == 403
        finally:
            attacker.shutdown()
        with Memory() as mem:
            assert (
                mem.owner_of("thread", "t1") == "alice" and mem.owner_of("message", ids["first"]) == "alice"
            )
