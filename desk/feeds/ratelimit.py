"""Client-side rate limiting: stay inside each venue's documented limits instead of discovering them by ban.

One primitive, a token bucket, covers the three kinds of limit venues publish: REST request weight per window
(Binance 6000 weight/min), outgoing websocket messages per second (Binance 5/s, Coinbase 8/s) and connection
attempts per window (Binance 300 per 5 min). ``block_for`` implements a server's ``Retry-After`` (HTTP 429/418):
every caller waits until the venue said it may come back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` per second; ``acquire(cost)`` waits until it can take them."""

    __slots__ = ("_blocked_until", "_clock", "_level", "_lock", "_updated", "capacity", "name", "rate")

    def __init__(self, rate: float, capacity: float, *, name: str = "", clock: Clock = time.monotonic) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError(f"rate limit {name!r}: rate and capacity must be positive")
        self.rate = rate
        self.capacity = capacity
        self.name = name
        self._clock = clock
        self._level = capacity
        self._updated = clock()
        self._blocked_until = 0.0
        self._lock: asyncio.Lock | None = None

    @classmethod
    def per_window(
        cls, amount: float, window_s: float, *, name: str = "", clock: Clock = time.monotonic
    ) -> TokenBucket:
        """A limit stated as ``amount`` per ``window_s`` (the bucket can burst the whole window at once)."""
        return cls(amount / window_s, amount, name=name, clock=clock)

    def _refill(self, now: float) -> None:
        self._level = min(self.capacity, self._level + (now - self._updated) * self.rate)
        self._updated = now

    def delay_for(self, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are available (0 if now); takes nothing."""
        if cost > self.capacity:
            raise ValueError(f"rate limit {self.name!r}: cost {cost} exceeds capacity {self.capacity}")
        now = self._clock()
        self._refill(now)
        wait = max(0.0, self._blocked_until - now)
        missing = cost - self._level
        if missing > 0:
            wait = max(wait, missing / self.rate)
        return wait

    def try_acquire(self, cost: float = 1.0) -> bool:
        if self.delay_for(cost) > 0:
            return False
        self._level -= cost
        return True

    async def acquire(self, cost: float = 1.0) -> float:
        """Wait until ``cost`` tokens are free and take them; returns the seconds waited."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        waited = 0.0
        async with self._lock:  # FIFO: a large request is not starved by a stream of small ones
            while True:
                wait = self.delay_for(cost)
                if wait <= 0:
                    self._level -= cost
                    return waited
                await asyncio.sleep(wait)
                waited += wait

    def block_for(self, seconds: float) -> None:
        """The server asked us to back off (Retry-After): nobody acquires for ``seconds``."""
        self._blocked_until = max(self._blocked_until, self._clock() + max(0.0, seconds))


@dataclass(frozen=True, slots=True)
class VenueLimits:
    """Documented limits of one venue (see docs/venues.md for sources)."""

    rest_weight_per_window: float
    rest_window_s: float
    ws_messages_per_s: float
    connections_per_window: float
    connection_window_s: float

    def rest_bucket(self, clock: Clock = time.monotonic) -> TokenBucket:
        return TokenBucket.per_window(self.rest_weight_per_window, self.rest_window_s, name="rest", clock=clock)

    def ws_send_bucket(self, clock: Clock = time.monotonic) -> TokenBucket:
        return TokenBucket(self.ws_messages_per_s, max(1.0, self.ws_messages_per_s), name="ws-send", clock=clock)

    def connect_bucket(self, clock: Clock = time.monotonic) -> TokenBucket:
        return TokenBucket.per_window(
            self.connections_per_window, self.connection_window_s, name="connect", clock=clock
        )
