"""Settings resolved in one place: flag > environment > config file > default.

The CLI and the MCP server build one `Settings` from their flags and hand it
to `Memory`; nothing below reads the environment or the config file for
these values again. Every value is checked here, so a bad one is a one-line
error naming where it came from, not a crash later.
"""

import os
from dataclasses import dataclass, fields, replace
from typing import Any

from memcli import config

DEFAULT_RESOURCE = "default"

# Settings field -> config key
_KEYS = {
    "resource": "resource",
    "model": "model",
    "api_base": "api_base",
    "llm_client": "llm.client",
    "timeout": "timeout",
    "llm_backoff": "llm.backoff",
    "recall_top_k": "recall.top_k",
    "recall_message_range": "recall.message_range",
    "observation_enabled": "observation.enabled",
    "observation_tokens": "observation.message_tokens",
    "observation_model": "observation.model",
    "observation_instruction": "observation.instruction",
    "observation_previous_tokens": "observation.previous_tokens",
    "observation_hints": "observation.continuation_hints",
    "observation_redact": "observation.redact",
    "observation_hook": "observation.hook",
    "observation_retrieval": "observation.retrieval",
    "observation_retrieval_vector": "observation.retrieval_vector",
    "observation_buffer_tokens": "observation.buffer_tokens",
    "observation_buffer_activation": "observation.buffer_activation",
    "observation_block_after": "observation.block_after",
    "observation_activate_after_idle": "observation.activate_after_idle",
    "observation_manage_working_memory": "observation.manage_working_memory",
    "observation_thread_titles": "observation.thread_titles",
    "observation_retrieval_instructions": "observation.retrieval_instructions",
    "reflection_tokens": "reflection.observation_tokens",
    "reflection_instruction": "reflection.instruction",
    "reflection_model": "reflection.model",
    "title_model": "title.model",
    "embedding_model": "embedding_model",
    "embedding_model_path": "embedding_model_path",
    "memories_extract": "memories.extract",
    "chat_plain": "chat.plain",
}


@dataclass(frozen=True)
class Settings:
    db: str | None = None  # a path or postgresql:// URL; None: MEMCLI_DB or the default file
    db_read: str | None = None  # MEMCLI_DB_READ: a PostgreSQL replica that serves reads
    db_read_of: str | None = None  # the database db_read replicates (MEMCLI_DB); None: any
    resource: str | None = None  # the default owner; None: "default", and owners are not checked
    model: str | None = None
    api_base: str | None = None
    llm_client: str = "auto"
    timeout: float = 120.0
    llm_backoff: float = 1.0
    recall_top_k: int = 4
    recall_message_range: int = 1
    observation_enabled: bool = True
    observation_tokens: int = 30_000
    observation_model: str | None = None
    observation_instruction: str | None = None  # appended to the Observer's prompt
    observation_previous_tokens: int = 2_000  # earlier log the Observer sees
    observation_hints: bool = True  # current task and suggested response
    observation_redact: tuple[str, ...] | None = None  # regexes blanked before saving
    observation_hook: str | None = None  # module:function(text, kind) -> text
    observation_retrieval: bool = False  # the chat model may open the messages behind observations
    observation_retrieval_vector: bool = False  # observation groups get vectors for semantic recall
    observation_buffer_tokens: int = 0  # observe ahead in the background every N tokens (0: off)
    observation_buffer_activation: float = 0.8  # share of the threshold buffers cover; the rest stays raw
    observation_block_after: float = 1.2  # x threshold: above it a turn waits for the Observer
    observation_activate_after_idle: float = 0.0  # seconds idle after which buffers go in (0: off)
    observation_manage_working_memory: bool = False  # the Observer keeps working memory
    observation_thread_titles: bool = False  # the Observer titles untitled threads
    observation_retrieval_instructions: str | None = None  # extend that tool's description
    reflection_tokens: int = 40_000
    reflection_instruction: str | None = None
    reflection_model: str | None = None
    title_model: str | None = None
    embedding_model: str | None = None  # None: the bundled model when installed
    embedding_model_path: str | None = None  # a local folder with its files
    memories_extract: bool = False
    chat_plain: bool = False  # chat replies as plain text even on a terminal
    # only `resource` may be named: Memory refuses any other (memcli mcp --resource R)
    pinned: bool = False

    @classmethod
    def resolve(cls, **flags: Any) -> "Settings":
        """Environment and config file under the given flags (None means not given)."""
        values: dict[str, Any] = {}
        for name, key in _KEYS.items():
            flag = flags.pop(name, None)
            values[name] = (
                config.check(key, flag, "the command line") if flag is not None else config.resolve(key)[0]
            )
        db = flags.pop("db", None)
        db_read, db_read_of = flags.pop("db_read", None), None
        if db_read is None and os.environ.get("MEMCLI_DB_READ"):
            db_read, db_read_of = os.environ["MEMCLI_DB_READ"], os.environ.get("MEMCLI_DB") or None
        pinned = bool(flags.pop("pinned", False))
        if flags:
            raise TypeError(f"unknown settings: {', '.join(flags)}")
        return cls(db=db, db_read=db_read, db_read_of=db_read_of, pinned=pinned, **values)

    def replica_for(self, path) -> str | None:
        """The read replica of this database: MEMCLI_DB_READ goes with MEMCLI_DB, not with
        another database a command names (`db copy`'s source and destination)."""
        if not self.db_read:
            return None
        if self.db_read_of is not None:
            from memcli import database

            if str(database.target(self.db_read_of).location) != str(path):
                return None
        return self.db_read

    def with_flags(self, **flags: Any) -> "Settings":
        """A copy with the given (non-None) flags checked and applied."""
        known = {f.name for f in fields(self)}
        changes = {}
        for name, value in flags.items():
            if name not in known:
                raise TypeError(f"unknown setting {name}")
            if value is not None:
                changes[name] = (
                    config.check(_KEYS[name], value, "the command line") if name in _KEYS else value
                )
        return replace(self, **changes)

    @property
    def owner(self) -> str:
        """The resource that owns what is created without one."""
        return self.resource or DEFAULT_RESOURCE

    def model_for(self, kind: str) -> str | None:
        """The model for chat, observation, reflection or title (each falls back to chat's)."""
        specific = {
            "observation": self.observation_model,
            "reflection": self.reflection_model,
            "title": self.title_model,
        }.get(kind)
        return specific or self.model
