# memcli developer tasks. `just --list` shows them.

venv := ".venv/bin"

# Install memcli with test tools into .venv
setup:
    python3 -m venv .venv
    {{venv}}/pip install -e '.[test]'

# Run the test suite
test *args:
    {{venv}}/python -m pytest -q {{args}}

# Lint and check formatting
lint:
    {{venv}}/ruff check .
    {{venv}}/ruff format --check .

# Format the code
fmt:
    {{venv}}/ruff format .
    {{venv}}/ruff check --fix .

# Quick benchmarks (a few minutes): start-up, LoCoMo recall, recall at scale
bench:
    {{venv}}/python bench/startup.py
    {{venv}}/python ../shared/bench/locomo/locomo_recall.py ../shared/bench/locomo/locomo_dev.json --memcli "{{venv}}/memcli"
    {{venv}}/python bench/recall_scale.py --messages 100000

# Regenerate shell completions in completions/
completions:
    _MEMCLI_COMPLETE=source_bash {{venv}}/memcli > completions/memcli.bash
    _MEMCLI_COMPLETE=source_zsh {{venv}}/memcli > completions/memcli.zsh
    _MEMCLI_COMPLETE=source_fish {{venv}}/memcli > completions/memcli.fish
