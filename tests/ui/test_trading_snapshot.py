"""A screenshot of the full trading screen at 160x50: a seeded market, a market maker quoting BTC-USD (its orders
marked on the ladder), a stopped strategy, manual orders, fills and positions, an equity curve and a VaR report.

Everything is driven in simulated time before the app starts and the feed delivers nothing more; the clock is
fixed, the VaR worker's timer is pushed out of the test's reach and the report's run time is pinned, so the SVG
is byte-for-byte reproducible. Update with ``--snapshot-update`` after an intended change, and look at the SVG.
"""

from __future__ import annotations

import dataclasses

from textual.pilot import Pilot

from desk.config import RiskSettings, Settings
from desk.domain.events import Side
from desk.feeds.sim import SimulatedMarket
from desk.ui.app import build_app

from .conftest import DeskPair, ManualFeed, advance, fixed_clock, opening_events, trading_desk

SIZE = (160, 50)
QUIET = dataclasses.replace(Settings(), risk=RiskSettings(var_interval_s=3600.0))
"""No VaR run starts while the screenshot is taken (the report shown is computed before the app starts)."""


def trading_scene(market: SimulatedMarket) -> DeskPair:
    desk, monitor = trading_desk(market, QUIET)
    desk.engine.on_events(opening_events(market))
    advance(desk, market, 60)
    mm = desk.add_strategy("market_maker", "BTC-USD", {"spread_bps": 3.0, "quote_size": 1500.0})
    desk.start_strategy(mm.key)
    desk.add_strategy("mean_reversion", "ETH-USD")
    advance(desk, market, 30)
    desk.manual_order("ETH-USD", Side.BUY, "1.5")
    eth = desk.engine.books["ETH-USD"]
    desk.manual_order("ETH-USD", Side.SELL, "0.5", eth.instrument.price_str(eth.top(3)[1][2][0]))
    advance(desk, market, 10)
    report = monitor.compute_now()
    monitor.apply_report(dataclasses.replace(report, elapsed_s=0.012))  # the run time is not reproducible
    return desk, monitor


async def _settle(pilot: Pilot[None]) -> None:
    app = pilot.app
    await pilot.pause()
    app.update_view()  # type: ignore[attr-defined]
    await pilot.pause()


def test_trading_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    market = SimulatedMarket(seed=7, rate=400.0)
    desk, monitor = trading_scene(market)
    app = build_app(
        QUIET, feed=ManualFeed(market.instruments), desk=desk, monitor=monitor, clock=fixed_clock, freeze_gc=False
    )
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)
