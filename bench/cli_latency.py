"""Everyday command latency against the targets of issue #17, as ratios from one run.

    python bench/cli_latency.py [--runs 7] [--import-lines 100000]

Whole processes, interleaved (one of each per round, so machine noise hits
all alike), medians of --runs rounds:

  memcli ask (memory on)   vs  simonw/llm `llm -m fake 'hi'`   (target <= 1.0x), with the
                               endpoint from memcli's api-base setting, OPENAI_BASE_URL
                               and OPENAI_API_BASE (issue #25: all go the light way)
  memcli ask --no-memory   (what memory costs: ask minus this)
  memcli tokens            vs  memcli threads list              (target <= 3x)
  memcli add (embedded)    vs  memcli threads list              (target <= 3x)
  memcli embed, nothing waiting  vs  memcli threads list        (target <= 2x)
  memcli import --no-embed, messages/s over --import-lines lines (target >= 20,000/s)

Both chat clients talk to the same scripted OpenAI-compatible server on
127.0.0.1 (tests/fake_llm.py), which answers at once; llm finds it through
extra-openai-models.yaml in a temporary LLM_USER_PATH.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from fake_llm import FakeLLM, reply  # noqa: E402
from startup import compile_bytecode  # noqa: E402


def timed(cmd, env, stdin=None) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, input=stdin, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{done.stderr.decode()[-1500:]}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--import-lines", type=int, default=100_000)
    args = ap.parse_args()
    compile_bytecode()
    bin_dir = Path(sys.executable).parent
    memcli, llm = str(bin_dir / "memcli"), shutil.which("llm", path=str(bin_dir)) or shutil.which("llm")
    if llm is None:
        sys.exit("simonw/llm is not installed here: pip install -e '.[bench]'")
    server = FakeLLM(responder=lambda body: reply("hello")).start()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "llm").mkdir()
        (tmp / "llm" / "extra-openai-models.yaml").write_text(
            f'- model_id: fake\n  model_name: fake-model\n  api_base: "{server.base_url}"\n'
        )
        env = {
            **os.environ,
            "MEMCLI_HOME": str(tmp / "home"),
            "MEMCLI_DB": str(tmp / "bench.db"),
            "MEMCLI_MODEL": "openai/fake-model",
            "MEMCLI_API_BASE": server.base_url,
            "OPENAI_API_KEY": "sk-bench",
            "LLM_USER_PATH": str(tmp / "llm"),
        }
        example = ROOT / "examples" / "conversation.jsonl"
        timed([memcli, "import", str(example)], env)  # a memory to recall from, model folder ready
        ask = [memcli, "ask", "hi", "-r", "alice", "-t", "bench", "--no-title"]
        without_setting = {k: v for k, v in env.items() if k != "MEMCLI_API_BASE"}
        cases = {
            "llm -m fake 'hi'": ([llm, "-m", "fake", "--no-stream", "hi"], env),
            "memcli ask (memory on)": (ask, env),
            "memcli ask, OPENAI_BASE_URL": (ask, {**without_setting, "OPENAI_BASE_URL": server.base_url}),
            "memcli ask, OPENAI_API_BASE": (ask, {**without_setting, "OPENAI_API_BASE": server.base_url}),
            "memcli ask --no-memory": ([*ask, "--no-memory"], env),
            "memcli threads list": ([memcli, "threads", "list"], env),
            "memcli tokens": ([memcli, "tokens", "-r", "alice", "-t", "bench"], env),
            "memcli add (embedded)": (
                [memcli, "add", "a note about trams", "-t", "notes", "-r", "alice"],
                env,
            ),
            "memcli embed (nothing waiting)": ([memcli, "embed"], env),
        }
        times = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, (cmd, case_env) in cases.items():
                if name.startswith("memcli embed"):
                    timed([memcli, "recall", "trams", "-r", "alice", "-k", "1"], env)  # embeds what waits
                times[name].append(timed(cmd, case_env))
        median = {name: statistics.median(v) for name, v in times.items()}
        found = subprocess.run(
            [memcli, "recall", "trams", "-r", "alice", "--mode", "vector", "-k", "1", "--json"],
            env=env,
            capture_output=True,
            text=True,
        )
        findable = (
            "trams" in json.loads(found.stdout or "[]")[0]["content"] if found.returncode == 0 else False
        )
        lines = tmp / "import.jsonl"
        with lines.open("w") as f:
            for i in range(args.import_lines):
                f.write(
                    json.dumps(
                        {
                            "content": f"message {i} about topic {i % 97}",
                            "thread_id": f"t{i % 500}",
                            "resource_id": "r",
                        }
                    )
                    + "\n"
                )
        seconds = timed(
            [memcli, "import", str(lines), "--no-embed"], {**env, "MEMCLI_DB": str(tmp / "import.db")}
        )
    server.stop()
    llm_time, listing = median["llm -m fake 'hi'"], median["memcli threads list"]
    rows = [
        ("ask vs llm", median["memcli ask (memory on)"] / llm_time, "<= 1.0"),
        ("ask with OPENAI_BASE_URL vs llm", median["memcli ask, OPENAI_BASE_URL"] / llm_time, "<= 1.0"),
        ("ask with OPENAI_API_BASE vs llm", median["memcli ask, OPENAI_API_BASE"] / llm_time, "<= 1.0"),
        ("ask --no-memory vs llm", median["memcli ask --no-memory"] / llm_time, "(what memory adds)"),
        ("tokens vs threads list", median["memcli tokens"] / listing, "<= 3"),
        ("add vs threads list", median["memcli add (embedded)"] / listing, "<= 3"),
        (
            "embed, nothing waiting, vs threads list",
            median["memcli embed (nothing waiting)"] / listing,
            "<= 2",
        ),
    ]
    print(f"| command | median s ({args.runs} interleaved rounds) |\n| --- | --- |")
    for name, value in median.items():
        print(f"| {name} | {value:.3f} |")
    print("\n| target | ratio | goal |\n| --- | --- | --- |")
    for name, ratio, goal in rows:
        print(f"| {name} | {ratio:.2f}x | {goal} |")
    print(
        f"| import --no-embed, {args.import_lines:,} lines | {args.import_lines / seconds:,.0f} msg/s | >= 20,000 |"
    )
    print(f"\nA message added by `memcli add` is found by `recall --mode vector` right after: {findable}")


if __name__ == "__main__":
    main()
