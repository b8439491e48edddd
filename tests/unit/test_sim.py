"""The simulated market: deterministic for a seed, venue-shaped, and with the statistics it promises."""

from __future__ import annotations

import numpy as np

from desk.book import OrderBook
from desk.domain import BookDelta, BookSnapshot, Trade
from desk.engine import Engine
from desk.feeds.sim import NS, SimulatedMarket


def test_same_seed_same_events_however_time_is_sliced() -> None:
    a = SimulatedMarket(seed=11, rate=500)
    b = SimulatedMarket(seed=11, rate=500)
    start = a.now_ns
    events_a = a.events_until(start + 20 * NS)
    events_b = []
    for k in range(1, 201):  # the same 20 s in 100 ms slices
        events_b.extend(b.events_until(start + k * NS // 10))
    assert len(events_a) > 5000
    assert events_a == events_b
    c = SimulatedMarket(seed=12, rate=500)
    assert c.events_until(start + 20 * NS) != events_a


def test_snapshot_then_contiguous_deltas_rebuild_the_exchange_book() -> None:
    market = SimulatedMarket(seed=5, rate=800)
    books = {}
    for snap in market.snapshots():
        assert isinstance(snap, BookSnapshot)
        book = OrderBook(market.instruments[snap.symbol])
        book.apply_snapshot(snap)
        books[snap.symbol] = book
    for event in market.events_until(market.now_ns + 30 * NS):
        if isinstance(event, BookDelta):
            books[event.symbol].apply_delta(event)  # raises on any gap
            assert not books[event.symbol].is_crossed
    for symbol, book in books.items():
        truth = market.snapshot(symbol)
        assert book.sorted_bids() == list(truth.bids)
        assert book.sorted_asks() == list(truth.asks)
        assert book.best_bid is not None and book.best_ask is not None and book.best_bid < book.best_ask


def test_trades_print_at_book_prices_and_engine_builds_bars() -> None:
    market = SimulatedMarket(seed=2, rate=1000)
    engine = Engine(market.instruments)
    engine.on_events(market.snapshots())
    events = market.events_until(market.now_ns + 60 * NS)
    engine.on_events(events)
    trades = [e for e in events if isinstance(e, Trade)]
    assert len(trades) > 100
    assert all(t.size > 0 for t in trades)
    view = engine.view("BTC-USD", depth=10)
    assert len(view.bids) == 10 and view.bids[0][0] < view.asks[0][0]
    assert len(view.bars) > 30  # 1-second bars over a minute


def test_fair_prices_are_correlated_and_volatility_clusters() -> None:
    closes = SimulatedMarket(seed=3).fair_price_path(1500, 60.0)
    returns = np.diff(np.log(closes), axis=0)
    corr = np.corrcoef(returns.T)
    assert corr[0, 1] > 0.5 and corr[1, 2] > 0.4  # BTC/ETH, ETH/SOL move together
    # Volatility clustering: squared returns are autocorrelated (GARCH), raw returns nearly not.
    sq = returns[:, 0] ** 2
    ac_sq = np.corrcoef(sq[:-1], sq[1:])[0, 1]
    ac_raw = np.corrcoef(returns[:-1, 0], returns[1:, 0])[0, 1]
    assert ac_sq > 0.1
    assert ac_sq > abs(ac_raw)
