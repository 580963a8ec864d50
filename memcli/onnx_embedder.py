"""The bundled (or any local) all-MiniLM-L6-v2 run with onnxruntime and tokenizers directly.

fastembed does the same for this model — tokenize, run the ONNX graph, mean-pool
over the attention mask, L2-normalise — but importing it costs about a second
(huggingface_hub, PIL, loguru...), paid by every `ask` and `recall` that embeds.
This does those four steps with fastembed's own settings (truncation and padding
from the folder's tokenizer files), and a test checks the vectors are
fastembed's to 1e-5. Models of other shapes (CLS pooling, downloads) still go
through fastembed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# models whose fastembed recipe is mean pooling then L2 normalisation
MEAN_POOLED = ("sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers/paraphrase-MiniLM-L3-v2")


def fits(name: str, folder: Path | None) -> bool:
    return name in MEAN_POOLED and folder is not None and (folder / "model.onnx").is_file()


class OnnxEmbedder:
    def __init__(self, name: str, folder: Path):
        import onnxruntime as ort

        self.name = name
        self.tokenizer = _tokenizer(folder)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(folder / "model.onnx"), providers=["CPUExecutionProvider"], sess_options=options
        )
        self.inputs = {node.name for node in self.session.get_inputs()}
        # the per-token vectors (batch, tokens, dim): the first output in most exports, not in all
        self.output = next(
            (node.name for node in self.session.get_outputs() if len(node.shape) == 3),
            self.session.get_outputs()[0].name,
        )
        self.dim = int(self.embed(["dimension probe"]).shape[1])

    def embed(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        """Length-sorted batches (a batch is padded to its longest text), unit vectors."""
        if not texts:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: np.ndarray | None = None
        for start in range(0, len(order), batch_size):
            picked = order[start : start + batch_size]
            vectors = self._batch([texts[i] for i in picked])
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[picked] = vectors
        assert out is not None
        return out

    def _batch(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {"input_ids": ids}
        if "attention_mask" in self.inputs:
            feed["attention_mask"] = mask
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.array([e.type_ids for e in encoded], dtype=np.int64)
        tokens = self.session.run([self.output], feed)[0]
        summed = np.sum(tokens, axis=1, where=mask[:, :, np.newaxis].astype(bool), dtype=np.float64)
        pooled = summed / np.maximum(np.sum(mask, axis=1, keepdims=True), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return (pooled / norms).astype(np.float32)


def _tokenizer(folder: Path):
    """The folder's tokenizer, truncated and padded as fastembed sets it up."""
    from tokenizers import AddedToken, Tokenizer

    config = json.loads((folder / "tokenizer_config.json").read_text())
    model_config = (
        json.loads((folder / "config.json").read_text()) if (folder / "config.json").exists() else {}
    )
    special_path = folder / "special_tokens_map.json"
    special = json.loads(special_path.read_text()) if special_path.exists() else {}
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    limits = [v for v in (config.get("model_max_length"), config.get("max_length")) if _usable(v)]
    truncation = tokenizer.truncation or {}
    tokenizer.enable_truncation(
        max_length=min(limits) if limits else 512,
        direction=config.get("truncation_side") or truncation.get("direction", "right"),
    )
    for value in special.values():
        for token in value if isinstance(value, list) else [value]:
            tokenizer.add_special_tokens([AddedToken(**token) if isinstance(token, dict) else token])
    padding = tokenizer.padding or {}
    pad_token = padding.get("pad_token") or config.get("pad_token")
    pad_id = padding.get("pad_id", model_config.get("pad_token_id"))
    if pad_id is None:
        pad_id = tokenizer.token_to_id(pad_token)
    tokenizer.enable_padding(
        direction=config.get("padding_side") or padding.get("direction", "right"),
        pad_id=pad_id,
        pad_type_id=padding.get("pad_type_id", 0),
        pad_token=pad_token,
        pad_to_multiple_of=padding.get("pad_to_multiple_of"),
        length=None,
    )
    return tokenizer


def _usable(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 2**62
