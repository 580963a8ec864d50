"""The Reflector: condenses a long observation log into a new generation.

It escalates compression over a bounded ladder of targets, keeps the
smallest valid attempt, never replaces a log with an empty or degenerate
one, and does not try again on the same generation once it has given up
(no reflection loop): the guard lifts when the log changes.
"""

from dataclasses import dataclass, field

from memcli import tokens
from memcli.llm import LLM
from memcli.observational import parse as parsing
from memcli.observational.options import ObserverOptions
from memcli.observational.prompts import REFLECTOR
from memcli.store import owners
from memcli.store.observations import ObservationRecord
from memcli.timefmt import now

DEFAULT_OBSERVATION_TOKENS = 40_000
LADDER = (0.8, 0.6, 0.4, 0.2)  # target sizes, as shares of the threshold


@dataclass
class ReflectResult:
    before_tokens: int = 0
    after_tokens: int = 0
    attempts: int = 0
    generation: int | None = None
    skipped: str | None = None
    attempt_tokens: list[int] = field(default_factory=list)


def _guard_key(scope: str, scope_id: str) -> str:
    return f"reflection_gave_up:{scope}:{scope_id}"


class Reflector:
    def __init__(
        self,
        store,
        llm: LLM | None,
        *,
        observation_tokens: int = DEFAULT_OBSERVATION_TOKENS,
        options: ObserverOptions | None = None,
    ):
        self.store = store
        self.llm = llm
        self.threshold = observation_tokens
        self.options = options or ObserverOptions()
        self.options.check()

    def run(self, scope: str, scope_id: str, *, force: bool = False, dry_run: bool = False) -> ReflectResult:
        result = ReflectResult()
        latest = self.store.observations.latest(scope, scope_id)
        if latest is None or not latest.observations.strip():
            result.skipped = "no observations yet"
            return result
        result.before_tokens = latest.token_count
        if latest.token_count <= self.threshold and not force:
            result.skipped = f"{latest.token_count} tokens, not above the threshold of {self.threshold}"
            return result
        if not force and self.store.get_setting(_guard_key(scope, scope_id)) == str(latest.generation):
            result.skipped = "reflection already gave up on this log; it retries once the log changes"
            return result
        if dry_run:
            result.skipped = "dry run"
            return result
        best: str | None = None
        best_tokens = latest.token_count
        used = {"tokens_in": 0, "tokens_out": 0}
        guards = self.options.control_lines("reflection")
        for share in LADDER:
            result.attempts += 1
            target = int(self.threshold * share)
            prompt = self.options.system_prompt(
                REFLECTOR.format(target=target, current=latest.token_count), "reflection"
            )
            reply = self.llm.complete(  # type: ignore[union-attr]
                [{"role": "system", "content": prompt}, {"role": "user", "content": latest.observations}]
            )
            used["tokens_in"] += int(reply.usage.get("prompt_tokens", 0) or 0)
            used["tokens_out"] += int(reply.usage.get("completion_tokens", 0) or 0)
            try:
                text = parsing.parse(reply.content, need_task=False, guards=guards)["observations"]
                text = parsing.without_control_text(
                    self.options.transform(text, "reflection") or "", guards
                ).strip()
            except parsing.BadModelOutput:
                result.attempt_tokens.append(0)
                continue
            size = tokens.count(text)
            result.attempt_tokens.append(size)
            if size < best_tokens:
                best, best_tokens = text, size
            if size <= self.threshold:
                break
        with self.store.transaction():
            now_latest = self.store.observations.latest(scope, scope_id)
            if now_latest is None or now_latest.generation != latest.generation:
                result.skipped = "the log changed meanwhile (another observer or reflector); nothing written"
                return result
            if best is not None:
                record = ObservationRecord(
                    scope=scope,
                    scope_id=scope_id,
                    generation=latest.generation + 1,
                    origin="reflection",
                    observations=best,
                    current_task=latest.current_task,
                    suggested_response=latest.suggested_response,
                    token_count=best_tokens,
                    observed_tokens=latest.observed_tokens,
                    last_observed_rowid=latest.last_observed_rowid,
                    metadata={"reflected_from": latest.generation, "attempts": result.attempts, **used},
                    created_at=now(),
                )
                self.store.observations.append(
                    record, owner=owners.scope_owner(self.store.conn, scope, scope_id)
                )
                result.generation = record.generation
            if best is None or best_tokens > self.threshold:
                # still too long (or nothing usable): stop until the log changes
                generation = result.generation or latest.generation
                self.store.set_setting(_guard_key(scope, scope_id), str(generation))
        result.after_tokens = best_tokens
        if best is None:
            result.skipped = "every attempt was empty or degenerate; the log is unchanged"
        return result
