"""Screenshots of the desk at 160x50 on a seeded market after 90 simulated seconds, with a fixed clock.

The engine is filled before the app starts and the feed delivers nothing more, so the SVG is byte-for-byte
reproducible. Update with ``pytest tests/ui/test_snapshot.py --snapshot-update`` after an intended change, and
look at the new SVG before committing it.
"""

from __future__ import annotations

import dataclasses

from textual.pilot import Pilot

from desk.config import Settings, UISettings
from desk.engine import Engine
from desk.feeds.sim import SimulatedMarket
from desk.ui.app import build_app

from .conftest import ManualFeed, fixed_clock

SIZE = (160, 50)


async def _settle(pilot: Pilot[None]) -> None:
    app = pilot.app
    await pilot.pause()
    app.update_view()  # type: ignore[attr-defined]
    await pilot.pause()


def test_desk_dark(snap_compare, warm_engine: Engine, market: SimulatedMarket) -> None:  # type: ignore[no-untyped-def]
    app = build_app(
        Settings(), feed=ManualFeed(market.instruments), engine=warm_engine, clock=fixed_clock, freeze_gc=False
    )
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_desk_light_on_eth(snap_compare, warm_engine: Engine, market: SimulatedMarket) -> None:  # type: ignore[no-untyped-def]
    settings = dataclasses.replace(Settings(), ui=UISettings(theme="desk-light"))
    app = build_app(
        settings, feed=ManualFeed(market.instruments), engine=warm_engine, clock=fixed_clock, freeze_gc=False
    )
    assert snap_compare(app, terminal_size=SIZE, press=["s"], run_before=_settle)


def test_help_screen(snap_compare, warm_engine: Engine, market: SimulatedMarket) -> None:  # type: ignore[no-untyped-def]
    app = build_app(
        Settings(), feed=ManualFeed(market.instruments), engine=warm_engine, clock=fixed_clock, freeze_gc=False
    )
    assert snap_compare(app, terminal_size=SIZE, press=["question_mark"], run_before=_settle)
