"""The ``desk`` command. Bare ``desk`` opens the TUI; every screen action also exists as a headless command.

Start-up cost matters (``desk --help`` < 0.3 s): this module imports only typer and the command modules, which
in turn import their heavy dependencies (numpy, polars, textual) inside the command bodies.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from desk import __version__
from desk.errors import RuntimeFailure, UserError

app = typer.Typer(
    name="desk",
    help="A terminal trading desk: live L2 book, strategies, paper broker, risk and backtests.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

# Each module registers its commands on ``app``. Add new command modules here.
COMMAND_MODULES: tuple[str, ...] = (
    "desk.commands.control_cmd",
    "desk.commands.trading",
    "desk.commands.market",
    "desk.commands.config_cmd",
    "desk.commands.risk_var",
    "desk.commands.chan",
    "desk.commands.venues",
    "desk.commands.backtest",
)

_debug = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"desk {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="Settings file (TOML); overrides the user config file.")
    ] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="Settings profile, e.g. sim, paper, live.")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Bare ``desk`` opens the TUI on the configured market (the simulated one by default)."""
    global _debug
    _debug = debug
    ctx.obj = {"config": config, "profile": profile, "debug": debug}
    if ctx.invoked_subcommand is None:
        from desk.commands.tui import launch_tui  # type: ignore[import-untyped,unused-ignore]

        launch_tui(config=config, profile=profile)


def _register() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


def main() -> None:
    _register()
    try:
        # Without standalone mode typer does not exit on ``typer.Exit(code)``: it returns the code.
        exit_code = app(standalone_mode=False)
    except (UserError, RuntimeFailure) as exc:
        if _debug:
            raise
        typer.echo(f"desk: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("desk: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # usage errors and runtime failures: one line, no traceback
        format_message = getattr(exc, "format_message", None)
        if callable(format_message) and isinstance(getattr(exc, "exit_code", None), int):
            # typer's (vendored click) usage and parameter errors carry their own message and exit code (2).
            typer.echo(f"desk: error: {format_message()}", err=True)
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if _debug:
            raise
        typer.echo(f"desk: error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    if isinstance(exit_code, int) and exit_code:
        sys.exit(exit_code)
