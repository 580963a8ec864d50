"""#25: the bundled model runs without importing fastembed (a second of every `ask` and
`recall`), and its vectors are fastembed's: stored vectors stay comparable."""

import numpy as np

from memcli import embeddings
from memcli.onnx_embedder import OnnxEmbedder

TEXTS = [
    "hi",
    "I moved to Lisbon last spring.",
    "word " * 600,  # past the 256-token limit: truncated the same way
    "São Paulo é ótimo 🎉",
    "",
    "a\nb\tc <b>markup</b>",
    "The Dagster migration is due in March.",
] * 3


def test_vectors_are_fastembeds(local_model):
    spec = embeddings.resolve(*_settings())
    light = OnnxEmbedder(spec.name, spec.path)
    reference = embeddings.FastEmbedder(spec)
    a, b = light.embed(TEXTS, batch_size=4), reference.embed(TEXTS)
    assert a.shape == b.shape == (len(TEXTS), 384)
    assert float(np.abs(a - b).max()) < 1e-5
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


def test_recall_and_embed_load_no_fastembed(local_model, tmp_path):
    from test_startup import _modules_after

    db = str(tmp_path / "m.db")
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"content": "I moved to Lisbon", "thread_id": "t", "resource_id": "r"}\n')
    for argv in (["import", str(jsonl)], ["recall", "where do I live", "-r", "r"]):
        loaded = _modules_after(argv, db)
        assert "onnxruntime" in loaded and "fastembed" not in loaded, argv


def _settings():
    import os

    return os.environ["MEMCLI_EMBEDDING_MODEL"], os.environ["MEMCLI_EMBEDDING_MODEL_PATH"]
