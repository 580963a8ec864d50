"""`memcli ui` as people start it: a real server process on a free port, over real HTTP."""

from __future__ import annotations

import http.client
import os
import sys
import time
from urllib.parse import urlsplit

from memcli import Memory
from ui.conftest import serve


def request(
    origin: str, path: str, *, cookie: str | None = None, method: str = "GET", body: str = "", headers=None
):
    parts = urlsplit(origin)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    sent = {"Cookie": cookie} if cookie else {}
    if body:
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body or None, headers={**sent, **(headers or {})})
    answer = conn.getresponse()
    text = answer.read().decode("utf-8", "replace")
    conn.close()
    return answer, text


def test_serves_on_loopback_with_a_token_and_stops_on_ctrl_c():
    with Memory() as mem:
        mem.add_message("I moved to Lisbon last spring.", thread_id="t1", resource_id="alice", embed=False)
    started = time.perf_counter()
    with serve() as ui:
        elapsed = time.perf_counter() - started
        assert ui.origin.startswith("http://127.0.0.1:")
        answer, _ = request(ui.origin, "/threads/t1")
        assert answer.status == 403
        answer, _ = request(ui.origin, f"/?token={ui.token}")
        assert answer.status == 303 and answer.getheader("Location") == "/"
        cookie = answer.getheader("Set-Cookie").split(";")[0]
        answer, page = request(ui.origin, "/threads/t1", cookie=cookie)
        assert answer.status == 200 and "I moved to Lisbon last spring." in page
        # a raw `GET //evil.example/` must not redirect off this host
        answer, _ = request(ui.origin, f"//evil.example/?token={ui.token}")
        assert answer.getheader("Location") == "/evil.example/"
        answer, _ = request(ui.origin, "/", cookie=cookie, headers={"Host": "evil.example"})
        assert answer.status == 421
    out, err = ui.proc.communicate()
    assert ui.proc.returncode in (0, 130), err
    assert b"Traceback" not in err
    print(f"memcli ui printed its URL {elapsed:.2f} s after it was started")


def test_a_pinned_server_refuses_another_resources_ids():
    with Memory() as mem:
        mem.add_message("alice's", thread_id="ta", resource_id="alice", embed=False)
        mem.add_message("bob's vault code is 4711", thread_id="tb", resource_id="bob", embed=False)
    with serve("--resource", "alice") as ui:
        answer, _ = request(ui.origin, f"/?token={ui.token}")
        cookie = answer.getheader("Set-Cookie").split(";")[0]
        for path in ("/threads/tb", "/resources/bob", "/recall?q=vault&resource=bob"):
            answer, page = request(ui.origin, path, cookie=cookie)
            assert answer.status == 404 and "4711" not in page, path
        answer, page = request(ui.origin, "/threads/ta", cookie=cookie)
        assert answer.status == 200


def test_serving_beyond_loopback_warns():
    with serve("--host", "0.0.0.0") as ui:
        answer, _ = request(ui.origin.replace("0.0.0.0", "127.0.0.1"), f"/?token={ui.token}")
        assert answer.status == 303
        ui.proc.send_signal(__import__("signal").SIGINT)
        _, err = ui.proc.communicate(timeout=30)
    assert b"anyone who can reach this machine" in err


def test_without_the_ui_extra_one_line_says_what_to_install(tmp_path):
    import subprocess

    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text("import sys\nsys.modules['jinja2'] = None\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run(
        [sys.executable, "-m", "memcli", "ui", "--no-open"], capture_output=True, env=env, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.decode().strip().splitlines() == [
        "memcli: error: memcli ui needs jinja2: pip install 'memcli[ui]'"
    ]


def test_a_port_in_use_is_one_line():
    import socket
    import subprocess

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "memcli", "ui", "--no-open", "--port", str(port)],
            capture_output=True,
            timeout=60,
        )
    finally:
        taken.close()
    assert done.returncode == 2 and len(done.stderr.decode().strip().splitlines()) == 1
    assert f"cannot serve on 127.0.0.1:{port}" in done.stderr.decode()
