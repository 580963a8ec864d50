"""Deterministic synthetic conversations for scale benchmarks (no network).

Messages are sentences built from LoCoMo's real turns (so FTS sees natural
vocabulary) with a seeded shuffle; vectors for large runs are real
embeddings of a pool of distinct texts plus small seeded noise, so that
100k or 1M messages do not need hours of embedding.
"""

import json
import random
import re
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "bench" / "locomo"


def locomo_turns() -> list[str]:
    texts = []
    for sample in json.loads((SHARED / "locomo_dev.json").read_text()):
        conv = sample["conversation"]
        for key, value in conv.items():
            if re.fullmatch(r"session_\d+", key) and isinstance(value, list):
                texts += [f"{t['speaker']}: {t['text']}" for t in value]
    return texts


def locomo_questions() -> list[str]:
    return [q["question"] for s in json.loads((SHARED / "locomo_dev.json").read_text()) for q in s["qa"]]


def messages(n: int, *, resources: int = 10, per_thread: int = 200, seed: int = 7):
    """n import lines; each message mixes two real turns so texts are distinct."""
    rng = random.Random(seed)
    turns = locomo_turns()
    for i in range(n):
        a, b = rng.choice(turns), rng.choice(turns)
        words = b.split(": ", 1)[-1].split()
        text = a + " " + " ".join(words[: max(3, len(words) // 3)])
        thread = i // per_thread
        yield {
            "id": f"m{i}",
            "resource_id": f"user{thread % resources}",
            "thread_id": f"t{thread}",
            "role": "user" if i % 2 == 0 else "assistant",
            "content": text,
            "created_at": f"2024-{1 + (i // 100000) % 12:02d}-{1 + (i // 4000) % 28:02d}T"
            f"{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z",
            "metadata": {"n": i},
        }
