"""One L2 order book: plain dicts of price tick -> size lots, with cached best prices.

Why dicts and not a sorted container: updates dominate reads by two orders of magnitude on a live feed (the
UI reads the top of book at 15 Hz, venues send thousands of level changes a second). A dict set/delete is a
single hash operation; the best price is cached and only recomputed when the best level itself is removed;
top-N reads use ``heapq`` over the (small) set of live levels. ``benchmarks/bench_book.py`` measures this
against ``sortedcontainers.SortedDict``.
"""

from __future__ import annotations

import heapq
from enum import StrEnum

from desk.domain.events import BookDelta, BookSnapshot, Level
from desk.domain.instruments import Instrument


class BookState(StrEnum):
    EMPTY = "empty"  # no snapshot yet
    LIVE = "live"  # snapshot applied and every delta since was contiguous
    INVALID = "invalid"  # gap, checksum failure or crossed book: needs a fresh snapshot


class SequenceGap(Exception):
    """A delta did not follow the book's sequence; the book is now INVALID."""


class OrderBook:
    __slots__ = (
        "_best_ask",
        "_best_bid",
        "asks",
        "bids",
        "gaps",
        "instrument",
        "invalid_reason",
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
        self._best_bid: int | None = None
        self._best_ask: int | None = None
        self.seq = 0
        self.ts_ns = 0
        self.state = BookState.EMPTY
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
        self._best_bid = max(self.bids) if self.bids else None
        self._best_ask = min(self.asks) if self.asks else None
        self.seq = snapshot.seq
        self.ts_ns = snapshot.ts_ns
        self.state = BookState.LIVE
        self.invalid_reason = ""
        self.updates += len(self.bids) + len(self.asks)

    def apply_delta(self, delta: BookDelta) -> None:
        """Apply a delta; raises ``SequenceGap`` (and marks the book INVALID) when it does not follow."""
        if self.state is not BookState.LIVE:
            return
        if delta.first_seq and delta.first_seq != self.seq + 1:
            if delta.seq <= self.seq:
                return  # stale duplicate: already covered by the snapshot or an earlier delta
            self.gaps += 1
            self.invalidate(f"sequence gap: expected {self.seq + 1}, got {delta.first_seq}")
            raise SequenceGap(self.invalid_reason)
        if delta.bids:
            self._apply_bids(delta.bids)
        if delta.asks:
            self._apply_asks(delta.asks)
        self.updates += len(delta.bids) + len(delta.asks)
        self.seq = delta.seq
        self.ts_ns = delta.ts_ns

    def _apply_bids(self, levels: tuple[Level, ...]) -> None:
        book = self.bids
        best = self._best_bid
        for price, size in levels:
            if size:
                book[price] = size
                if best is None or price > best:
                    best = price
            elif book.pop(price, None) is not None and price == best:
                best = max(book) if book else None
        self._best_bid = best

    def _apply_asks(self, levels: tuple[Level, ...]) -> None:
        book = self.asks
        best = self._best_ask
        for price, size in levels:
            if size:
                book[price] = size
                if best is None or price < best:
                    best = price
            elif book.pop(price, None) is not None and price == best:
                best = min(book) if book else None
        self._best_ask = best

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
            keep = heapq.nlargest(depth, self.bids)
            self.bids = {p: self.bids[p] for p in keep}
        if len(self.asks) > depth:
            keep = heapq.nsmallest(depth, self.asks)
            self.asks = {p: self.asks[p] for p in keep}

    def invalidate(self, reason: str) -> None:
        self.state = BookState.INVALID
        self.invalid_reason = reason

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self._best_bid = self._best_ask = None
        self.state = BookState.EMPTY
        self.seq = 0

    # --- reads ---------------------------------------------------------------------------------
    @property
    def best_bid(self) -> int | None:
        return self._best_bid

    @property
    def best_ask(self) -> int | None:
        return self._best_ask

    def top(self, n: int) -> tuple[list[Level], list[Level]]:
        """Best ``n`` levels a side, best first."""
        bids = self.bids
        asks = self.asks
        return (
            [(p, bids[p]) for p in heapq.nlargest(n, bids)],
            [(p, asks[p]) for p in heapq.nsmallest(n, asks)],
        )

    def sorted_bids(self) -> list[Level]:
        return sorted(self.bids.items(), reverse=True)

    def sorted_asks(self) -> list[Level]:
        return sorted(self.asks.items())

    @property
    def is_crossed(self) -> bool:
        b, a = self._best_bid, self._best_ask
        return b is not None and a is not None and b > a

    @property
    def is_locked(self) -> bool:
        b, a = self._best_bid, self._best_ask
        return b is not None and a is not None and b == a

    def spread_ticks(self) -> int | None:
        b, a = self._best_bid, self._best_ask
        return None if b is None or a is None else a - b

    def mid_ticks(self) -> float | None:
        """Mid in (possibly half) ticks."""
        b, a = self._best_bid, self._best_ask
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
        b, a = self._best_bid, self._best_ask
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
        levels = sorted(self.asks.items()) if buy else sorted(self.bids.items(), reverse=True)
        remaining = lots
        notional = 0
        for price, size in levels:
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
