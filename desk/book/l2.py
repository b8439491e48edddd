"""One L2 order book: a dict of price tick -> size lots per side, plus a sorted list of the prices.

Why this shape: most level updates change the size of a price that already exists (one dict store, no
reordering); only a new or vanished price touches the sorted list (``bisect`` + a C-level memmove, cheap for the
few thousand levels a venue sends). Best price is ``list[0]`` and a top-N read is a slice, so the 15 Hz UI, the
fill engine and the risk gate read the top of book without sorting. Bids keep negated prices in their list so
both lists are ascending from the touch. ``benchmarks/bench_book.py`` measures this against
``sortedcontainers.SortedDict`` (which keeps a list of sublists and pays Python-level calls per update).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from enum import StrEnum

from desk.domain.events import BookDelta, BookSnapshot, Level
from desk.domain.instruments import Instrument
from desk.native import apply_sides as _native_apply_sides


class BookState(StrEnum):
    EMPTY = "empty"  # no snapshot yet
    LIVE = "live"  # snapshot applied and every delta since was contiguous
    INVALID = "invalid"  # gap, checksum failure or crossed book: needs a fresh snapshot


class SequenceGap(Exception):
    """A delta did not follow the book's sequence; the book is now INVALID."""


class OrderBook:
    __slots__ = (
        "_ask_prices",
        "_bid_keys",
        "asks",
        "bids",
        "gaps",
        "instrument",
        "invalid_reason",
        "live",
        "seq",
        "state",
        "ts_ns",
        "updates",
        "venue",
    )

    def __init__(self, instrument: Instrument, venue: str = "sim") -> None:
        self.instrument = instrument
        self.venue = venue
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self._bid_keys: list[int] = []  # negated bid prices, ascending: best bid first
        self._ask_prices: list[int] = []  # ask prices, ascending: best ask first
        self.seq = 0
        self.ts_ns = 0
        self.state = BookState.EMPTY
        self.live = False  # state is LIVE; a plain bool because the hot path checks it per delta
        self.invalid_reason = ""
        self.gaps = 0
        self.updates = 0  # level changes applied; the UI compares it to know whether to redraw

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    # --- mutation ------------------------------------------------------------------------------
    def apply_snapshot(self, snapshot: BookSnapshot) -> None:
        self.bids = {p: s for p, s in snapshot.bids if s > 0}
        self.asks = {p: s for p, s in snapshot.asks if s > 0}
        self._bid_keys = sorted(-p for p in self.bids)
        self._ask_prices = sorted(self.asks)
        self.seq = snapshot.seq
        self.ts_ns = snapshot.ts_ns
        self.state = BookState.LIVE
        self.live = True
        self.invalid_reason = ""
        self.updates += len(self.bids) + len(self.asks)

    def apply_delta(self, delta: BookDelta) -> bool:
        """Apply a delta; raises ``SequenceGap`` (and marks the book INVALID) when it does not follow. Returns
        ``is_crossed`` afterwards (venue adapters check every delta, and the answer is free here).

        This is the hottest function in the desk: the level loops are inlined (no per-side method call) and
        locals are bound once, which measurably matters at millions of level updates per second.
        """
        if not self.live:
            return False
        first = delta.first_seq
        if first and first != self.seq + 1:
            if delta.seq <= self.seq:
                return False  # stale duplicate: already covered by the snapshot or an earlier delta
            self.gaps += 1
            self.invalidate(f"sequence gap: expected {self.seq + 1}, got {first}")
            raise SequenceGap(self.invalid_reason)
        apply = _native_apply_sides
        if apply is not None:  # the same loops and the crossed check, compiled (desk/_native.c)
            packed = apply(self.bids, self._bid_keys, delta.bids, self.asks, self._ask_prices, delta.asks)
            self.updates += packed >> 1
            self.seq = delta.seq
            self.ts_ns = delta.ts_ns
            return packed & 1 == 1
        levels = delta.bids
        if levels:
            book = self.bids
            keys = self._bid_keys
            for price, size in levels:
                if size:
                    if price not in book:
                        insort(keys, -price)
                    book[price] = size
                elif book.pop(price, None) is not None:
                    del keys[bisect_left(keys, -price)]
            n = len(levels)
        else:
            n = 0
        levels = delta.asks
        if levels:
            book = self.asks
            prices = self._ask_prices
            for price, size in levels:
                if size:
                    if price not in book:
                        insort(prices, price)
                    book[price] = size
                elif book.pop(price, None) is not None:
                    del prices[bisect_left(prices, price)]
            n += len(levels)
        self.updates += n
        self.seq = delta.seq
        self.ts_ns = delta.ts_ns
        keys = self._bid_keys
        prices = self._ask_prices
        return bool(keys and prices and -keys[0] > prices[0])

    def _apply_bids(self, levels: tuple[Level, ...] | list[Level]) -> None:
        book = self.bids
        keys = self._bid_keys
        for price, size in levels:
            if size:
                if price not in book:
                    insort(keys, -price)
                book[price] = size
            elif book.pop(price, None) is not None:
                del keys[bisect_left(keys, -price)]

    def _apply_asks(self, levels: tuple[Level, ...] | list[Level]) -> None:
        book = self.asks
        prices = self._ask_prices
        for price, size in levels:
            if size:
                if price not in book:
                    insort(prices, price)
                book[price] = size
            elif book.pop(price, None) is not None:
                del prices[bisect_left(prices, price)]

    def set_level(self, is_bid: bool, price: int, size: int) -> None:
        """Set one level outside the sequence protocol (venues without sequence numbers, tests)."""
        if is_bid:
            self._apply_bids(((price, size),))
        else:
            self._apply_asks(((price, size),))
        self.updates += 1

    def truncate(self, depth: int) -> None:
        """Keep only the best ``depth`` levels a side (Kraken: the book is defined at subscribed depth)."""
        if len(self.bids) > depth:
            for key in self._bid_keys[depth:]:
                del self.bids[-key]
            del self._bid_keys[depth:]
        if len(self.asks) > depth:
            for price in self._ask_prices[depth:]:
                del self.asks[price]
            del self._ask_prices[depth:]

    def invalidate(self, reason: str) -> None:
        self.state = BookState.INVALID
        self.live = False
        self.invalid_reason = reason

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self._bid_keys.clear()
        self._ask_prices.clear()
        self.state = BookState.EMPTY
        self.live = False
        self.seq = 0

    # --- reads ---------------------------------------------------------------------------------
    @property
    def best_bid(self) -> int | None:
        keys = self._bid_keys
        return -keys[0] if keys else None

    @property
    def best_ask(self) -> int | None:
        prices = self._ask_prices
        return prices[0] if prices else None

    def top(self, n: int) -> tuple[list[Level], list[Level]]:
        """Best ``n`` levels a side, best first."""
        bids = self.bids
        asks = self.asks
        return (
            [(-k, bids[-k]) for k in self._bid_keys[:n]],
            [(p, asks[p]) for p in self._ask_prices[:n]],
        )

    def sorted_bids(self) -> list[Level]:
        bids = self.bids
        return [(-k, bids[-k]) for k in self._bid_keys]

    def sorted_asks(self) -> list[Level]:
        asks = self.asks
        return [(p, asks[p]) for p in self._ask_prices]

    @property
    def is_crossed(self) -> bool:
        """Best bid above best ask. Venue adapters ask after every delta, so it reads the lists directly."""
        keys = self._bid_keys
        prices = self._ask_prices
        if keys and prices:
            return -keys[0] > prices[0]
        return False

    @property
    def is_locked(self) -> bool:
        b, a = self.best_bid, self.best_ask
        return b is not None and a is not None and b == a

    def spread_ticks(self) -> int | None:
        b, a = self.best_bid, self.best_ask
        return None if b is None or a is None else a - b

    def mid_ticks(self) -> float | None:
        """Mid in (possibly half) ticks."""
        b, a = self.best_bid, self.best_ask
        return None if b is None or a is None else (a + b) / 2

    def mid(self) -> float | None:
        m = self.mid_ticks()
        return None if m is None else self.instrument.price_float(m)

    def spread_bps(self) -> float | None:
        m = self.mid_ticks()
        s = self.spread_ticks()
        return None if m is None or s is None or m <= 0 else s / m * 1e4

    def microprice_ticks(self) -> float | None:
        """Size-weighted mid: leans towards the side with less size (the side more likely to be taken)."""
        b, a = self.best_bid, self.best_ask
        if b is None or a is None:
            return None
        qb, qa = self.bids[b], self.asks[a]
        return (b * qa + a * qb) / (qa + qb)

    def imbalance(self, levels: int = 1) -> float | None:
        """(bid size - ask size) / (bid size + ask size) over the best ``levels`` a side, in [-1, 1]."""
        bids, asks = self.top(levels)
        vb = sum(s for _, s in bids)
        va = sum(s for _, s in asks)
        return None if vb + va == 0 else (vb - va) / (vb + va)

    def depth_within_bps(self, bps: float) -> tuple[int, int]:
        """Total lots on each side priced within ``bps`` of the mid (inclusive)."""
        m = self.mid_ticks()
        if m is None:
            return 0, 0
        lo = m * (1 - bps / 1e4)
        hi = m * (1 + bps / 1e4)
        return (
            sum(s for p, s in self.bids.items() if p >= lo),
            sum(s for p, s in self.asks.items() if p <= hi),
        )

    def cumulative(self, n: int) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
        """Top ``n`` a side as (price, size, cumulative size from the touch)."""
        bids, asks = self.top(n)
        out: tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]] = ([], [])
        for side, levels in zip(out, (bids, asks), strict=True):
            total = 0
            for p, s in levels:
                total += s
                side.append((p, s, total))
        return out

    def walk(self, buy: bool, lots: int) -> tuple[int, int]:
        """Take ``lots`` from the opposite side, best first: returns (lots filled, notional in tick*lots).

        The fill engine turns this into an average price; a partial fill means the depth ran out.
        """
        side = self.asks if buy else self.bids
        sign = 1 if buy else -1
        remaining = lots
        notional = 0
        for key in self._ask_prices if buy else self._bid_keys:
            price = sign * key
            size = side[price]
            take = size if size < remaining else remaining
            notional += take * price
            remaining -= take
            if not remaining:
                break
        return lots - remaining, notional

    def avg_fill_price_ticks(self, buy: bool, lots: int) -> float | None:
        """Average price in ticks to fill ``lots`` now, or None if the book cannot fill all of it."""
        filled, notional = self.walk(buy, lots)
        if filled < lots or filled == 0:
            return None
        return notional / filled
