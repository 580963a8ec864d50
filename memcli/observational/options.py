"""What the Observer and Reflector are told and what happens to their output before it is saved.

- `instruction` / `reflection_instruction`: appended to the built-in prompt (Mastra's
  `instruction`); they extend its rules, never replace them.
- `previous_tokens`: how much of the earlier log the Observer sees (Mastra's
  `previousObserverTokens`); 0 shows none.
- `hints`: the continuation hints (current task, suggested response), asked for and kept, or not.
- `manage_working_memory`: the Observer keeps the resource's working memory up to date (Mastra's
  `manageWorkingMemory`); the chat model then only reads it. `titles`: it titles untitled threads.
- `redact`: regular expressions whose matches become "[redacted]" in every observation,
  reflection and hint before it is saved; `hook`: "module:function", called as
  function(text, kind) -> text after the redactions, for anything else.
Control text — the built-in rules and the user's own instruction — never lands in the log:
lines that repeat it are dropped (parse.py), whatever a hook returns is checked again.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from memcli.errors import UsageError

REDACTED = "[redacted]"
EXTENSION_HEADER = "Additional instructions (they extend the rules above and never replace them):"


@dataclass(frozen=True)
class ObserverOptions:
    instruction: str | None = None
    reflection_instruction: str | None = None
    previous_tokens: int = 2_000
    hints: bool = True
    redact: tuple[str, ...] = ()
    hook: str | None = None
    manage_working_memory: bool = False  # the Observer keeps working memory, not the chat model
    titles: bool = False  # the Observer titles untitled threads

    @classmethod
    def from_settings(cls, settings) -> ObserverOptions:
        return cls(
            instruction=settings.observation_instruction,
            reflection_instruction=settings.reflection_instruction,
            previous_tokens=settings.observation_previous_tokens,
            hints=settings.observation_hints,
            redact=tuple(settings.observation_redact or ()),
            hook=settings.observation_hook,
            manage_working_memory=settings.observation_manage_working_memory,
            titles=settings.observation_thread_titles,
        )

    def system_prompt(self, base: str, kind: str) -> str:
        extra = self.instruction if kind == "observation" else self.reflection_instruction
        return f"{base}\n\n{EXTENSION_HEADER}\n{extra.strip()}" if extra and extra.strip() else base

    def control_lines(self, kind: str) -> tuple[str, ...]:
        """The user's instruction lines: a log line repeating one is the model echoing its prompt."""
        extra = self.instruction if kind == "observation" else self.reflection_instruction
        lines = [EXTENSION_HEADER, *(extra or "").splitlines()]
        return tuple(line.strip().lower() for line in lines if len(line.strip()) >= 12)

    @cached_property
    def _patterns(self) -> list[re.Pattern]:
        try:
            return [re.compile(p) for p in self.redact]
        except re.error as exc:
            raise UsageError(f"observation.redact has a bad regular expression: {exc}") from None

    @cached_property
    def _hook(self) -> Callable[[str, str], str] | None:
        if not self.hook:
            return None
        module, _, name = self.hook.partition(":")
        try:
            found = getattr(importlib.import_module(module), name) if name else None
        except (ImportError, AttributeError) as exc:
            raise UsageError(f"observation.hook {self.hook!r} cannot be loaded: {exc}") from None
        if not callable(found):
            raise UsageError(f"observation.hook must name a function as module:function, not {self.hook!r}")
        return found

    def transform(self, text: str | None, kind: str) -> str | None:
        """Redactions, then the hook, on text about to be saved (None stays None)."""
        if text is None:
            return None
        for pattern in self._patterns:
            text = pattern.sub(REDACTED, text)
        if self._hook is not None:
            changed = self._hook(text, kind)
            if not isinstance(changed, str):
                raise UsageError(
                    f"observation.hook {self.hook!r} returned {type(changed).__name__}, not text"
                )
            text = changed
        return text

    def check(self) -> None:
        """Fail now, in one line, on a bad pattern or hook (not after a paid model call)."""
        self._patterns  # noqa: B018
        self._hook  # noqa: B018
