"""A scripted OpenAI-compatible chat server on 127.0.0.1, for driving litellm for real.

    server = FakeLLM(); server.start()
    server.script([reply("Hello"), error(429, retry_after=0), tool_call("update_working_memory", {...})])
    ... memcli talks to http://127.0.0.1:PORT/v1 ...
    server.requests  # every JSON body received, in order

Replies are consumed in order; when the script runs out, the server answers
"(no more scripted replies)". Streaming requests get SSE chunks.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def reply(text: str, *, prompt_tokens: int = 10, completion_tokens: int = 5) -> dict:
    return {"kind": "reply", "text": text, "usage": (prompt_tokens, completion_tokens)}


def tool_call(name: str, arguments, *, text: str = "") -> dict:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"kind": "tool", "name": name, "arguments": args, "text": text}


def error(status: int, *, retry_after: float | None = None, body: str = "scripted failure") -> dict:
    return {"kind": "error", "status": status, "retry_after": retry_after, "body": body}


def truncated(text: str) -> dict:
    """A stream that stops mid-way without [DONE]."""
    return {"kind": "truncated", "text": text}


def slow(seconds: float, then: dict) -> dict:
    return {"kind": "slow", "seconds": seconds, "then": then}


def stalled(text: str, event) -> dict:
    """A streamed answer that sends `text`, then stalls until event is set (a reply cut
    short by Ctrl-C mid-answer), then ends."""
    return {"kind": "stalled", "text": text, "event": event}


def raw_stream(*events: str) -> dict:
    """A streamed answer made of these SSE data payloads, as sent (malformed ones too)."""
    return {"kind": "raw_stream", "events": list(events)}


def gate(event, then: dict) -> dict:
    """Answer `then` once the test sets event (held outside the server's lock)."""
    return {"kind": "gate", "event": event, "then": then}


class FakeLLM:
    def __init__(self, responder=None):
        """responder(body) -> step, when the script is empty (for benchmarks)."""
        self.responder = responder
        self.requests: list[dict] = []
        self._script: list[dict] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with owner._lock:
                    owner.requests.append(body)
                    if owner._script:
                        step = owner._script.pop(0)
                    elif owner.responder is not None:
                        step = owner.responder(body)
                    else:
                        step = reply("(no more scripted replies)")
                owner._answer(self, body, step)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def start(self):
        self._stopping = threading.Event()
        self._serving = threading.Thread(target=self._serve, daemon=True)
        self._serving.start()
        return self

    def _serve(self) -> None:
        # our own loop rather than serve_forever: socketserver's shutdown() waits without a
        # time limit, and once hung a whole CI run in a fixture's teardown
        self.httpd.timeout = 0.05
        while not self._stopping.is_set():
            self.httpd.handle_request()

    def stop(self):
        self._stopping.set()
        self._serving.join(timeout=10)
        self.httpd.server_close()

    def script(self, steps: list[dict]) -> None:
        with self._lock:
            self._script.extend(steps)

    # ---- answering -------------------------------------------------------

    def _answer(self, h, body: dict, step: dict) -> None:
        if step["kind"] == "slow":
            time.sleep(step["seconds"])
            step = step["then"]
        if step["kind"] == "gate":
            step["event"].wait(60)
            step = step["then"]
        if step["kind"] == "raw_stream":
            h.send_response(200)
            h.send_header("Content-Type", "text/event-stream")
            h.end_headers()
            for event in step["events"]:
                h.wfile.write(f"data: {event}\n\n".encode())
            h.wfile.write(b"data: [DONE]\n\n")
            h.wfile.flush()
            return
        if step["kind"] == "error":
            payload = json.dumps(
                {"error": {"message": step["body"], "type": "scripted", "code": step["status"]}}
            )
            h.send_response(step["status"])
            h.send_header("Content-Type", "application/json")
            if step["retry_after"] is not None:
                h.send_header("Retry-After", str(step["retry_after"]))
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload.encode())
            return
        message: dict = {"role": "assistant", "content": step.get("text") or None}
        finish = "stop"
        if step["kind"] == "tool":
            message["tool_calls"] = [
                {
                    "id": f"call_{len(self.requests)}",
                    "type": "function",
                    "function": {"name": step["name"], "arguments": step["arguments"]},
                }
            ]
            finish = "tool_calls"
        prompt, completion = step.get("usage", (10, 5))
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        if body.get("stream"):
            pause = step["event"] if step["kind"] == "stalled" else None
            self._stream(h, message, finish, usage, truncate=step["kind"] == "truncated", pause=pause)
            return
        payload = json.dumps(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": usage,
            }
        )
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload.encode())

    def _stream(self, h, message, finish, usage, truncate=False, pause=None) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()

        def send(delta, finish_reason=None, extra=None):
            chunk = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": "fake",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }
            if extra:
                chunk.update(extra)
            h.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            h.wfile.flush()

        send({"role": "assistant", "content": ""})
        text = message.get("content") or ""
        words = text.split(" ")
        for i, word in enumerate(words):
            if truncate and i >= max(1, len(words) // 2):
                return  # connection closes mid-stream
            send({"content": word + (" " if i < len(words) - 1 else "")})
        if pause is not None:
            pause.wait(60)
        for call in message.get("tool_calls", []):
            send(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["function"]["name"], "arguments": ""},
                        }
                    ]
                }
            )
            send({"tool_calls": [{"index": 0, "function": {"arguments": call["function"]["arguments"]}}]})
        send({}, finish, {"usage": usage})
        h.wfile.write(b"data: [DONE]\n\n")
        h.wfile.flush()
