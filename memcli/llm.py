"""Chat models through litellm, imported only when a model is called (~3.5 s).

`LLM` is the protocol context assembly and chat use; `LiteLLM` implements it
with bounded retries (exponential backoff with jitter, honouring
Retry-After) on 408/429/5xx, timeouts and dropped connections.
"""

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from memcli.errors import MemcliError

MODEL_HINT = (
    "no chat model configured: set MEMCLI_MODEL (for example MEMCLI_MODEL=openai/gpt-4o-mini "
    "or MEMCLI_MODEL=ollama/llama3.2) or pass --model"
)
RETRYABLE = {408, 409, 425, 429, 500, 502, 503, 504}


class ModelError(MemcliError):
    """The model could not answer (after retries)."""


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str  # raw JSON text as the model sent it


@dataclass
class Reply:
    content: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: dict = field(default_factory=dict)
    model: str = ""


class LLM(Protocol):
    model: str

    def complete(
        self,
        messages: list[dict],
        *,
        tools: list[dict] | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> Reply: ...

    def context_window(self) -> int: ...


def resolve_model(model: str | None) -> str:
    """The model name settings resolved, or the one-line hint when there is none."""
    if not model:
        raise ModelError(MODEL_HINT)
    return model


def _status(exc: Exception) -> int | None:
    for attr in ("status_code", "code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    return None


def _retry_after(exc: Exception) -> float | None:
    """Seconds the server asked us to wait. litellm keeps the response's headers on the
    exception (`litellm_response_headers`); the raw response may carry them too."""
    places = (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    )
    for headers in places:
        if not headers:
            continue
        try:
            value = headers.get("retry-after") or headers.get("Retry-After")
            if value is not None:
                return max(0.0, float(value))
        except (TypeError, ValueError, AttributeError):
            continue
    return None


HOPELESS_STATUS = {400, 401, 402, 403, 404, 413, 422}
_HOPELESS_TEXT = (
    "connection refused",
    "errno 111",
    "name or service not known",
    "nodename nor servname",
    "api key",
    "api_key",
    "no such host",
)


def _hopeless(exc: Exception, status: int | None) -> bool:
    """Errors another try cannot fix: a refused connection, an unknown host, a missing
    or wrong key, a request the server rejects."""
    if status in HOPELESS_STATUS:
        return True
    seen, current = 0, exc
    while current is not None and seen < 6:  # the cause chain: litellm wraps httpx wraps OSError
        if isinstance(current, ConnectionRefusedError):
            return True
        text = str(current).lower()
        if any(marker in text for marker in _HOPELESS_TEXT):
            return True
        current, seen = current.__cause__ or current.__context__, seen + 1  # type: ignore[assignment]
    return False


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


class RetryingLLM:
    """The retry loop both clients share: bounded attempts, backoff with jitter,
    Retry-After honoured, hopeless errors at once, no retry once text was shown."""

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        window: int | None = None,
        notice: Callable[[str], None] | None = None,
    ):
        self.model = model
        self.notice = notice  # hears of retries (the CLI prints them on stderr)
        self.api_base = api_base or None
        self.api_key = api_key
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._window = window
        self.attempts = 0  # requests sent, for reports and tests

    def context_window(self) -> int:
        if self._window:
            return self._window
        from memcli.model_windows import context_window

        return context_window(self.model)

    def _call(self, messages, tools, on_token, emitted: list[int]) -> Reply:
        raise NotImplementedError

    def _transient(self, exc: Exception, status: int | None) -> bool:
        """Worth another try (besides status codes in RETRYABLE and cut streams)."""
        raise NotImplementedError

    def _preflight(self) -> None:
        """Refuse at once, with one line naming what to set, a call that cannot succeed
        (a missing API key): nothing is sent, nothing retried."""

    def complete(self, messages, *, tools=None, on_token=None) -> Reply:
        self._preflight()
        attempt = 0
        while True:
            attempt += 1
            self.attempts += 1
            emitted: list[int] = []
            try:
                return self._call(messages, tools, on_token, emitted)
            except Exception as exc:
                status = _status(exc)
                if emitted:
                    # part of the reply is already on the screen: a retry would print it twice
                    raise ModelError(
                        f"model {self.model}'s reply broke off after {sum(emitted)} characters "
                        f"({_first_line(exc)}); your message is kept, ask again"
                    ) from exc
                transient = not _hopeless(exc, status) and (
                    status in RETRYABLE or isinstance(exc, _Truncated) or self._transient(exc, status)
                )
                if not transient or attempt > self.max_retries:
                    suffix = f" after {attempt} attempts" if attempt > 1 else ""
                    raise ModelError(
                        f"model {self.model}{self._where()} failed{suffix}: {_first_line(exc)}"
                    ) from exc
                delay = _retry_after(exc)
                if delay is None:
                    delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
                    delay *= random.uniform(0.8, 1.2)
                delay = min(delay, self.max_backoff)
                if self.notice:
                    self.notice(
                        f"model {self.model}: {_first_line(exc)}; retrying in {delay:.1f}s "
                        f"(attempt {attempt + 1} of {self.max_retries + 1})"
                    )
                time.sleep(delay)

    def _where(self) -> str:
        return f" at {self.api_base}" if self.api_base else ""


class LiteLLM(RetryingLLM):
    """Every provider litellm knows (imported on the first call: ~2.5 s)."""

    def _preflight(self) -> None:
        if self.api_base or self.api_key:
            return  # a server of one's own may need no key
        provider = self.model.split("/", 1)[0]
        missing = [
            k
            for k in self._litellm().validate_environment(model=self.model).get("missing_keys") or []
            if k.endswith(("_KEY", "_TOKEN"))
        ]
        if missing:
            raise ModelError(
                f"model {self.model} needs {' and '.join(missing)} set for {provider} "
                "(or MEMCLI_API_BASE for a server of your own); nothing was sent"
            )

    def _litellm(self):
        from memcli.envscope import scoped_env

        with scoped_env(LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_LOG="ERROR"):
            import litellm  # reads both at import: no network fetch of its cost map, no debug log

        litellm.suppress_debug_info = True
        litellm.telemetry = False
        return litellm

    def _transient(self, exc, status) -> bool:
        litellm = self._litellm()
        errors = litellm.exceptions.APIConnectionError | litellm.exceptions.Timeout
        return status is None and isinstance(exc, errors)

    def _call(self, messages, tools, on_token, emitted) -> Reply:
        litellm = self._litellm()
        kwargs = dict(model=self.model, messages=messages, timeout=self.timeout, num_retries=0)
        if tools:
            kwargs["tools"] = tools
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key:
            kwargs["api_key"] = self.api_key
        if on_token is None:
            return self._parse(litellm.completion(**kwargs))
        return self._stream(litellm, kwargs, messages, on_token, emitted)

    def _stream(self, litellm, kwargs, messages, on_token, emitted: list[int]) -> Reply:
        chunks = []
        finished = False
        for chunk in litellm.completion(**kwargs, stream=True, stream_options={"include_usage": True}):
            chunks.append(chunk)
            choice = chunk.choices[0] if chunk.choices else None
            if choice is None:
                continue
            text = getattr(choice.delta, "content", None)
            if text:
                emitted.append(len(text))
                on_token(text)
            if choice.finish_reason:
                finished = True
        if not finished:
            raise _Truncated("the model's stream ended before it finished")
        return self._parse(litellm.stream_chunk_builder(chunks, messages=messages))

    def _parse(self, response) -> Reply:
        message = response.choices[0].message
        calls = [
            ToolCall(c.id or f"call_{i}", c.function.name, c.function.arguments or "{}")
            for i, c in enumerate(getattr(message, "tool_calls", None) or [])
        ]
        usage = getattr(response, "usage", None)
        usage_dict = {}
        if usage is not None:
            usage_dict = {
                "prompt_tokens": getattr(usage, "prompt_tokens", 0) or 0,
                "completion_tokens": getattr(usage, "completion_tokens", 0) or 0,
            }
        return Reply(
            message.content or "", calls, usage_dict, getattr(response, "model", self.model) or self.model
        )


class _Truncated(Exception):
    """A stream that stopped without a finish reason: worth one more try."""


def tool_arguments(call: ToolCall) -> dict:
    """The call's arguments as a dict, or MemcliError naming what is wrong."""
    try:
        value = json.loads(call.arguments or "{}")
    except json.JSONDecodeError as exc:
        raise MemcliError(f"tool {call.name} got invalid JSON arguments ({exc.msg})") from None
    if not isinstance(value, dict):
        raise MemcliError(f"tool {call.name} arguments must be a JSON object")
    return value


def tools_unsupported(exc: Exception) -> bool:
    """Whether a model's error says it takes no tools (then a turn goes on without them)."""
    text = str(exc).lower()
    return "tool" in text and any(w in text for w in ("support", "not allowed", "unsupported", "does not"))
