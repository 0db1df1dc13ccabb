"""The `hali` commands, one module per family, each with its `COMMANDS` (see bot/cli/base.py)."""
