"""Token counting with tiktoken, offline.

tiktoken downloads its BPE files on first use; litellm ships cl100k_base,
o200k_base and p50k_base, so unless the user set TIKTOKEN_CACHE_DIR we point
it at that folder (found without importing litellm, which is slow).
"""

import importlib.util
from functools import lru_cache
from pathlib import Path

from memcli.envscope import scoped_env

DEFAULT_ENCODING = "cl100k_base"


def _bundled_cache_dir() -> str | None:
    spec = importlib.util.find_spec("litellm")
    if not spec or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "litellm_core_utils" / "tokenizers"
    return str(folder) if folder.is_dir() else None


@lru_cache(maxsize=4)
def encoding(name: str = DEFAULT_ENCODING):
    import tiktoken

    bundled = _bundled_cache_dir()
    with scoped_env(**({"TIKTOKEN_CACHE_DIR": bundled} if bundled else {})):
        return tiktoken.get_encoding(name)  # read while the folder is set; tiktoken keeps it


def count(text: str, encoding_name: str = DEFAULT_ENCODING) -> int:
    return len(encoding(encoding_name).encode_ordinary(text))


def count_many(texts: list[str], encoding_name: str = DEFAULT_ENCODING) -> list[int]:
    if not texts:
        return []
    enc = encoding(encoding_name)
    # a plain loop: encode_ordinary_batch's thread pool measured 3x slower on short texts
    return [len(enc.encode_ordinary(text)) for text in texts]


def batches(messages: list, limit: int, *, most: int | None = None, cap: int | None = None) -> list[list]:
    """Consecutive groups of messages under `limit` tokens (and at most `most` of them);
    each message counts at most `cap` tokens, and one over the limit goes alone."""
    out: list[list] = []
    current: list = []
    size = 0
    for m in messages:
        cost = min(m.token_count, cap) if cap else m.token_count
        if current and (size + cost > limit or (most is not None and len(current) >= most)):
            out.append(current)
            current, size = [], 0
        current.append(m)
        size += cost
    if current:
        out.append(current)
    return out
