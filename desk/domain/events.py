"""Normalised market-data events: what every feed (simulated, replayed or venue) produces.

Prices are integer ticks and sizes integer lots of the event's instrument (see ``desk.domain.instruments``).
Timestamps are integer nanoseconds since the Unix epoch. Events are frozen ``msgspec.Struct``s (without GC
tracking: they hold only ints, strings and tuples of them): immutable, safe to share between the engine, the UI and
the journal, and about 7x cheaper to create than frozen slotted dataclasses (0.10 vs 0.75 us for a BookDelta
here), which matters at wire rate.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

Level = tuple[int, int]
"""(price in ticks, size in lots). In a delta, size 0 removes the level; sizes are absolute, never increments."""


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class FeedState(StrEnum):
    CONNECTING = "connecting"
    SYNCING = "syncing"
    LIVE = "live"
    STALE = "stale"
    RESYNCING = "resyncing"
    DOWN = "down"


class BookSnapshot(msgspec.Struct, frozen=True, gc=False):
    """Full L2 state. ``seq`` is the venue sequence the snapshot is valid at; levels best first."""

    symbol: str
    venue: str
    seq: int
    ts_ns: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


class BookDelta(msgspec.Struct, frozen=True, gc=False):
    """Changes to apply after ``first_seq - 1``. ``seq`` is the last sequence this delta covers.

    Venue adapters normalise their sequencing so the book can check continuity generically: a delta applies
    when ``first_seq == book.seq + 1``. ``first_seq == 0`` means the venue has no sequence numbers (the adapter
    verifies integrity another way, e.g. Kraken's checksum).
    """

    symbol: str
    venue: str
    first_seq: int
    seq: int
    ts_ns: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


class Trade(msgspec.Struct, frozen=True, gc=False):
    symbol: str
    venue: str
    ts_ns: int
    price: int
    size: int
    aggressor: Side
    trade_id: str


class Bar(msgspec.Struct, frozen=True, gc=False):
    """OHLCV over [start_ns, start_ns + timeframe_s). Prices in ticks, volume in lots."""

    symbol: str
    timeframe_s: int
    start_ns: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    trades: int


class FeedStatus(msgspec.Struct, frozen=True, gc=False):
    """Health of one feed for one symbol, emitted on every state change and periodically."""

    venue: str
    symbol: str
    state: FeedState
    ts_ns: int
    detail: str = ""
    msgs_per_s: float = 0.0
    last_msg_age_s: float = 0.0
    latency_ms: float = 0.0
    gaps: int = 0
    resyncs: int = 0
    checksum_failures: int = 0
    malformed: int = 0


Event = BookSnapshot | BookDelta | Trade | Bar | FeedStatus
