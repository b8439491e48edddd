"""The README tells the truth: every command and every built-in strategy parameter is documented there."""

from __future__ import annotations

from pathlib import Path

import typer

from desk.cli import COMMAND_MODULES
from desk.strategies.registry import BUILTINS, load

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_command_is_in_the_readme() -> None:
    import importlib

    app = typer.Typer()  # a fresh app: the CLI's own is registered by main() only
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
    names = {c.name for c in app.registered_commands if c.name} | {g.name for g in app.registered_groups if g.name}
    missing = sorted(n for n in names if f"desk {n}" not in README)
    assert not missing, f"commands missing from README.md: {missing}"


def test_every_builtin_strategy_and_parameter_is_in_the_readme() -> None:
    for name in BUILTINS:
        assert f"`{name}`" in README
        for param in load(name).params:
            assert f"`{param.name}`" in README, f"{name}.{param.name} missing from README.md"


def test_the_two_setup_commands() -> None:
    assert "make run" in README and "make test" in README
