"""Strict parsing of Observer/Reflector output, and degenerate-output detection."""

import re

from memcli.errors import MemcliError
from memcli.observational.prompts import ECHO_GUARDS

MAX_LINE = 10_000


class BadModelOutput(MemcliError):
    """The model's answer cannot be used; nothing is written."""


def _section(text: str, tag: str) -> str | None:
    match = re.search(rf"^\s*<{tag}>\s*\n?(.*?)</{tag}>", text, re.S | re.M)
    return match.group(1).strip() if match else None


def section(text: str, tag: str) -> str | None:
    """An optional <tag>...</tag> section of an answer (working memory, a title), or None."""
    return _section(text, tag)


def is_degenerate(text: str) -> str | None:
    """Why the text looks like a model stuck in a loop, or None."""
    lines = text.splitlines()
    if any(len(line) > 50_000 for line in lines):
        return "a line longer than 50,000 characters"
    if len(text) >= 2000:
        step = max(1, (len(text) - 200) // 50)
        windows = [text[i : i + 200] for i in range(0, len(text) - 200, step)][:50]
        repeated = len(windows) - len(set(windows))
        if windows and repeated / len(windows) > 0.4:
            return "repeated text"
    content = [line.strip() for line in lines if line.strip()]
    if len(content) >= 20 and len(content) - len(set(content)) > len(content) / 2:
        return "mostly duplicate lines"
    return None


def without_control_text(text: str, guards: tuple[str, ...] = ()) -> str:
    """The lines that do not repeat the instructions (built-in or the user's own)."""
    every = (*ECHO_GUARDS, *guards)
    return "\n".join(
        line[:MAX_LINE] for line in text.splitlines() if not any(g in line.lower() for g in every)
    )


def parse(text: str, *, need_task: bool, guards: tuple[str, ...] = ()) -> dict:
    """{observations, current_task, suggested_response}; BadModelOutput if unusable.
    guards: more control text (lower case) whose lines are dropped."""
    why = is_degenerate(text)
    if why:
        raise BadModelOutput(f"degenerate model output ({why})")
    observations = _section(text, "observations")
    if observations is None:
        raise BadModelOutput("the model's answer has no <observations> section")
    observations = without_control_text(observations, guards).strip()
    if not observations:
        raise BadModelOutput("the model returned no observations")
    return {
        "observations": observations,
        "current_task": _section(text, "current-task") if need_task else None,
        "suggested_response": _section(text, "suggested-response") if need_task else None,
    }
