"""Failover: Coinbase primary, Binance backup, both local doubles. The primary goes down, the book moves to
Binance's snapshot; the primary comes back and, after the hysteresis, the book moves back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from desk.domain.events import BookDelta, BookSnapshot, FeedState, FeedStatus, Side, Trade
from desk.domain.instruments import Instrument
from desk.engine import Engine
from desk.feeds.failover import FailoverFeed, common_step
from desk.feeds.sim import NS
from tests.integration.servers import SYMBOL
from tests.integration.test_binance_local import FakeBinance
from tests.integration.test_binance_local import _feed as binance_feed
from tests.integration.test_coinbase_local import FakeCoinbase, coinbase_feed


async def _until(predicate: Callable[[], bool], timeout_s: float = 6.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while not predicate():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.01)


async def test_failover_to_backup_and_back_with_hysteresis() -> None:
    async with FakeCoinbase("none", seed=5) as cb, FakeBinance("none") as bn:
        failover = FailoverFeed(
            [coinbase_feed(cb), binance_feed(bn)], switch_after_s=0.15, return_after_s=0.4, check_interval_s=0.02
        )
        engine = Engine(failover.instruments, "coinbase")
        seen: list[Any] = []

        def sink(batch: Any) -> None:
            seen.extend(batch)
            engine.on_events(batch)

        book = engine.books[SYMBOL]
        task = asyncio.create_task(failover.run(sink))
        try:
            await _until(lambda: cb.ex.done and book.bids == cb.ex.book.bids and book.asks == cb.ex.book.asks)
            await _until(lambda: bn.ex.done and failover.members[1].books[SYMBOL].bids == bn.ex.book.bids)
            assert failover.active_venue(SYMBOL) == "coinbase"

            cb.refuse = True  # primary down: the connection closes and reconnects are refused (HTTP 503)
            await _until(lambda: failover.active_venue(SYMBOL) == "binance")
            await _until(lambda: book.bids == bn.ex.book.bids and book.asks == bn.ex.book.asks)
            switched = [e for e in seen if isinstance(e, FeedStatus) and e.detail.startswith("failover")]
            assert switched[0].detail == "failover coinbase->binance"
            assert switched[0].state is FeedState.RESYNCING

            cb.refuse = False  # primary recovers; the book must stay on binance for return_after_s of health
            await _until(lambda: failover.members[0].healthy(SYMBOL))
            assert failover.active_venue(SYMBOL) == "binance"  # healthy again, but not yet for return_after_s
            await _until(lambda: failover.active_venue(SYMBOL) == "coinbase")
            await _until(lambda: book.bids == cb.ex.book.bids and book.asks == cb.ex.book.asks)
            assert failover.switches == [(SYMBOL, "coinbase", "binance"), (SYMBOL, "binance", "coinbase")]
        finally:
            failover.stop()
            await task


class _Scripted:
    """A feed that emits a fixed list of batches and then idles."""

    def __init__(self, venue: str, inst: Instrument, batches: list[list[Any]]) -> None:
        self.venue = venue
        self._instruments = {inst.symbol: inst}
        self.batches = batches
        self.stopped = asyncio.Event()

    @property
    def instruments(self) -> dict[str, Instrument]:
        return self._instruments

    async def run(self, sink: Any) -> None:
        for batch in self.batches:
            sink(batch)
        await self.stopped.wait()

    def stop(self) -> None:
        self.stopped.set()


def test_common_grid() -> None:
    assert common_step([Decimal("0.01"), Decimal("0.001")]) == Decimal("0.001")
    assert common_step([Decimal("0.00001"), Decimal("0.00000001")]) == Decimal("0.00000001")
    assert common_step([Decimal("0.5"), Decimal("0.2")]) == Decimal("0.1")


async def test_rescaling_to_the_finer_grid() -> None:
    coarse = Instrument(SYMBOL, Decimal("0.01"), Decimal("0.00001"), venue_symbol="BTCUSDT")
    fine = Instrument(SYMBOL, Decimal("0.01"), Decimal("0.00000001"), venue_symbol="BTC-USD")
    # Primary (fine) is down from the start; the backup (coarse) has a book: 1.5 BTC bid at 100.00.
    primary = _Scripted("coinbase", fine, [[FeedStatus("coinbase", SYMBOL, FeedState.DOWN, 0)]])
    snap = BookSnapshot(SYMBOL, "binance", 7, NS, ((10000, 150000),), ((10001, 2),))
    backup = _Scripted(
        "binance",
        coarse,
        [
            [snap, FeedStatus("binance", SYMBOL, FeedState.LIVE, NS)],
            [BookDelta(SYMBOL, "binance", 8, 8, NS, ((10000, 100000),), ())],
            [Trade(SYMBOL, "binance", NS, 10001, 3, Side.BUY, "1")],
        ],
    )
    failover = FailoverFeed([primary, backup], switch_after_s=0.0, return_after_s=1.0, check_interval_s=0.01)
    assert failover.instruments[SYMBOL].lot_size == Decimal("0.00000001")
    engine = Engine(failover.instruments, "failover")
    task = asyncio.create_task(failover.run(engine.on_events))
    await _until(lambda: failover.active_venue(SYMBOL) == "binance", 2.0)
    await _until(lambda: engine.books[SYMBOL].seq == 8, 2.0)
    failover.stop()
    await task
    book = engine.books[SYMBOL]
    inst = failover.instruments[SYMBOL]
    assert {inst.price(p): inst.size(s) for p, s in book.bids.items()} == {Decimal("100.00"): Decimal("1.00000000")}
    assert inst.size(book.asks[10001]) == Decimal("0.00002")


class _Manual:
    """A feed whose events the test pushes by hand."""

    def __init__(self, venue: str, inst: Instrument) -> None:
        self.venue = venue
        self._instruments = {inst.symbol: inst}
        self.sink: Any = None
        self.stopped = asyncio.Event()

    @property
    def instruments(self) -> dict[str, Instrument]:
        return self._instruments

    async def run(self, sink: Any) -> None:
        self.sink = sink
        await self.stopped.wait()

    def stop(self) -> None:
        self.stopped.set()

    def status(self, state: FeedState) -> None:
        self.sink([FeedStatus(self.venue, SYMBOL, state, 0)])

    def book(self, seq: int) -> None:
        self.sink([BookSnapshot(SYMBOL, self.venue, seq, NS, ((100, 1),), ((101, 1),))])


async def test_hysteresis_on_an_injected_clock() -> None:
    inst = Instrument(SYMBOL, Decimal("0.01"), Decimal("0.001"))
    now = [0.0]
    primary, backup = _Manual("coinbase", inst), _Manual("binance", inst)
    failover = FailoverFeed(
        [primary, backup], switch_after_s=2.0, return_after_s=30.0, check_interval_s=60.0, clock=lambda: now[0]
    )
    engine = Engine(failover.instruments, "failover")
    task = asyncio.create_task(failover.run(engine.on_events))
    await _until(lambda: primary.sink is not None and backup.sink is not None, 2.0)
    for feed, seq in ((primary, 1), (backup, 50)):
        feed.book(seq)
        feed.status(FeedState.LIVE)
    now[0] = 1.0
    primary.status(FeedState.DOWN)
    now[0] = 2.9
    backup.status(FeedState.LIVE)  # any status triggers an evaluation
    assert failover.active_venue(SYMBOL) == "coinbase"  # down for 1.9 s < 2 s
    now[0] = 3.1
    backup.status(FeedState.LIVE)
    assert failover.active_venue(SYMBOL) == "binance"
    assert engine.books[SYMBOL].seq == 50  # the engine took the backup's snapshot
    now[0] = 4.0
    primary.book(2)
    primary.status(FeedState.LIVE)
    now[0] = 33.9
    primary.status(FeedState.LIVE)
    assert failover.active_venue(SYMBOL) == "binance"  # healthy for 29.9 s < 30 s
    now[0] = 34.1
    primary.status(FeedState.LIVE)
    assert failover.active_venue(SYMBOL) == "coinbase"
    assert engine.books[SYMBOL].seq == 2
    failover.stop()
    await task
    details = [e.detail for e in engine.feed_status.values()]
    assert details == ["failover binance->coinbase"]
