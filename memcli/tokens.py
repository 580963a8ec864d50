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

    found = _from_cache(name, tiktoken)
    if found is not None:
        return found
    bundled = _bundled_cache_dir()
    with scoped_env(**({"TIKTOKEN_CACHE_DIR": bundled} if bundled else {})):
        made = tiktoken.get_encoding(name)  # read while the folder is set; tiktoken keeps it
    _to_cache(name, tiktoken, made)
    return made


# tiktoken parses its BPE file (100k base64 lines) on every start: about half of what
# `memcli add` costs. The parsed ranks are kept in memcli's cache as marshal data (read
# in a tenth of the time), keyed by tiktoken's version; any doubt and the file is re-read.
def _cache_file(name: str, tiktoken) -> Path:
    from memcli.paths import cache_dir

    return cache_dir() / "tiktoken" / f"{name}-{tiktoken.__version__}.marshal"


def _from_cache(name: str, tiktoken):
    import marshal

    try:
        data = marshal.loads(_cache_file(name, tiktoken).read_bytes())
        return tiktoken.Encoding(
            name=name,
            pat_str=data["pat_str"],
            mergeable_ranks=data["ranks"],
            special_tokens=data["special"],
        )
    except (OSError, EOFError, ValueError, TypeError, KeyError):
        return None


def _to_cache(name: str, tiktoken, made) -> None:
    import marshal
    import os

    from memcli.paths import ensure_private_dir

    target = _cache_file(name, tiktoken)
    data = {"pat_str": made._pat_str, "ranks": made._mergeable_ranks, "special": made._special_tokens}
    try:
        ensure_private_dir(target.parent)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps(data))
        os.replace(tmp, target)  # atomic: a concurrent command never reads half a file
    except OSError:
        pass  # a cache, nothing more


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
