"""The TUI on a live venue (settings with market.venue = binance, through ``desk.ui.sources.market_feed``) and on a
replayed recording (``ReplayFeed``): the app's engine reaches the venue's true book. Pilot only, no terminal."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from desk.book.l2 import BookState, OrderBook
from desk.config import load_settings
from desk.domain.events import BookDelta
from desk.feeds.record import Recorder
from desk.feeds.replay import ReplayFeed
from desk.feeds.sim import DEFAULT_SYMBOLS, SimulatedMarket
from desk.ui.app import build_app
from desk.ui.sources import market_feed
from tests.integration.servers import SYMBOL
from tests.integration.test_binance_local import FakeBinance


async def test_tui_opens_on_binance_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESK_HOME", str(tmp_path))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    async with FakeBinance("none", pace_s=0.01) as fake:
        overrides = {
            "market.venue": "binance",
            "market.symbols": SYMBOL,
            "venues.binance.ws_url": fake.ws_url,
            "venues.binance.rest_url": fake.http.url,
        }
        settings = load_settings(cli_overrides=overrides, env={"DESK_HOME": str(tmp_path)}, cwd=tmp_path)
        feed = await asyncio.to_thread(market_feed, settings)  # loads instrument metadata over (local) REST
        assert feed.venue == "binance"
        app = build_app(settings, feed=feed, freeze_gc=False)
        async with app.run_test(size=(120, 40)) as pilot:
            book = app.engine.books[SYMBOL]
            for _ in range(400):
                if fake.ex.done and book.state is BookState.LIVE and book.seq == fake.ex.book.seq:
                    break
                await pilot.pause(0.02)
            assert (book.bids, book.asks) == (fake.ex.book.bids, fake.ex.book.asks)
            assert app.symbols == [SYMBOL]


async def test_tui_plays_a_recording(tmp_path: Path) -> None:
    market = SimulatedMarket([DEFAULT_SYMBOLS[1]], seed=9, rate=300.0)
    rec = Recorder(tmp_path / "rec", market.venue, market.instruments)
    rec.sink(market.snapshots())
    for _ in range(30):
        rec.sink(market.next_events(10))
    rec.close()
    feed = ReplayFeed(tmp_path / "rec", speed=0)
    settings = load_settings(cli_overrides={"market.symbols": "ETH-USD"}, env={}, cwd=tmp_path)
    app = build_app(settings, feed=feed, freeze_gc=False)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            if feed.finished:
                break
            await pilot.pause(0.01)
        assert feed.finished
        book = app.engine.books["ETH-USD"]
        assert book.state is BookState.LIVE
    # Reference: a fresh market with the same seed, applied to a plain book (no recording involved).
    again = SimulatedMarket([DEFAULT_SYMBOLS[1]], seed=9, rate=300.0)
    truth = OrderBook(again.instruments["ETH-USD"], again.venue)
    truth.apply_snapshot(again.snapshots()[0])
    for _ in range(30):  # next_events(n) returns at least n: slice the stream exactly as the recording did
        for event in again.next_events(10):
            if isinstance(event, BookDelta):
                truth.apply_delta(event)
    assert (book.seq, book.bids, book.asks) == (truth.seq, truth.bids, truth.asks)
