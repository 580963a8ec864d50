"""Opening many memories in one process does not keep a model per memory: each home
assembles the bundled model in its own folder, and the process kept an ONNX session
for every folder (the test suite reached 13.7 GB resident)."""

import gc

from memcli import Memory, embeddings


def test_many_memories_keep_at_most_two_models(tmp_path, monkeypatch):
    for i in range(6):
        monkeypatch.setenv("MEMCLI_HOME", str(tmp_path / f"home{i}"))
        monkeypatch.setenv("MEMCLI_DB", str(tmp_path / f"home{i}" / "m.db"))
        with Memory() as mem:
            mem.add_message("hello there", thread_id="t", resource_id="r")
    gc.collect()
    assert len(embeddings._LOADED) <= embeddings.KEEP_LOADED


def test_parallel_first_uses_load_the_model_once(tmp_path, monkeypatch):
    """Forty MCP tool calls at once each loaded their own ONNX session (4.5 GB)."""
    import threading

    made = []
    real = embeddings._new_embedder  # onnx_embedder for the bundled model, else fastembed

    def counting(*args, **kwargs):
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(embeddings, "_new_embedder", counting)
    monkeypatch.setattr(embeddings, "_LOADED", {})
    start = threading.Barrier(8)
    with Memory(tmp_path / "m.db") as mem:

        def first_use():
            start.wait()
            mem.embedder()

        workers = [threading.Thread(target=first_use) for _ in range(8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    assert len(made) == 1


def test_the_bundled_model_is_loaded_once_for_every_home(tmp_path, monkeypatch):
    """Each home assembles the bundled model in its own folder; it is one model all the same."""
    monkeypatch.setattr(embeddings, "_LOADED", {})
    for name in ("MEMCLI_EMBEDDING_MODEL", "MEMCLI_EMBEDDING_MODEL_PATH"):
        monkeypatch.delenv(name, raising=False)
    loaded = set()
    for i in range(3):
        monkeypatch.setenv("MEMCLI_HOME", str(tmp_path / f"home{i}"))
        with Memory(tmp_path / f"m{i}.db") as mem:
            loaded.add(id(mem.embedder()))
    assert len(loaded) == 1 and len(embeddings._LOADED) == 1
