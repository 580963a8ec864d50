"""A light client for OpenAI-compatible endpoints (MEMCLI_API_BASE), without litellm.

`import litellm` takes seconds on every `memcli ask`; an OpenAI-compatible
server (a local llama.cpp, vLLM, Ollama's /v1, a proxy) needs one HTTP
request. This client speaks the chat completions API with httpx and shares
RetryingLLM's loop with the litellm client, so both retry, time out, stream,
fail and call tools alike (the test suite runs its model tests on both).
It is used for `openai/...` models when an api_base is set, unless
`llm.client` (MEMCLI_LLM_CLIENT) says litellm.
"""

import json
import os

from memcli.llm import ModelError, Reply, RetryingLLM, ToolCall, _Truncated

OPENAI_API = "https://api.openai.com/v1"  # OpenAI itself, when no other endpoint is set


class HTTPStatusError(Exception):
    """An error status from the server, shaped like litellm's (status_code, response.headers)."""

    def __init__(self, status: int, text: str, response):
        try:
            detail = json.loads(text).get("error", {}).get("message") or text
        except (ValueError, AttributeError):
            detail = text
        super().__init__(f"{status} {str(detail).strip()[:300]}")
        self.status_code = status
        self.response = response


class OpenAICompatible(RetryingLLM):
    def _transient(self, exc, status) -> bool:
        import httpx

        return status is None and isinstance(exc, httpx.TransportError)

    def _request(self, messages, tools, stream: bool) -> dict:
        body = {
            "model": self.model.split("/", 1)[1] if "/" in self.model else self.model,
            "messages": messages,
        }
        if tools:
            body["tools"] = tools
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def _preflight(self) -> None:
        if (self.api_base or OPENAI_API).rstrip("/") == OPENAI_API and not self._key():
            raise ModelError(
                f"model {self.model} needs OPENAI_API_KEY set for OpenAI (or MEMCLI_API_BASE / "
                "OPENAI_BASE_URL for an OpenAI-compatible server); nothing was sent"
            )

    def _key(self) -> str | None:
        return self.api_key or os.environ.get("OPENAI_API_KEY")

    def _headers(self) -> dict:
        key = self._key()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _call(self, messages, tools, on_token, emitted) -> Reply:
        import httpx

        url = (self.api_base or OPENAI_API).rstrip("/") + "/chat/completions"
        body = self._request(messages, tools, stream=on_token is not None)
        timeout = httpx.Timeout(self.timeout)
        with httpx.Client(timeout=timeout) as client:
            if on_token is None:
                response = client.post(url, json=body, headers=self._headers())
                if response.status_code >= 400:
                    raise HTTPStatusError(response.status_code, response.text, response)
                return self._reply(response.json())
            with client.stream("POST", url, json=body, headers=self._headers()) as response:
                if response.status_code >= 400:
                    response.read()
                    raise HTTPStatusError(response.status_code, response.text, response)
                return self._stream(response, on_token, emitted)

    def _reply(self, data: dict) -> Reply:
        try:
            message = data["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise _Truncated("the model's answer has no choices") from None
        calls = [
            ToolCall(
                c.get("id") or f"call_{i}", c["function"]["name"], c["function"].get("arguments") or "{}"
            )
            for i, c in enumerate(message.get("tool_calls") or [])
        ]
        return Reply(
            message.get("content") or "", calls, _usage(data.get("usage")), data.get("model") or self.model
        )

    def _stream(self, response, on_token, emitted) -> Reply:
        text: list[str] = []
        calls: dict[int, dict] = {}
        usage: dict[str, int] = {}
        finished, model = False, self.model
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                break
            try:
                chunk = json.loads(payload)
            except json.JSONDecodeError:
                raise _Truncated("the model's stream sent a malformed chunk") from None
            usage = _usage(chunk.get("usage")) or usage
            model = chunk.get("model") or model
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    emitted.append(len(delta["content"]))
                    text.append(delta["content"])
                    on_token(delta["content"])
                for call in delta.get("tool_calls") or []:
                    slot = calls.setdefault(call.get("index", 0), {"id": None, "name": "", "arguments": ""})
                    slot["id"] = call.get("id") or slot["id"]
                    function = call.get("function") or {}
                    slot["name"] += function.get("name") or ""
                    slot["arguments"] += function.get("arguments") or ""
                if choice.get("finish_reason"):
                    finished = True
        if not finished:
            raise _Truncated("the model's stream ended before it finished")
        tool_calls = [
            ToolCall(c["id"] or f"call_{i}", c["name"], c["arguments"] or "{}")
            for i, c in sorted(calls.items())
        ]
        return Reply("".join(text), tool_calls, usage, model)


def _usage(usage) -> dict:
    if not isinstance(usage, dict):
        return {}
    return {
        "prompt_tokens": usage.get("prompt_tokens") or 0,
        "completion_tokens": usage.get("completion_tokens") or 0,
    }
