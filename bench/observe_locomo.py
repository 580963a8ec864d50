"""The observational-memory pipeline end to end on a real LoCoMo conversation.

    python bench/observe_locomo.py [--sample conv-26]

Imports one development conversation as a single resource (one thread per
session), then runs the Observer (resource scope, thresholds crossed) and
the Reflector through the real litellm path against the scripted server of
the test suite. No real model is reachable here, so the "model" is
extractive and scripted: one 🔴 line per user turn, its first 14 words.
What this measures honestly is the pipeline (batches, calls, tokens sent,
cursor, generations); compression quality needs a real model.
"""

import argparse
import io
import json
import os
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from fake_llm import FakeLLM, reply  # noqa: E402

SHARED = HERE.parents[1] / "shared" / "bench" / "locomo"
sys.path.insert(0, str(SHARED))
import locomo_recall as lr  # noqa: E402

LINE = re.compile(r"^(User|Assistant) \((\d+:\d+ [AP]M)\): (.*)$")


def extractive(body: dict) -> dict:
    text = body["messages"][-1]["content"]
    if (
        "<observations>" in body["messages"][0]["content"]
        and "rewrite it shorter" in body["messages"][0]["content"]
    ):
        lines = [ln for ln in text.splitlines() if ln.startswith(("Date:", "* 🔴"))]
        keep = lines[: max(2, len(lines) // 3)]
        return reply("<observations>\n" + "\n".join(keep) + "\n</observations>")
    out = []
    for line in text.split("New messages to observe:")[-1].splitlines():
        if line.startswith("Date:"):
            out.append(line)
        match = LINE.match(line)
        if match and match.group(1) == "User":
            out.append(f"* 🔴 ({match.group(2)}) " + " ".join(match.group(3).split()[:14]))
    return reply(
        "<observations>\n" + "\n".join(out) + "\n</observations>\n"
        "<current-task>continue the conversation</current-task>\n"
        "<suggested-response>ask a follow-up</suggested-response>"
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", default="conv-26")
    ap.add_argument("--threshold", type=int, default=10_000)
    ap.add_argument("--reflect-threshold", type=int, default=4_000)
    args = ap.parse_args()
    sample = next(
        s for s in json.loads((SHARED / "locomo_dev.json").read_text()) if s["sample_id"] == args.sample
    )
    server = FakeLLM(responder=extractive).start()
    os.environ.update(MEMCLI_API_BASE=server.base_url, OPENAI_API_KEY="sk-bench")
    from memcli import Memory, tokens
    from memcli.llm import LiteLLM
    from memcli.observational.observer import Observer
    from memcli.observational.reflector import Reflector

    with tempfile.TemporaryDirectory() as tmp:
        mem = Memory(Path(tmp) / "om.db")
        lines = list(lr.turns_of(sample))
        mem.import_stream(io.BytesIO(("\n".join(json.dumps(x) for x in lines) + "\n").encode()), embed=False)
        resource = sample["sample_id"]
        raw_tokens = mem.store.conn.execute("SELECT sum(token_count) FROM messages").fetchone()[0]
        llm = LiteLLM("openai/scripted-extractive")
        observed = Observer(mem.store, llm, message_tokens=args.threshold).run("resource", resource)
        log = mem.store.observations.latest("resource", resource)
        sent = sum(tokens.count(json.dumps(r["messages"])) for r in server.requests)
        calls = len(server.requests)
        reflected = Reflector(mem.store, llm, observation_tokens=args.reflect_threshold).run(
            "resource", resource
        )
        final = mem.store.observations.latest("resource", resource)
        again = Observer(mem.store, llm, message_tokens=1).run("resource", resource, force=True)
        mem.close()
    server.stop()
    print(f"LoCoMo {args.sample}: {len(lines)} turns in {len({x['thread_id'] for x in lines})} sessions\n")
    print("| step | value |")
    print("| --- | --- |")
    print(f"| raw message tokens | {raw_tokens:,} |")
    print(f"| observer calls (batches of ≤10k tokens) | {calls} |")
    print(f"| tokens sent to the observer (prompts + messages) | {sent:,} |")
    print(f"| messages observed | {observed.observed_messages} of {len(lines)} |")
    print(f"| observation log after observing | {log.token_count:,} tokens, generation {log.generation} |")
    print(f"| raw : log (scripted extractive model) | {raw_tokens / log.token_count:.1f} : 1 |")
    print(
        f"| reflector attempts / result | {reflected.attempts} / {reflected.after_tokens:,} tokens, generation {final.generation} |"
    )
    print(f"| re-running the observer | {again.skipped} |")


if __name__ == "__main__":
    main()
