"""Observational-memory settings: flag > environment > config file > default."""

import os

from memcli import config
from memcli.observational.observer import DEFAULT_MESSAGE_TOKENS
from memcli.observational.reflector import DEFAULT_OBSERVATION_TOKENS


def _number(flag: int | None, env: str, key: str, default: int) -> int:
    if flag is not None:
        return flag
    if os.environ.get(env):
        return int(os.environ[env])
    return int(config.get(key, default))


def message_tokens(flag: int | None = None) -> int:
    return _number(flag, "MEMCLI_OBSERVATION_TOKENS", "observation.message_tokens", DEFAULT_MESSAGE_TOKENS)


def observation_tokens(flag: int | None = None) -> int:
    return _number(
        flag, "MEMCLI_REFLECTION_TOKENS", "reflection.observation_tokens", DEFAULT_OBSERVATION_TOKENS
    )


def model(kind: str, flag: str | None = None) -> str | None:
    """observation.model / reflection.model; None means the chat model."""
    return flag or config.get(f"{kind}.model")


def enabled() -> bool:
    """Observational memory in chat: on unless the config says observation.enabled = false."""
    value = os.environ.get("MEMCLI_OBSERVATIONAL")
    if value is not None:
        return value.lower() not in ("0", "false", "no", "off")
    return bool(config.get("observation.enabled", True))
