"""Whole-process start-up time of light commands, as ratios to a bare interpreter.

    python bench/startup.py [--runs 15]

Prints a Markdown table; medians of --runs runs each, measured in one run
so the ratios hold on a noisy shared machine.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def compile_bytecode() -> None:
    """Write memcli's .pyc files, as pip does on install.

    An editable install compiles on first import, but with
    PYTHONDONTWRITEBYTECODE set (this machine sets it) nothing is cached and
    every run would pay ~50 ms of compiling that no installed user pays.
    """
    import memcli

    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.dirname(memcli.__file__)], check=True)


def median_seconds(cmd: list[str], runs: int, env: dict, *, check: bool = False) -> float:
    """Median wall time of a whole process (shared by the other process benchmarks)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=check)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    py = sys.executable
    compile_bytecode()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, MEMCLI_DB=os.path.join(tmp, "bench.db"))
        subprocess.run(
            [py, "-m", "memcli", "threads", "new", "--id", "t", "-r", "r"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        cases = {
            "python -c pass": [py, "-c", "pass"],
            "python -c 'import typer, rich, sqlite3'": [py, "-c", "import typer, rich, sqlite3"],
            "memcli --help": [py, "-m", "memcli", "--help"],
            "memcli threads list": [py, "-m", "memcli", "threads", "list"],
            "memcli messages list -t t": [py, "-m", "memcli", "messages", "list", "-t", "t"],
        }
        # round-robin, so a slow spell on the shared machine hits every case alike
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, cmd in cases.items():
                times[name].append(median_seconds(cmd, 1, env))
        results = {name: statistics.median(t) for name, t in times.items()}
    base = results["python -c pass"]
    floor = results["python -c 'import typer, rich, sqlite3'"]
    print("| command | median ms | × python -c pass | × import typer, rich, sqlite3 |")
    print("| --- | --- | --- | --- |")
    for name, seconds in results.items():
        print(f"| `{name}` | {seconds * 1000:.0f} | {seconds / base:.2f} | {seconds / floor:.2f} |")


if __name__ == "__main__":
    main()
