"""The built-in simulated market: deterministic for a seed, shaped like a real venue.

What it models, and why:
- **Fair prices** for several symbols move together (correlated shocks through a Cholesky factor) with
  GARCH(1,1) volatility clustering, so multi-asset VaR has real correlation and fat-ish tails to measure.
- **Regimes**: stretches where the price is pulled back to a slowly drifting anchor (Ornstein-Uhlenbeck) alternate
  with random-walk stretches, so mean reversion has something to trade and something to lose on.
- **Order flow** on an exchange-side L2 book: limit adds at a geometric distance from the touch, cancels and
  market orders that walk the book and print trades. The market emits a ``BookSnapshot`` then ``BookDelta``s with
  contiguous sequence numbers and ``Trade``s: the same shapes a real venue sends, so the engine's sync path is
  the one that runs in production.

Everything random comes from one ``numpy.random.Generator`` seeded once and drawn in blocks (cheap at wire
rate); time is simulated, so the same seed and start time give byte-identical events at any speed.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from desk.domain.events import BookDelta, BookSnapshot, Event, FeedState, FeedStatus, Level, Side, Trade
from desk.domain.instruments import Instrument
from desk.feeds.base import Sink

NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class SimSymbol:
    """A simulated instrument and its price dynamics."""

    instrument: Instrument
    start_price: float
    annual_vol: float  # long-run annualised volatility of the fair price
    typical_size: float  # median order size in base units


DEFAULT_SYMBOLS: tuple[SimSymbol, ...] = (
    SimSymbol(Instrument("BTC-USD", Decimal("0.01"), Decimal("0.00001"), Decimal("1")), 60_000.0, 0.55, 0.05),
    SimSymbol(Instrument("ETH-USD", Decimal("0.01"), Decimal("0.0001"), Decimal("1")), 3_000.0, 0.70, 0.8),
    SimSymbol(Instrument("SOL-USD", Decimal("0.001"), Decimal("0.001"), Decimal("1")), 150.0, 0.90, 12.0),
)

# Correlation of fair-price shocks (BTC, ETH, SOL), the rough shape of 2024 daily crypto returns.
DEFAULT_CORRELATION = np.array([[1.0, 0.82, 0.72], [0.82, 1.0, 0.78], [0.72, 0.78, 1.0]])

SECONDS_PER_YEAR = 365.25 * 24 * 3600


class _SymbolState:
    __slots__ = (
        "anchor",
        "asks",
        "bids",
        "fair",
        "inst",
        "level_spacing",
        "log_fair",
        "mean_reverting",
        "seq",
        "size_lots",
        "spec",
        "trade_id",
        "var",
    )

    def __init__(self, spec: SimSymbol) -> None:
        self.spec = spec
        self.inst = spec.instrument
        self.log_fair = math.log(spec.start_price)
        self.anchor = self.log_fair
        self.fair = spec.instrument.round_price_to_ticks(spec.start_price)
        self.var = 0.0
        self.mean_reverting = True
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.seq = 0
        self.trade_id = 0
        # Distance between populated price levels, in ticks: about 0.1 bp of price, at least one tick.
        self.level_spacing = max(1, round(spec.start_price * 1e-5 / float(spec.instrument.tick_size)))
        self.size_lots = max(1, spec.instrument.round_size_to_lots(spec.typical_size))


class SimulatedMarket:
    """Generates the event stream of a simulated venue in simulated time (no wall clock inside)."""

    venue = "sim"

    def __init__(
        self,
        symbols: Sequence[SimSymbol] = DEFAULT_SYMBOLS,
        *,
        seed: int = 7,
        rate: float = 400.0,
        start_ns: int = 1_767_225_600 * NS,  # 2026-01-01T00:00:00Z
        correlation: np.ndarray | None = None,
        depth: int = 60,
        price_step_s: float = 0.25,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate {rate} must be > 0 messages per second")
        self._symbols = [_SymbolState(s) for s in symbols]
        self.instruments = {s.inst.symbol: s.inst for s in self._symbols}
        n = len(self._symbols)
        corr = correlation if correlation is not None else _default_correlation(symbols)
        if corr.shape != (n, n):
            raise ValueError(f"correlation must be {n}x{n}")
        self._chol = np.linalg.cholesky(corr)
        self._rng = np.random.default_rng(seed)
        self.rate = rate
        self.now_ns = start_ns
        self.depth = depth
        self._price_step_ns = int(price_step_s * NS)
        self._next_price_ns = start_ns + self._price_step_ns
        self._dt_years = price_step_s / SECONDS_PER_YEAR
        self._block: list[float] = []
        self._pos = 0
        self._pending_gap = 0
        # Common log-volatility factor (AR(1), half-life about ten minutes): calm and stormy hours for every
        # symbol at once, which is what makes 1-minute returns cluster; GARCH below adds the short bursts.
        self._log_vol = 0.0
        self._vol_rho = math.exp(-price_step_s / 900.0)
        for s in self._symbols:
            s.var = (s.spec.annual_vol**2) * self._dt_years
            self._seed_book(s)

    # --- random numbers in blocks ---------------------------------------------------------------
    def _u(self) -> float:
        if self._pos >= len(self._block):
            self._block = self._rng.random(8192).tolist()
            self._pos = 0
        value = self._block[self._pos]
        self._pos += 1
        return value

    def _geometric(self, p: float) -> int:
        """Number of failures before the first success: 0, 1, 2, ... with mean (1-p)/p."""
        return int(math.log(1.0 - self._u()) / math.log(1.0 - p))

    def _size(self, s: _SymbolState) -> int:
        # Log-normal-ish sizes: median ~ typical size, long right tail.
        z = math.sqrt(-2.0 * math.log(1.0 - self._u())) * math.cos(2.0 * math.pi * self._u())
        return max(1, int(s.size_lots * math.exp(0.9 * z)))

    # --- the book the simulated exchange keeps ---------------------------------------------------
    def _seed_book(self, s: _SymbolState) -> None:
        half = max(1, s.level_spacing // 2)
        for i in range(self.depth):
            s.bids[s.fair - half - i * s.level_spacing] = self._size(s) * (1 + i // 10)
            s.asks[s.fair + half + i * s.level_spacing] = self._size(s) * (1 + i // 10)

    def snapshot(self, symbol: str) -> BookSnapshot:
        s = self._state(symbol)
        return BookSnapshot(
            symbol,
            self.venue,
            s.seq,
            self.now_ns,
            tuple(sorted(s.bids.items(), reverse=True)),
            tuple(sorted(s.asks.items())),
        )

    def snapshots(self) -> list[BookSnapshot]:
        return [self.snapshot(sym) for sym in self.instruments]

    def _state(self, symbol: str) -> _SymbolState:
        for s in self._symbols:
            if s.inst.symbol == symbol:
                return s
        raise KeyError(symbol)

    # --- event generation -----------------------------------------------------------------------
    def events_until(self, t_ns: int) -> list[Event]:
        """All events with timestamps up to ``t_ns`` (simulated), advancing the market."""
        out: list[Event] = []
        mean_gap_ns = NS / self.rate
        while True:
            # The next arrival is drawn once and kept until it is due, so the stream does not depend on how
            # callers slice time.
            gap = self._pending_gap or int(-math.log(1.0 - self._u()) * mean_gap_ns) + 1
            if self.now_ns + gap > t_ns:
                self._pending_gap = self.now_ns + gap - t_ns
                break
            self._pending_gap = 0
            self.now_ns += gap
            while self._next_price_ns <= self.now_ns:
                self._step_prices(out)
                self._next_price_ns += self._price_step_ns
            self._message(out)
        self.now_ns = max(self.now_ns, t_ns)
        return out

    def next_events(self, count: int) -> list[Event]:
        """At least ``count`` events (benchmarks and tests that do not care about time)."""
        out: list[Event] = []
        while len(out) < count:
            out.extend(self.events_until(self.now_ns + int(NS * 64 / self.rate)))
        return out

    def _step_prices(self, out: list[Event], recentre: bool = True) -> None:
        n = len(self._symbols)
        z = self._chol @ np.array([self._normal() for _ in range(n)])
        self._log_vol = self._vol_rho * self._log_vol + math.sqrt(1.0 - self._vol_rho**2) * 0.6 * self._normal()
        vol_factor = math.exp(self._log_vol - 0.18)  # E[exp(N(0, 0.6^2))] = exp(0.18): long-run vol unchanged
        for i, s in enumerate(self._symbols):
            if self._u() < 0.002:  # regime switch about every two minutes of simulated time
                s.mean_reverting = not s.mean_reverting
                s.anchor = s.log_fair
            long_run = (s.spec.annual_vol**2) * self._dt_years
            shock = math.sqrt(s.var) * vol_factor * float(z[i])
            # GARCH(1,1), persistence 0.98 per 0.25 s step: short bursts that fade within a minute.
            base_shock = shock / vol_factor
            s.var = 0.02 * long_run + 0.08 * base_shock * base_shock + 0.90 * s.var
            pull = 0.003 * (s.anchor - s.log_fair) if s.mean_reverting else 0.0
            s.anchor += 0.05 * shock
            s.log_fair += pull + shock
            s.fair = s.inst.round_price_to_ticks(math.exp(s.log_fair))
            if recentre:
                self._recentre(s, out)

    def fair_price_path(self, bars: int, bar_seconds: float = 60.0) -> np.ndarray:
        """Close prices (floats, shape ``(bars + 1, n_symbols)``) of the fair-price process alone.

        The same dynamics as the live stream without the order flow: the cheap way to give headless risk and
        backtest commands a long, correlated, volatility-clustered history. Use a dedicated instance: it
        advances this market's fair prices and leaves its book behind.
        """
        steps_per_bar = max(1, round(bar_seconds * NS / self._price_step_ns))
        out = np.empty((bars + 1, len(self._symbols)))
        out[0] = [math.exp(s.log_fair) for s in self._symbols]
        sink: list[Event] = []
        for i in range(1, bars + 1):
            for _ in range(steps_per_bar):
                self._step_prices(sink, recentre=False)
            out[i] = [math.exp(s.log_fair) for s in self._symbols]
        return out

    def _normal(self) -> float:
        return math.sqrt(-2.0 * math.log(1.0 - self._u())) * math.cos(2.0 * math.pi * self._u())

    def _recentre(self, s: _SymbolState, out: list[Event]) -> None:
        """Move the touch to the new fair price: sweep levels that are now through it, refill the other side."""
        half = max(1, s.level_spacing // 2)
        best_ask = min(s.asks) if s.asks else None
        best_bid = max(s.bids) if s.bids else None
        if best_ask is not None and best_ask <= s.fair:
            self._market_order(s, Side.BUY, None, s.fair, out)
        elif best_bid is not None and best_bid >= s.fair:
            self._market_order(s, Side.SELL, None, s.fair, out)
        changes_b: list[Level] = []
        changes_a: list[Level] = []
        bid_px = s.fair - half
        if not s.bids or max(s.bids) < bid_px - s.level_spacing:
            size = s.bids.get(bid_px, 0) + self._size(s)
            s.bids[bid_px] = size
            changes_b.append((bid_px, size))
        ask_px = s.fair + half
        if not s.asks or min(s.asks) > ask_px + s.level_spacing:
            size = s.asks.get(ask_px, 0) + self._size(s)
            s.asks[ask_px] = size
            changes_a.append((ask_px, size))
        # Trim far levels so the book stays a realistic size.
        limit = (self.depth + 20) * s.level_spacing
        for p in [p for p in s.bids if p < s.fair - limit]:
            del s.bids[p]
            changes_b.append((p, 0))
        for p in [p for p in s.asks if p > s.fair + limit]:
            del s.asks[p]
            changes_a.append((p, 0))
        if changes_b or changes_a:
            self._emit(s, changes_b, changes_a, out)

    def _emit(self, s: _SymbolState, bids: list[Level], asks: list[Level], out: list[Event]) -> None:
        s.seq += 1
        out.append(BookDelta(s.inst.symbol, self.venue, s.seq, s.seq, self.now_ns, tuple(bids), tuple(asks)))

    def _message(self, out: list[Event]) -> None:
        s = self._symbols[int(self._u() * len(self._symbols))]
        r = self._u()
        is_bid = self._u() < 0.5
        if r < 0.55:
            self._limit_add(s, is_bid, out)
        elif r < 0.92:
            self._cancel(s, is_bid, out)
        else:
            # Aggressors lean towards the fair price: more buying when the touch is below it.
            mid2 = (max(s.bids) + min(s.asks)) if s.bids and s.asks else 2 * s.fair
            buy_prob = 0.7 if 2 * s.fair > mid2 else 0.3 if 2 * s.fair < mid2 else 0.5
            side = Side.BUY if self._u() < buy_prob else Side.SELL
            self._market_order(s, side, self._size(s) * 2, None, out)

    def _limit_add(self, s: _SymbolState, is_bid: bool, out: list[Event]) -> None:
        half = max(1, s.level_spacing // 2)
        distance = self._geometric(0.15)
        if distance >= self.depth:
            distance = self.depth - 1
        # A few adds per symbol arrive together (a venue batches changes per update window).
        if is_bid:
            touch = min(max(s.bids) if s.bids else s.fair - half, s.fair - half)
            price = touch - distance * s.level_spacing
            if s.asks and price >= min(s.asks):
                return
            size = s.bids.get(price, 0) + self._size(s)
            s.bids[price] = size
            self._emit(s, [(price, size)], [], out)
        else:
            touch = max(min(s.asks) if s.asks else s.fair + half, s.fair + half)
            price = touch + distance * s.level_spacing
            if s.bids and price <= max(s.bids):
                return
            size = s.asks.get(price, 0) + self._size(s)
            s.asks[price] = size
            self._emit(s, [], [(price, size)], out)

    def _cancel(self, s: _SymbolState, is_bid: bool, out: list[Event]) -> None:
        book = s.bids if is_bid else s.asks
        if len(book) <= self.depth // 2:  # a thin book attracts liquidity rather than losing more
            return self._limit_add(s, is_bid, out)
        k = min(self._geometric(0.1), len(book) - 1) + 1
        price = (heapq.nlargest(k, book) if is_bid else heapq.nsmallest(k, book))[-1]
        size = book[price]
        cut = self._size(s)
        new = size - cut if cut < size and self._u() < 0.6 else 0
        if new:
            book[price] = new
        else:
            del book[price]
        self._emit(s, [(price, new)] if is_bid else [], [] if is_bid else [(price, new)], out)
        return None

    def _market_order(self, s: _SymbolState, side: Side, lots: int | None, limit: int | None, out: list[Event]) -> None:
        """Walk the opposite side: by size, or (``limit``) through every level priced at or beyond it."""
        book = s.asks if side is Side.BUY else s.bids
        if lots is not None:  # a sized order rarely goes deeper than a few levels: avoid a full sort
            ordered = heapq.nsmallest(8, book) if side is Side.BUY else heapq.nlargest(8, book)
        else:
            ordered = sorted(book) if side is Side.BUY else sorted(book, reverse=True)
        remaining = lots if lots is not None else 1 << 62
        changes: list[Level] = []
        for price in ordered:
            if remaining <= 0:
                break
            if limit is not None and (price > limit if side is Side.BUY else price < limit):
                break
            size = book[price]
            take = min(size, remaining)
            remaining -= take
            s.trade_id += 1
            out.append(Trade(s.inst.symbol, self.venue, self.now_ns, price, take, side, str(s.trade_id)))
            if take == size:
                del book[price]
                changes.append((price, 0))
            else:
                book[price] = size - take
                changes.append((price, size - take))
        if changes:
            if side is Side.BUY:
                self._emit(s, [], changes, out)
            else:
                self._emit(s, changes, [], out)


def _default_correlation(symbols: Sequence[SimSymbol]) -> np.ndarray:
    names = [s.instrument.symbol for s in symbols]
    base = ["BTC-USD", "ETH-USD", "SOL-USD"]
    n = len(names)
    corr = np.eye(n)
    for i in range(n):
        for j in range(n):
            if i != j:
                if names[i] in base and names[j] in base:
                    corr[i, j] = DEFAULT_CORRELATION[base.index(names[i]), base.index(names[j])]
                else:
                    corr[i, j] = 0.5
    return corr


class SimFeed:
    """Runs a ``SimulatedMarket`` against the wall clock: ``speed`` simulated seconds per real second."""

    venue = "sim"

    def __init__(self, market: SimulatedMarket, *, speed: float = 1.0, wake_s: float = 0.005) -> None:
        if speed <= 0:
            raise ValueError(f"speed {speed} must be > 0")
        self.market = market
        self.speed = speed
        self.wake_s = wake_s
        self._stopped = False
        self.messages = 0

    @property
    def instruments(self) -> dict[str, Instrument]:
        return self.market.instruments

    def stop(self) -> None:
        self._stopped = True

    async def run(self, sink: Sink) -> None:
        m = self.market
        now = m.now_ns
        sink([FeedStatus(m.venue, sym, FeedState.CONNECTING, now) for sym in m.instruments])
        sink(m.snapshots())
        sink([FeedStatus(m.venue, sym, FeedState.LIVE, now) for sym in m.instruments])
        wall0 = time.monotonic()
        sim0 = m.now_ns
        last_status = wall0
        while not self._stopped:
            await asyncio.sleep(self.wake_s)
            wall = time.monotonic()
            events = m.events_until(sim0 + int((wall - wall0) * self.speed * NS))
            self.messages += len(events)
            if events:
                sink(events)
            if wall - last_status >= 1.0:
                rate = self.messages / max(wall - wall0, 1e-9)
                sink(
                    [
                        FeedStatus(m.venue, sym, FeedState.LIVE, m.now_ns, msgs_per_s=rate / len(m.instruments))
                        for sym in m.instruments
                    ]
                )
                last_status = wall
