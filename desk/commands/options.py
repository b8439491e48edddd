"""Options every market-data command takes (references/cli.md), and settings loading for commands.

``--config`` and ``--profile`` exist on the root (``desk --profile paper book ...``) and again on each command
that loads settings (``desk book BTC-USD --profile paper``); the command's own value wins. Kept import-light:
settings code is imported when a command runs, not when ``desk --help`` builds the command list.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from desk.config import ResolvedSettings

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Settings file (TOML); overrides the user config file.")
]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="Settings profile, e.g. sim, paper, live.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
VenueOpt = Annotated[
    str | None, typer.Option("--venue", help="sim, binance, coinbase or kraken (default: market.venue).")
]
WsUrlOpt = Annotated[str | None, typer.Option("--ws-url", help="Override the venue's websocket URL.")]
RestUrlOpt = Annotated[str | None, typer.Option("--rest-url", help="Override the venue's REST URL.")]


def resolve_for_command(
    ctx: typer.Context,
    config: Path | None = None,
    profile: str | None = None,
    overrides: Mapping[str, object] | None = None,
) -> ResolvedSettings:
    """Settings for a command: its own ``--config/--profile`` first, then the root's (kept in ``ctx.obj``)."""
    from desk.config import resolve_settings

    root = ctx.obj if isinstance(ctx.obj, dict) else {}
    return resolve_settings(
        config_file=config if config is not None else root.get("config"),
        profile=profile if profile is not None else root.get("profile"),
        cli_overrides=overrides,
    )
