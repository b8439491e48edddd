"""Per-symbol feed health: the numbers a trader needs to trust (or distrust) what the book shows.

The supervisor and venue adapters update counters as messages arrive (cheap: a few attribute writes per
message); ``status()`` turns them into a ``FeedStatus`` event, emitted on every state change and periodically.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from desk.domain.events import FeedState, FeedStatus

NS = 1_000_000_000
LATENCY_EMA = 0.1  # weight of the newest sample: smooths jitter, still follows a real shift in seconds


class SymbolHealth:
    __slots__ = (
        "checksum_failures",
        "detail",
        "gaps",
        "last_msg_mono",
        "latency_ms",
        "messages",
        "rate",
        "rate_mark",
        "rate_since",
        "resyncs",
        "state",
    )

    def __init__(self, now: float) -> None:
        self.state = FeedState.CONNECTING
        self.detail = ""
        self.messages = 0
        self.rate_mark = 0  # ``messages`` when the rate was last refreshed
        self.rate_since = now
        self.rate = 0.0
        self.last_msg_mono: float | None = None
        self.latency_ms = 0.0
        self.gaps = 0
        self.resyncs = 0
        self.checksum_failures = 0


class FeedHealth:
    """Counters for every symbol of one feed; ``malformed`` is feed-wide (a bad frame names no symbol)."""

    LATENCY_EMA = LATENCY_EMA

    def __init__(
        self,
        venue: str,
        symbols: Iterable[str],
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.venue = venue
        self._clock = clock
        self._wall_ns = wall_ns
        now = clock()
        self.symbols: dict[str, SymbolHealth] = {sym: SymbolHealth(now) for sym in symbols}
        self.malformed = 0
        self.messages = 0
        self.last_msg_mono: float | None = None

    def message(self, symbol: str | None = None, exchange_ts_ns: int = 0, recv_ns: int = 0) -> None:
        """One wire message; ``exchange_ts_ns`` (venue event time) feeds the latency estimate.

        Called once per frame at wire rate, so it does the least it can: one clock read, one counter per level
        (the rate is derived from ``messages`` when a status is built, not counted separately)."""
        now = self._clock()
        self.messages += 1
        self.last_msg_mono = now
        if symbol is None:
            return
        h = self.symbols.get(symbol)
        if h is None:
            return
        h.messages += 1
        h.last_msg_mono = now
        if exchange_ts_ns and recv_ns:
            sample = (recv_ns - exchange_ts_ns) / 1e6
            latency = h.latency_ms
            h.latency_ms = sample if latency == 0.0 else latency + LATENCY_EMA * (sample - latency)

    def connection_message(self) -> None:
        """A frame that proves the connection is alive but belongs to no symbol (heartbeat, ack)."""
        self.messages += 1
        self.last_msg_mono = self._clock()

    def set_state(self, symbol: str, state: FeedState, detail: str = "") -> bool:
        """Returns True when the state changed (the caller then emits a status)."""
        h = self.symbols[symbol]
        changed = h.state is not state or h.detail != detail
        h.state = state
        h.detail = detail
        return changed

    def status(self, symbol: str) -> FeedStatus:
        h = self.symbols[symbol]
        now = self._clock()
        elapsed = now - h.rate_since
        if elapsed >= 0.5:  # refresh the rate at most twice a second so it is not noise
            h.rate = (h.messages - h.rate_mark) / elapsed
            h.rate_mark = h.messages
            h.rate_since = now
        age = 0.0 if h.last_msg_mono is None else now - h.last_msg_mono
        return FeedStatus(
            venue=self.venue,
            symbol=symbol,
            state=h.state,
            ts_ns=self._wall_ns(),
            detail=h.detail,
            msgs_per_s=h.rate,
            last_msg_age_s=age,
            latency_ms=h.latency_ms,
            gaps=h.gaps,
            resyncs=h.resyncs,
            checksum_failures=h.checksum_failures,
            malformed=self.malformed,
        )

    def statuses(self) -> list[FeedStatus]:
        return [self.status(sym) for sym in self.symbols]
