"""`memcli ui` at the HTTP level: every page and action, the token, the origin checks,
pinning, and text shown as text. The app runs in-process over a real memory file."""

from __future__ import annotations

import re

import pytest

from memcli import Memory
from ui.conftest import ORIGIN, PORT, SECRET, count_rows, fill


def admin() -> Memory:
    """A Memory for every resource (the test's own setup, not the viewer's)."""
    return Memory()


pytestmark = pytest.mark.both_backends

PAGES = [
    "/",
    "/resources/alice",
    "/resources/alice?q=trip&order=created",
    "/resources/alice?meta=project%3Ddagster",
    "/threads/alice/trip%20plans",
    "/working-memory/resources/alice",
    "/working-memory/threads/t-work",
    "/observations/resources/alice",
    "/observations/threads/t-work",
    "/facts/alice",
    "/facts/alice?q=Porto",
    "/facts/alice?as_of=3650d",
    "/recall?q=Lisbon&resource=alice&mode=keyword",
    "/tokens?thread=t-work&model=openai/gpt-4o-mini&prompt=hi",
    "/export/alice?format=jsonl",
    "/export/alice?format=archive",
]


def test_every_page_renders(viewer):
    v = viewer()
    ids = fill(v.mem)
    for path in [*PAGES, f"/memories/{ids['alice_fact']}", f"/memories/{ids['alice_fact']}?as_of=1d"]:
        r = v.get(path)
        assert r.status_code == 200, (path, r.text[-500:])
        assert "internal error" not in r.text


def test_without_the_token_everything_is_refused(viewer):
    v = viewer(login=False)
    ids = fill(v.mem)
    before = count_rows(v.mem)
    for path in [*PAGES, "/static/ui.css", "/nope"]:
        r = v.get(path)
        assert r.status_code == 403 and "printed" in r.text, path
        assert "Lisbon" not in r.text
    r = v.client.get("/?token=not-the-token")
    assert r.status_code == 403
    r = v.post(f"/do/delete-thread/{ids['alice_thread']}", confirm=True)
    assert r.status_code == 403
    assert count_rows(v.mem) == before


