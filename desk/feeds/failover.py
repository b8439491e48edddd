"""A composite feed: per symbol, a primary venue and backups, with health-checked switching and hysteresis.

Every member feed runs all the time (hot standby), so a switch needs no new connection: the failover keeps a
shadow book per member and symbol, and on a switch it tells the engine the book is being resynchronised
(``FeedStatus`` RESYNCING, detail ``"failover coinbase->binance"``), hands it the new venue's current book as a
snapshot, and from then on forwards only that venue's events for the symbol. It leaves the primary when the
primary has not been LIVE for ``switch_after_s`` and a backup is; it goes back only after the primary has been
LIVE for ``return_after_s`` (hysteresis: a flapping primary does not drag the book back and forth).

Venues may use different grids for the same desk symbol (Coinbase BTC-USD lot 1e-8, Binance BTCUSDT 1e-5):
the composite's instruments use the finest common grid and events are rescaled by exact integer factors.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from fractions import Fraction

from msgspec.structs import replace

from desk.book.l2 import BookState, OrderBook, SequenceGap
from desk.domain.events import BookDelta, BookSnapshot, Event, FeedState, FeedStatus, Level, Trade
from desk.domain.instruments import Instrument
from desk.feeds.base import Feed, Sink


def common_step(steps: Sequence[Decimal]) -> Decimal:
    """The largest step that divides every step exactly (gcd over decimals)."""
    fractions = [Fraction(s) for s in steps]
    denominator = math.lcm(*(f.denominator for f in fractions))
    numerator = math.gcd(*(int(f * denominator) for f in fractions))
    result = Fraction(numerator, denominator)
    return (Decimal(result.numerator) / Decimal(result.denominator)).normalize()


def _scale_levels(levels: tuple[Level, ...], pf: int, sf: int) -> tuple[Level, ...]:
    return tuple([(p * pf, s * sf) for p, s in levels])


class _Member:
    __slots__ = ("books", "factors", "feed", "live_since", "not_live_since", "state", "venue")

    def __init__(self, feed: Feed, common: dict[str, Instrument], now: float) -> None:
        self.feed = feed
        self.venue = feed.venue
        self.factors: dict[str, tuple[int, int]] = {}
        for sym, inst in feed.instruments.items():
            if sym in common:
                c = common[sym]
                self.factors[sym] = (int(inst.tick_size / c.tick_size), int(inst.lot_size / c.lot_size))
        self.books = {sym: OrderBook(common[sym], feed.venue) for sym in self.factors}
        self.state = dict.fromkeys(self.factors, FeedState.CONNECTING)
        self.live_since: dict[str, float | None] = dict.fromkeys(self.factors)
        self.not_live_since: dict[str, float | None] = dict.fromkeys(self.factors, now)

    def rescale(self, event: Event) -> Event:
        factors = self.factors.get(event.symbol)
        if factors is None or factors == (1, 1):
            return event
        pf, sf = factors
        if type(event) is BookDelta or type(event) is BookSnapshot:
            return replace(event, bids=_scale_levels(event.bids, pf, sf), asks=_scale_levels(event.asks, pf, sf))
        if type(event) is Trade:
            return replace(event, price=event.price * pf, size=event.size * sf)
        return event

    def healthy(self, symbol: str) -> bool:
        return self.state.get(symbol) is FeedState.LIVE and self.books[symbol].state is BookState.LIVE


class FailoverFeed:
    """Implements the Feed protocol over ``feeds`` (first = primary) for the symbols the primary carries."""

    venue = "failover"

    def __init__(
        self,
        feeds: Sequence[Feed],
        *,
        switch_after_s: float = 2.0,
        return_after_s: float = 30.0,
        check_interval_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if len(feeds) < 2:
            raise ValueError("failover needs a primary and at least one backup feed")
        if switch_after_s < 0 or return_after_s < 0 or check_interval_s <= 0:
            raise ValueError("failover timings must be non-negative (check interval positive)")
        self.switch_after_s = switch_after_s
        self.return_after_s = return_after_s
        self.check_interval_s = check_interval_s
        self._clock = clock
        primary = feeds[0]
        common: dict[str, Instrument] = {}
        for sym, inst in primary.instruments.items():
            insts = [f.instruments[sym] for f in feeds if sym in f.instruments]
            common[sym] = Instrument(
                sym,
                common_step([i.tick_size for i in insts]),
                common_step([i.lot_size for i in insts]),
                max(i.min_notional for i in insts),
                venue_symbol=inst.venue_symbol,
            )
        self._instruments = common
        now = clock()
        self.members = [_Member(f, common, now) for f in feeds]
        self.active = dict.fromkeys(common, 0)
        self.switches: list[tuple[str, str, str]] = []  # (symbol, from venue, to venue)
        self._sink: Sink | None = None
        self._stopped = False
        self._task: asyncio.Task[None] | None = None

    @property
    def instruments(self) -> dict[str, Instrument]:
        return self._instruments

    def active_venue(self, symbol: str) -> str:
        return self.members[self.active[symbol]].venue

    def stop(self) -> None:
        self._stopped = True
        for m in self.members:
            m.feed.stop()
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def run(self, sink: Sink) -> None:
        self._sink = sink
        tasks = [asyncio.create_task(m.feed.run(self._receiver(i))) for i, m in enumerate(self.members)]
        self._task = asyncio.create_task(self._monitor())
        try:
            await self._task
        except asyncio.CancelledError:
            if not self._stopped:
                raise
        finally:
            for m in self.members:
                m.feed.stop()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _monitor(self) -> None:
        while not self._stopped:
            await asyncio.sleep(self.check_interval_s)
            out: list[Event] = []
            for sym in self.active:
                self._evaluate(sym, out)
            if out and self._sink is not None:
                self._sink(out)

    def _receiver(self, index: int) -> Sink:
        member = self.members[index]

        def receive(batch: Sequence[Event]) -> None:
            now = self._clock()
            out: list[Event] = []
            touched: set[str] = set()
            for raw in batch:
                sym = raw.symbol
                if sym not in member.books:
                    continue
                event = member.rescale(raw)
                self._shadow(member, event, now)
                if self.active[sym] == index:
                    out.append(event)
                if type(event) is FeedStatus:
                    touched.add(sym)
            for sym in touched:
                self._evaluate(sym, out)
            if out and self._sink is not None:
                self._sink(out)

        return receive

    def _shadow(self, m: _Member, event: Event, now: float) -> None:
        book = m.books[event.symbol]
        if type(event) is BookDelta:
            with contextlib.suppress(SequenceGap):  # the member's supervisor resyncs; the shadow waits for it
                book.apply_delta(event)
        elif type(event) is BookSnapshot:
            book.apply_snapshot(event)
        elif type(event) is FeedStatus:
            sym = event.symbol
            if event.state is FeedState.LIVE:
                if m.state[sym] is not FeedState.LIVE:
                    m.live_since[sym] = now
                    m.not_live_since[sym] = None
            else:
                if m.state[sym] is FeedState.LIVE or m.not_live_since[sym] is None:
                    m.not_live_since[sym] = now
                m.live_since[sym] = None
                if event.state in (FeedState.DOWN, FeedState.RESYNCING, FeedState.CONNECTING):
                    book.invalidate(f"feed {event.state}")
            m.state[sym] = event.state

    def _evaluate(self, sym: str, out: list[Event]) -> None:
        now = self._clock()
        current = self.active[sym]
        primary = self.members[0]
        if current != 0:
            since = primary.live_since[sym]
            if primary.healthy(sym) and since is not None and now - since >= self.return_after_s:
                self._switch(sym, 0, out)
                return
        active = self.members[current]
        if active.healthy(sym):
            return
        down_since = active.not_live_since[sym]
        if down_since is None or now - down_since < self.switch_after_s:
            return
        for index, member in enumerate(self.members):
            if index != current and member.healthy(sym):
                self._switch(sym, index, out)
                return

    def _switch(self, sym: str, index: int, out: list[Event]) -> None:
        old = self.members[self.active[sym]].venue
        new = self.members[index]
        detail = f"failover {old}->{new.venue}"
        self.active[sym] = index
        self.switches.append((sym, old, new.venue))
        book = new.books[sym]
        ts = time.time_ns()
        out.append(FeedStatus(new.venue, sym, FeedState.RESYNCING, ts, detail=detail))
        out.append(
            BookSnapshot(sym, new.venue, book.seq, book.ts_ns, tuple(book.sorted_bids()), tuple(book.sorted_asks()))
        )
        out.append(FeedStatus(new.venue, sym, FeedState.LIVE, ts, detail=detail))
