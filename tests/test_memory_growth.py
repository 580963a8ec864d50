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
