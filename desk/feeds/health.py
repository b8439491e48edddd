"""Per-symbol feed health: the numbers a trader needs to trust (or distrust) what the book shows.

Who counts what, so that the per-frame cost stays a few attribute writes:
- the supervisor, once per frame read off the socket, calls ``frame()``: the feed-wide count and the monotonic
  time of the last frame, which the stale watchdog compares against (any frame, heartbeat or garbage, proves the
  connection is alive);
- adapters, once per symbol message, call ``message()`` (or inline its four writes in their hottest path): the
  symbol's count, its receive stamp, and the exchange-to-local latency summed for the status to average.
``status()`` turns the counters into a ``FeedStatus`` event, emitted on every state change and periodically; the
rate and latency it reports are refreshed at most twice a second (means over that window, not per-message noise).
A symbol's last-message age is measured on the wall clock from its receive stamp (the same stamp the latency
uses); the watchdog's staleness is on the monotonic clock, so a wall-clock step can skew a displayed age but never
a reconnect decision.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from desk.domain.events import FeedState, FeedStatus

NS = 1_000_000_000
REFRESH_S = 0.5  # rate and latency are recomputed at most this often, so they read as figures, not noise


class SymbolHealth:
    __slots__ = (
        "checksum_failures",
        "detail",
        "gaps",
        "last_recv_ns",
        "latency_mark",
        "latency_ms",
        "latency_samples",
        "latency_sum_ns",
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
        self.last_recv_ns = 0  # wall-clock receive stamp of the last message; 0 = never
        self.latency_sum_ns = 0  # sum of (receive - exchange time) over ``latency_samples`` messages
        self.latency_samples = 0
        self.latency_mark = (0, 0)  # (samples, sum) at the last refresh
        self.latency_ms = 0.0
        self.gaps = 0
        self.resyncs = 0
        self.checksum_failures = 0


class FeedHealth:
    """Counters for every symbol of one feed; ``malformed`` and ``messages`` are feed-wide."""

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
        self.messages = 0  # frames read off the connection, of every kind
        self.last_msg_mono: float | None = None

    def frame(self) -> None:
        """One frame read off the socket (the supervisor calls this; adapters do not)."""
        self.messages += 1
        self.last_msg_mono = self._clock()

    def message(self, symbol: str, exchange_ts_ns: int = 0, recv_ns: int = 0) -> None:
        """One message for ``symbol``; ``exchange_ts_ns`` (venue event time) and ``recv_ns`` (local receive
        time, wall clock) give a latency sample when both are known. Unknown symbols are ignored."""
        h = self.symbols.get(symbol)
        if h is None:
            return
        h.messages += 1
        if not recv_ns:
            recv_ns = self._wall_ns()
        h.last_recv_ns = recv_ns
        if exchange_ts_ns:
            h.latency_sum_ns += recv_ns - exchange_ts_ns
            h.latency_samples += 1

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
        wall = self._wall_ns()
        elapsed = now - h.rate_since
        if elapsed >= REFRESH_S:
            h.rate = (h.messages - h.rate_mark) / elapsed
            h.rate_mark = h.messages
            h.rate_since = now
            samples, total = h.latency_mark
            if h.latency_samples > samples:  # no new sample: keep the last mean rather than report 0
                h.latency_ms = (h.latency_sum_ns - total) / (h.latency_samples - samples) / 1e6
            h.latency_mark = (h.latency_samples, h.latency_sum_ns)
        age = 0.0 if not h.last_recv_ns else max(0.0, (wall - h.last_recv_ns) / NS)
        return FeedStatus(
            venue=self.venue,
            symbol=symbol,
            state=h.state,
            ts_ns=wall,
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
