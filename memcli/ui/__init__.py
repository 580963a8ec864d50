"""The web viewer (`memcli ui`): the third face of `Memory`, beside the CLI and MCP.

guard.py decides who may talk to it; app.py maps URLs; pages.py (GET) and
actions.py (POST, each confirmed) call Memory; render.py and templates/ draw.
"""
