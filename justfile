# memcli developer tasks. `just --list` shows them.

venv := ".venv/bin"

# Install memcli with test tools into .venv
setup:
    python3 -m venv .venv
    {{venv}}/pip install -e '.[test]'

# Run the test suite
test *args:
    {{venv}}/python -m pytest -q {{args}}

# Lint, check formatting and types
lint:
    {{venv}}/ruff check .
    {{venv}}/ruff format --check .
    {{venv}}/mypy

# Format the code
fmt:
    {{venv}}/ruff format .
    {{venv}}/ruff check --fix .

# Quick benchmarks (about 3.5 minutes): start-up, LoCoMo recall, recall latency to 100k (bench/out/scale-quick.png)
bench:
    {{venv}}/pip install -q -e '.[bench]'
    {{venv}}/python bench/startup.py
    {{venv}}/python ../shared/bench/locomo/locomo_recall.py ../shared/bench/locomo/locomo_dev.json --memcli "{{venv}}/memcli"
    {{venv}}/python bench/plot_scale.py --out bench/out/scale-quick.png

# The long runs: recall up to 1M messages, import throughput, batch recall, cloning
bench-full:
    {{venv}}/pip install -q -e '.[bench]'
    {{venv}}/python bench/plot_scale.py --sizes 10000,30000,100000,300000,1000000 --keep /tmp
    {{venv}}/python bench/ingest.py --no-embed-messages 100000,1000000
    {{venv}}/python bench/batch_recall.py
    {{venv}}/python bench/clone_speed.py

# PostgreSQL against SQLite (a private server): LoCoMo recall, latency and db copy at 100k and 1M over 100 resources, 1/4/16 writers
bench-postgres:
    {{venv}}/pip install -q -e '.[bench]'
    {{venv}}/python bench/postgres.py --locomo --sizes 100000,1000000 --resources 100 --writers 1,4,16

# Regenerate shell completions in completions/
completions:
    _MEMCLI_COMPLETE=source_bash {{venv}}/memcli > completions/memcli.bash
    _MEMCLI_COMPLETE=source_zsh {{venv}}/memcli > completions/memcli.zsh
    _MEMCLI_COMPLETE=source_fish {{venv}}/memcli > completions/memcli.fish
