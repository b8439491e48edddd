"""The desk's analysis actions: the Chan overlay (toggle, MACD preset, timeframe) and the backtest screen.

The app's bindings and palette entries delegate here, so ``desk.ui.app`` only wires keys to these functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from textual.app import SystemCommand

from desk.chan import load_presets
from desk.ui.chan_model import TIMEFRAMES
from desk.ui.widgets.chan_chart import ChanChart
from desk.ui.widgets.chart import PriceChart

if TYPE_CHECKING:
    from desk.ui.app import DeskApp
    from desk.ui.backtest_model import BacktestSession

_SESSIONS: WeakKeyDictionary[DeskApp, BacktestSession] = WeakKeyDictionary()
"""Each app's backtest form and last result, so closing and reopening the screen keeps them."""


def _charts(app: DeskApp) -> tuple[PriceChart, ChanChart]:
    return app.query_one(PriceChart), app.query_one(ChanChart)


def set_chan(app: DeskApp, on: bool) -> None:
    """Show the Chan chart in place of the plain price chart (a fresh analysis each time it is switched on)."""
    price, chan = _charts(app)
    if on == chan.display:
        return
    if on:
        chan.restart()
    price.display = not on
    chan.display = on
    app.update_view()


def toggle_chan(app: DeskApp) -> None:
    set_chan(app, not _charts(app)[1].display)


def cycle_macd(app: DeskApp) -> None:
    name = _charts(app)[1].cycle_macd()
    app.notify(f"Chan MACD preset: {name}{_hint(app)}", timeout=3)
    app.update_view()


def set_macd(app: DeskApp, name: str) -> None:
    _charts(app)[1].set_macd(name)
    set_chan(app, True)


def cycle_timeframe(app: DeskApp) -> None:
    seconds = _charts(app)[1].cycle_timeframe()
    app.notify(f"Chan timeframe: {seconds}s bars from the desk's 1s bars{_hint(app)}", timeout=3)
    app.update_view()


def set_timeframe(app: DeskApp, seconds: int) -> None:
    _charts(app)[1].set_timeframe(seconds)
    set_chan(app, True)


def _hint(app: DeskApp) -> str:
    return "" if _charts(app)[1].display else " (c shows the overlay)"


def open_backtest(app: DeskApp) -> None:
    from desk.ui.backtest_model import BacktestSession
    from desk.ui.screens.backtest import BacktestScreen

    if isinstance(app.screen, BacktestScreen):
        return
    session = _SESSIONS.get(app)
    if session is None:
        session = _SESSIONS[app] = BacktestSession.for_desk(app.symbol, seed=app.settings.sim.seed)
    app.push_screen(BacktestScreen(session))


def commands(app: DeskApp) -> Iterator[SystemCommand]:
    """Palette entries: the overlay, each MACD preset and timeframe, the backtest screen."""
    yield SystemCommand(
        "Chan overlay: toggle", "Fractals, pens, segments and MACD on the chart", partial(toggle_chan, app)
    )
    for name, p in load_presets().items():
        yield SystemCommand(
            f"Chan MACD: {name}",
            f"MACD {p.fast}/{p.slow}/{p.signal} for the Chan overlay",
            partial(set_macd, app, name),
        )
    for seconds in TIMEFRAMES:
        yield SystemCommand(
            f"Chan timeframe: {seconds}s",
            f"Analyse {seconds}s bars on the overlay",
            partial(set_timeframe, app, seconds),
        )