def test_the_token_becomes_a_cookie_and_leaves_the_url(viewer):
    v = viewer(login=False)
    r = v.client.get(f"/threads/x?page=2&token={SECRET}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/threads/x?page=2"
    cookie = r.headers["set-cookie"]
    assert (
        cookie.startswith(f"memcli-ui-{PORT}={SECRET}")
        and "HttpOnly" in cookie
        and "SameSite=Strict" in cookie
    )


def test_the_token_redirect_never_leaves_this_host(viewer):
    """`GET //evil.example/?token=T` must not answer `Location: //evil.example/` (another host)."""
    import asyncio

    v = viewer(login=False)
    for raw in (b"//evil.example/", b"/\\evil.example/", b"///evil.example/"):
        sent = []

        async def send(message, sent=sent):
            sent.append(message)

        async def receive():
            return {"type": "http.request", "body": b""}

        scope = {
            "type": "http",
            "method": "GET",
            "scheme": "http",
            "path": raw.decode(),
            "raw_path": raw,
            "query_string": f"token={SECRET}".encode(),
            "headers": [(b"host", f"127.0.0.1:{PORT}".encode())],
        }
        asyncio.run(v.client.app(scope, receive, send))
        location = dict(sent[0]["headers"])[b"location"].decode()
        assert sent[0]["status"] == 303 and location == "/evil.example/", location


def test_security_headers_on_every_answer(viewer):
    v = viewer()
    fill(v.mem)
    for path in ("/", "/threads/t-work", "/nope", "/static/ui.css"):
        headers = v.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script" not in csp and "frame-ancestors 'none'" in csp
        assert headers["referrer-policy"] == "same-origin" and headers["x-frame-options"] == "DENY"


def test_another_host_name_is_refused(viewer):
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host."""
    v = viewer()
    fill(v.mem)
    r = v.get("/threads/t-work", headers={"host": "evil.example"})
    assert r.status_code == 421 and "Dagster" not in r.text


def test_a_post_from_another_origin_is_refused(viewer):
    v = viewer()
    ids = fill(v.mem)
    before = count_rows(v.mem)
    target = f"/do/delete-thread/{ids['alice_thread']}"
    data = {"csrf": v.csrf, "confirm": "yes"}
    for headers in (
        {"origin": "http://evil.example"},
        {"origin": "http://127.0.0.1:9"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ):
        r = v.client.post(target, data=data, headers=headers, follow_redirects=False)
        assert r.status_code == 403, headers
    assert v.post(target, confirm=True, csrf="").status_code == 403
    assert v.post(target, confirm=True, csrf="0" * 64).status_code == 403
    assert count_rows(v.mem) == before
    r = v.client.post(target, data=data, headers={"origin": ORIGIN}, follow_redirects=False)
    assert r.status_code == 303
    assert count_rows(v.mem) != before


def test_other_methods_are_refused(viewer):
    v = viewer()
    for method in ("PUT", "DELETE", "PATCH"):
        assert v.client.request(method, "/resources/alice").status_code == 405


def test_html_in_a_message_is_shown_as_text(viewer):
    v = viewer()
    ids = fill(v.mem)
    for path in (f"/threads/{ids['alice_thread']}", "/recall?q=bold&resource=alice&mode=keyword"):
        html = v.get(path).text
        assert "<script>window.__pwned" not in html and "<img src=x" not in html and "<b>bold</b>" not in html
        assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
        assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_hostile_ids_and_titles_are_text_too(viewer):
    v = viewer()
    evil = '"><script>alert(1)</script>'
    v.mem.add_message("hi", thread_id=evil, resource_id=evil, embed=False)
    v.mem.rename_thread(evil, evil, resource_id=evil)
    for path in ("/", f"/resources/{evil}", f"/threads/{evil}"):
        r = v.get(path)
        assert r.status_code == 200 and "<script>alert(1)" not in r.text, path


def test_ids_with_slashes_and_spaces_have_plain_urls(viewer):
    v = viewer()
    fill(v.mem)
    page = v.get("/resources/alice").text
    assert 'href="/threads/alice/trip%20plans"' in page
    assert "I moved to Lisbon" in v.get("/threads/alice/trip plans").text


def test_resources_threads_search_and_metadata_filter(viewer):
    v = viewer()
    fill(v.mem)
    home = v.get("/").text
    assert 'href="/resources/alice"' in home and 'href="/resources/bob"' in home
    assert 'href="/resources/bob"' not in v.get("/?q=ali").text
    assert "Work" in v.get("/resources/alice?q=WOR").text
    assert "Trip to Porto" not in v.get("/resources/alice?q=WOR").text
    filtered = v.get("/resources/alice?meta=project%3Ddagster").text
    assert "t-work" in filtered and "Trip to Porto" not in filtered
    assert v.get("/resources/alice?meta=nonsense").status_code == 400
    # a search for a LIKE wildcard is a search for the character
    assert "t-work" not in v.get("/resources/alice?q=%25").text


def test_clone_lineage_links_both_ways(viewer):
    v = viewer()
    ids = fill(v.mem)
    clone_page = v.get(f"/threads/{ids['clone']}").text
    assert 'href="/threads/alice/trip%20plans"' in clone_page
    source_page = v.get("/threads/alice/trip plans").text
    assert f'href="/threads/{ids["clone"]}"' in source_page


def test_a_long_thread_is_paged_never_loaded_whole(viewer, monkeypatch):
    v = viewer()
    from memcli.records import Message

    rows = [
        Message(
            id=f"m{i:06d}",
            thread_id="long",
            resource_id="alice",
            role="user",
            content=f"message number {i}",
            created_at="",
        )
        for i in range(100_000)
    ]
    v.mem.save_messages(rows, embed=False)
    asked = []
    real = type(v.mem.store.messages).window

    def window(self, thread_id, **kw):
        asked.append(kw)
        return real(self, thread_id, **kw)

    monkeypatch.setattr(type(v.mem.store.messages), "window", window)
    page = v.get("/threads/long").text
    assert page.count('class="message user"') == 100
    assert "message number 99999" in page and "page 1000 of 1000" in page
    assert asked and all(kw.get("limit") == 100 for kw in asked)
    first = v.get("/threads/long?page=1").text
    assert "message number 0<" in first and "message number 100<" not in first


def test_pinned_viewer_answers_for_its_resource_only(viewer):
    everyone = admin()
    ids = fill(everyone)
    v = viewer("alice")
    before = count_rows(everyone)
    assert v.get("/", follow_redirects=False).headers["location"] == "/resources/alice"
    missing = v.get("/threads/no-such-thread")
    for path in (
        "/resources/bob",
        f"/threads/{ids['bob_thread']}",
        f"/memories/{ids['bob_fact']}",
        "/facts/bob",
        "/working-memory/resources/bob",
        f"/working-memory/threads/{ids['bob_thread']}",
        "/observations/resources/bob",
        f"/observations/threads/{ids['bob_thread']}",
        "/export/bob",
        "/recall?q=vault&resource=bob",
        f"/tokens?thread={ids['bob_thread']}&model=openai/gpt-4o-mini",
    ):
        r = v.get(path)
        assert r.status_code == 404, path
        assert "4711" not in r.text and "private" not in r.text, path
    # the same answer as for an id that does not exist: nothing tells bob's from none
    r = v.get(f"/threads/{ids['bob_thread']}")
    assert r.text.replace(ids["bob_thread"], "X") == missing.text.replace("no-such-thread", "X")
    for action, item in (
        ("delete-thread", ids["bob_thread"]),
        ("delete-message", ids["bob_message"]),
        ("forget-resource", "bob"),
        ("end-memory", ids["bob_fact"]),
        ("edit-memory", ids["bob_fact"]),
        ("add-memory", "bob"),
    ):
        for confirm in (False, True):
            r = v.post(f"/do/{action}/{item}", confirm=confirm, text="mallory was here")
            assert r.status_code == 404, (action, confirm)
    r = v.post("/do/working-memory/resources/bob", confirm=True, content="mallory was here")
    assert r.status_code == 404
    assert count_rows(everyone) == before
    # recall without a resource is the pinned one's
    assert "4711" not in v.get("/recall?q=vault&mode=keyword").text
    home = v.get("/resources/alice").text
    assert "bob" not in home


def test_a_pinned_viewer_of_an_empty_resource_shows_its_empty_page(viewer):
    v = viewer("newcomer")
    page = v.get("/", follow_redirects=True)
    assert page.status_code == 200 and "No threads" in page.text


def test_pinned_viewer_hides_lineage_into_another_resource(viewer):
    everyone = admin()
    everyone.add_message("alice's plan", thread_id="a-src", resource_id="alice", embed=False)
    clone = everyone.clone_thread("a-src", resource_id="bob", source_resource_id="alice")
    v = viewer("bob")
    page = v.get(f"/threads/{clone.thread.id}").text
    assert 'href="/threads/a-src"' not in page and "gone or not shown here" in page


def test_every_action_asks_then_does(viewer):
    v = viewer()
    ids = fill(v.mem)
    fid = ids["alice_fact"]
    steps = [
        ("/do/working-memory/resources/alice", {"content": "- **Pet**: a cat"}),
        ("/do/add-memory/alice", {"text": "Has a cat", "category": "pets"}),
        (f"/do/edit-memory/{fid}", {"text": "Lives in Braga"}),
        (f"/do/end-memory/{fid}", {}),
        (f"/do/delete-message/{ids['work_message']}", {}),
        (f"/do/delete-thread/{ids['clone']}", {}),
    ]
    for path, fields in steps:
        before = count_rows(v.mem)
        shown = v.post(path, **fields)
        assert shown.status_code == 200 and 'name="confirm" value="yes"' in shown.text, path
        assert count_rows(v.mem) == before, f"{path} changed something before it was confirmed"
        done = v.post(path, confirm=True, **fields)
        assert done.status_code == 303, (path, done.text[-300:])
        assert "done=" in done.headers["location"]
        assert count_rows(v.mem) != before, path
    assert v.mem.get_working_memory(resource_id="alice").strip() == "- **Pet**: a cat"
    history = v.mem.memory_history(fid, resource_id="alice")
    assert [h.event for h in history] == ["ADD", "UPDATE", "UPDATE", "DELETE"]
    assert [h.text for h in history][-2] == "Lives in Braga"
    page = v.get(f"/memories/{fid}").text
    assert "ended" in page and "Lives in Lisbon" in page and "Lives in Braga" in page
    assert v.mem.owner_of("message", ids["work_message"]) is None
    assert v.mem.owner_of("thread", ids["clone"]) is None
    wm = v.get("/working-memory/resources/alice").text
    assert "a cat" in wm and "vegetarian" in wm  # the old text stays in the history
    # what each change did: the newest removed the two old lines and added the cat
    assert '<span class="add">+ - **Pet**: a cat</span>' in wm
    assert '<span class="del">- - **Diet**: vegetarian</span>' in wm


def test_forget_a_resource_offers_its_export_first(viewer):
    v = viewer()
    fill(v.mem)
    shown = v.post("/do/forget-resource/bob")
    assert (
        'href="/export/bob?format=jsonl"' in shown.text and 'href="/export/bob?format=archive"' in shown.text
    )
    exported = v.get("/export/bob?format=jsonl")
    assert "attachment" in exported.headers["content-disposition"] and "4711" in exported.text
    done = v.post("/do/forget-resource/bob", confirm=True)
    assert done.status_code == 200 and "was forgotten" in done.text
    assert v.mem.owner_of("resource", "bob") is None and v.mem.owner_of("resource", "alice") == "alice"


def test_memory_as_of_shows_the_version_then(viewer):
    v = viewer()
    fact = v.mem.add_memory("Lives in Lisbon", resource_id="alice", valid_from="2024-01-01")
    v.mem.update_memory(fact.memory_id, "Lives in Porto", resource_id="alice", valid_from="2025-06-01")
    then = v.get(f"/memories/{fact.memory_id}?as_of=2024-12-31").text
    assert re.search(r"On 2024-12-31: version 1, “Lives in Lisbon”", then)
    assert "not true" in v.get(f"/memories/{fact.memory_id}?as_of=2023-01-01").text
    assert "Lives in Porto" in v.get("/facts/alice?as_of=2025-07-01").text
    assert "Lives in Porto" not in v.get("/facts/alice?as_of=2024-07-01").text


def test_recall_shows_each_hits_score_parts(viewer):
    v = viewer()
    fill(v.mem)
    page = v.get("/recall?q=Dagster+migration&resource=alice&mode=keyword").text
    assert "The Dagster migration is due in March." in page
    assert page.count('class="bar keyword"') >= 1 and 'class="bar decay"' in page
    assert "0 hits" not in page


def test_tokens_page_is_memcli_tokens_as_a_picture(viewer, cli):
    v = viewer()
    fill(v.mem)
    r = cli("tokens", "-t", "t-work", "-r", "alice", "-m", "openai/gpt-4o-mini", "-p", "hi", "--json")
    report = __import__("json").loads(r.out)
    page = v.get("/tokens?thread=t-work&model=openai/gpt-4o-mini&prompt=hi").text
    for name, tokens in report["sections"].items():
        if tokens:
            assert f"<title>{name}: {tokens}</title>" in page
    assert f"{report['total']} of {report['window']} tokens" in page
    # without a model configured the page says what to do, in one line
    assert "No chat model is configured" in v.get("/tokens").text


def test_observation_log_links_to_the_messages_it_came_from(viewer, scripted_model):
    from fake_llm import reply

    v = viewer()
    fill(v.mem)
    scripted_model.script(
        [
            reply(
                "<observations>\nDate: Dec 1, 2026\n* 🔴 (10:00) Dagster migration due in March\n</observations>"
            )
        ]
    )
    v.mem.observe(thread_id="t-work", force=True)
    v.mem.add_message(
        "A later message, not observed yet.", thread_id="t-work", resource_id="alice", embed=False
    )
    page = v.get("/observations/threads/t-work").text
    assert "Dagster migration due in March" in page and "generation 1" in page
    assert "model: 10 in, 5 out" in page  # the run's tokens, as the scripted server counted them
    assert re.search(r"Unobserved: 1 messages", page)
    link = re.search(r'href="(/observed/threads/t-work\?generation=1)"', page)
    assert link
    sources = v.get(link.group(1)).text
    assert "The Dagster migration is due in March." in sources and "A later message" not in sources


def test_errors_are_one_line_pages(viewer):
    v = viewer()
    assert v.get("/threads/nope").status_code == 404
    r = v.get("/no/such/page")
    assert r.status_code == 404 and "no page at /no/such/page" in r.text
    r = v.get("/resources/alice?page=abc")
    assert r.status_code in (400, 404)
    assert v.get("/export/alice?format=zip").status_code in (400, 404)
