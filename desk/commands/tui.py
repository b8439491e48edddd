"""Bare ``desk`` and ``desk run`` without ``--headless``: open the TUI on the configured market, trading through
the paper desk (journal, recovery, control socket). Imported only when the TUI is launched."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from desk.config import Settings, load_settings
from desk.errors import RuntimeFailure, UserError

if TYPE_CHECKING:
    from desk.ui.app import DeskApp


def launch_tui(
    config: Path | None,
    profile: str | None,
    *,
    settings: Settings | None = None,
    strategies: Sequence[str] = (),
    symbol: str | None = None,
    params: Mapping[str, str] | None = None,
    bar_seconds: int | None = None,
    journal: Path | None = None,
) -> None:
    settings = settings if settings is not None else load_settings(config_file=config, profile=profile)
    app = prepare_tui(
        settings, strategies=strategies, symbol=symbol, params=params, bar_seconds=bar_seconds, journal=journal
    )
    app.run()
    if app.startup_error:
        raise RuntimeFailure(app.startup_error)


def prepare_tui(
    settings: Settings,
    *,
    strategies: Sequence[str] = (),
    symbol: str | None = None,
    params: Mapping[str, str] | None = None,
    bar_seconds: int | None = None,
    journal: Path | None = None,
    control_socket: Path | None = None,
) -> DeskApp:
    """The app ``launch_tui`` runs: journal ``journal`` (default ``journal.path``), control socket (default the
    desk's), and ``strategies`` added on ``symbol`` and started, as ``desk run --headless`` would."""
    from desk import locations
    from desk.ui.app import build_app
    from desk.ui.sources import market_feed

    if strategies and symbol is None:
        raise UserError("--strategy needs --symbol: expected the desk symbol to trade, e.g. BTC-USD")
    if len(strategies) > 1 and params:
        raise UserError("--param with several --strategy flags is ambiguous: expected one strategy per run")
    if symbol is not None and symbol not in settings.market.symbols:
        market = dataclasses.replace(settings.market, symbols=(*settings.market.symbols, symbol))
        settings = dataclasses.replace(settings, market=market)
    feed = market_feed(settings)
    if symbol is not None and symbol not in feed.instruments:
        raise UserError(f"unknown symbol {symbol!r}: expected one of {', '.join(feed.instruments)}")
    app = build_app(
        settings,
        feed=feed,
        journal_path=journal if journal is not None else settings.journal.path,
        control_socket=control_socket if control_socket is not None else locations.control_socket(),
    )
    try:
        for name in strategies:
            assert symbol is not None
            inst = app.session.add_strategy(name, symbol, params, bar_seconds=bar_seconds, source="cli")
            app.session.desk.start_strategy(inst.key, source="cli")
    except Exception:
        app.session.desk.close()
        raise
    if symbol is not None and symbol in app.symbols:
        app.symbol_index = app.symbols.index(symbol)
    return app
