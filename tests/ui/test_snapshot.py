"""Screenshots of the desk at 160x50 on a seeded market after 90 simulated seconds, with a fixed clock.

The engine is filled before the app starts and the feed delivers nothing more, so the SVG is byte-for-byte
reproducible. Update with ``pytest tests/ui/test_snapshot.py --snapshot-update`` after an intended change, and
look at the new SVG before committing it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from textual.pilot import Pilot

from desk.config import RiskSettings, Settings, UISettings
from desk.feeds.sim import SimulatedMarket
from desk.ui.app import DeskApp, build_app
from desk.ui.screens.help import HelpScreen

from .conftest import DeskPair, ManualFeed, fixed_clock

SIZE = (160, 50)
QUIET = dataclasses.replace(Settings(), risk=RiskSettings(var_interval_s=3600.0))
"""The warm desk has enough history for VaR: keep the worker from starting a run while the screenshot is taken."""


async def _settle(pilot: Pilot[None]) -> None:
    app = pilot.app
    await pilot.pause()
    app.update_view()  # type: ignore[attr-defined]
    await pilot.pause()


def _after(key: str, done: Callable[[DeskApp], bool]) -> Callable[[Pilot[None]], Awaitable[None]]:
    """Settle, press ``key`` and wait (bounded) until ``done``: a key pressed by snap_compare itself can still be
    queued when the screenshot is taken on a loaded machine."""

    async def run_before(pilot: Pilot[None]) -> None:
        await _settle(pilot)
        await pilot.press(key)
        for _ in range(100):
            if done(pilot.app):  # type: ignore[arg-type]
                break
            await pilot.pause(0.01)
        await _settle(pilot)

    return run_before


def test_desk_dark(snap_compare, warm_desk: DeskPair, market: SimulatedMarket) -> None:  # type: ignore[no-untyped-def]
    app = build_app(
        QUIET,
        feed=ManualFeed(market.instruments),
        desk=warm_desk[0],
        monitor=warm_desk[1],
        clock=fixed_clock,
        freeze_gc=False,
    )
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_desk_light_on_eth(snap_compare, warm_desk: DeskPair, market: SimulatedMarket) -> None:  # type: ignore[no-untyped-def]
    settings = dataclasses.replace(QUIET, ui=UISettings(theme="desk-light"))
    app = build_app(
        settings,
        feed=ManualFeed(market.instruments),
        desk=warm_desk[0],
        monitor=warm_desk[1],
        clock=fixed_clock,
        freeze_gc=False,
    )
    assert snap_compare(app, terminal_size=SIZE, run_before=_after("s", lambda app: app.symbol == "ETH-USD"))


def test_help_screen(snap_compare, warm_desk: DeskPair, market: SimulatedMarket) -> None:  # type: ignore[no-untyped-def]
    app = build_app(
        QUIET,
        feed=ManualFeed(market.instruments),
        desk=warm_desk[0],
        monitor=warm_desk[1],
        clock=fixed_clock,
        freeze_gc=False,
    )
    shown = _after("question_mark", lambda app: isinstance(app.screen, HelpScreen))
    assert snap_compare(app, terminal_size=SIZE, run_before=shown)
