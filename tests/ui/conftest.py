"""Fixtures for the TUI tests: a seeded market advanced a fixed amount of simulated time, a feed the test drives
by hand, and a fixed clock, so every screen is reproducible and nothing depends on wall-clock timing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from desk.config import Settings
from desk.domain.events import Event, FeedState, FeedStatus
from desk.domain.instruments import Instrument
from desk.engine import Engine
from desk.feeds.base import Sink
from desk.feeds.sim import NS, SimulatedMarket
from desk.risk.monitor import RiskMonitor
from desk.runtime.build import build_trading_desk
from desk.trading import TradingDesk

DeskPair = tuple[TradingDesk, RiskMonitor]

FIXED_WALL_TIME = 1_767_225_690.0  # 2026-01-01T00:01:30Z
SIM_SECONDS = 90


class ManualFeed:
    """A feed that delivers only what the test hands it: an optional first batch, then ``push``."""

    venue = "sim"

    def __init__(self, instruments: dict[str, Instrument], first: Sequence[Event] = ()) -> None:
        self.instruments = instruments
        self.first = list(first)
        self.sink: Sink | None = None
        self.stopped = False
        self._stop: asyncio.Event | None = None

    async def run(self, sink: Sink) -> None:
        self.sink = sink
        self._stop = asyncio.Event()
        if self.first:
            sink(self.first)
        await self._stop.wait()

    def push(self, batch: Sequence[Event]) -> None:
        assert self.sink is not None, "the app has not started the feed yet"
        self.sink(batch)

    def stop(self) -> None:
        self.stopped = True
        if self._stop is not None:
            self._stop.set()


def opening_events(market: SimulatedMarket) -> list[Event]:
    """What a venue sends first: status, snapshots, live status."""
    now = market.now_ns
    return [
        *(FeedStatus(market.venue, sym, FeedState.CONNECTING, now) for sym in market.instruments),
        *market.snapshots(),
        *(FeedStatus(market.venue, sym, FeedState.LIVE, now) for sym in market.instruments),
    ]


def fixed_clock() -> float:
    return FIXED_WALL_TIME


@pytest.fixture
def market() -> SimulatedMarket:
    return SimulatedMarket(seed=7, rate=400.0)


def trading_desk(market: SimulatedMarket, settings: Settings | None = None) -> DeskPair:
    """A paper desk and its risk monitor on ``market``'s instruments, without a journal (tests never write one
    outside tmp_path)."""
    return build_trading_desk(settings or Settings(), market.instruments, market.venue, None)


def advance(desk: TradingDesk, market: SimulatedMarket, seconds: float, step_s: float = 1.0) -> None:
    """Feed ``seconds`` of the market in batches of ``step_s`` simulated seconds, as a feed would (the risk monitor
    samples mids and the portfolio equity once per batch and second)."""
    end = market.now_ns + int(seconds * NS)
    while market.now_ns < end:
        desk.engine.on_events(market.events_until(min(end, market.now_ns + int(step_s * NS))))


@pytest.fixture
def warm_desk(market: SimulatedMarket) -> DeskPair:
    """A desk that has seen ``SIM_SECONDS`` of the seeded market: a full book, a tape, 1 s bars and enough mid
    history for the VaR worker."""
    desk, monitor = trading_desk(market)
    desk.engine.on_events(opening_events(market))
    advance(desk, market, SIM_SECONDS)
    return desk, monitor


@pytest.fixture
def warm_engine(warm_desk: DeskPair) -> Engine:
    """The warm desk's engine (the market half of the screen)."""
    return warm_desk[0].engine
