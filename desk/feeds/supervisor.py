"""Keeps one venue connection alive and honest, for any venue adapter.

It owns everything that is not protocol knowledge: connecting (within the venue's connection-rate limit),
reconnecting with exponential backoff and jitter (seedable, so tests are deterministic), the send queue
(within the venue's message-rate limit), the stale-feed watchdog (no frame for ``stale_after_s`` -> STALE, drop
and reconnect), health counters and periodic ``FeedStatus`` events, and the rule that a malformed frame is
counted, logged and skipped, never a crash. Adapters report invalid books through ``Link.resync``; the
supervisor counts it and emits RESYNCING, which makes the engine drop its copy until the fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

from desk.domain.events import Event, FeedState
from desk.domain.instruments import Instrument
from desk.feeds.base import Sink
from desk.feeds.health import FeedHealth
from desk.feeds.ratelimit import TokenBucket
from desk.feeds.venues.base import ResyncKind, VenueAdapter
from desk.feeds.venues.rest import RestClient

log = logging.getLogger("desk.feeds")

try:  # msgspec errors are malformed frames too, when an adapter decodes with it
    from msgspec import DecodeError as _MsgspecDecodeError
except ImportError:  # pragma: no cover
    _MsgspecDecodeError = ValueError  # type: ignore[assignment,misc]

MALFORMED: tuple[type[Exception], ...] = (
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    AttributeError,
    _MsgspecDecodeError,
)


@dataclass(frozen=True, slots=True)
class SupervisorConfig:
    """Timing knobs; production defaults, tests shrink them."""

    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    backoff_seed: int | None = None
    stale_after_s: float = 15.0
    status_interval_s: float = 1.0
    open_timeout_s: float = 10.0
    close_timeout_s: float = 2.0
    ping_interval_s: float | None = 20.0
    ping_timeout_s: float | None = 20.0
    max_message_bytes: int = 16 * 1024 * 1024
    use_env_proxy: bool = True

    def __post_init__(self) -> None:
        if self.backoff_initial_s <= 0 or self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("backoff: need 0 < initial <= max")
        if self.stale_after_s <= 0 or self.status_interval_s <= 0:
            raise ValueError("stale_after_s and status_interval_s must be positive")


class Backoff:
    """Exponential backoff with "equal jitter": delay in [cap/2, cap], cap = min(max, initial * 2**attempt).

    Half the delay is guaranteed (no reconnect storm at ~0 s), half is random (clients that dropped together do
    not come back together).
    """

    def __init__(self, initial_s: float, max_s: float, rng: random.Random) -> None:
        self.initial_s = initial_s
        self.max_s = max_s
        self.rng = rng
        self.attempt = 0

    def next(self) -> float:
        cap = min(self.max_s, self.initial_s * float(1 << self.attempt))
        self.attempt = min(self.attempt + 1, 62)
        return cap / 2 + self.rng.uniform(0.0, cap / 2)

    def reset(self) -> None:
        self.attempt = 0


class _Link:
    """One connection's services for the adapter (implements ``desk.feeds.venues.base.Link``)."""

    def __init__(self, feed: SupervisedFeed) -> None:
        self.feed = feed
        self.health = feed.health
        self.rest = feed.rest
        self.outbox: asyncio.Queue[str] = asyncio.Queue()
        self.tasks: set[asyncio.Task[None]] = set()
        self.pending: list[Event] = []
        self.reconnect_reason = ""
        self.went_live = False
        self.wake = asyncio.Event()

    def emit(self, event: Event) -> None:
        self.pending.append(event)

    def flush(self) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            self.feed.deliver(batch)

    def send(self, payload: Any) -> None:
        self.outbox.put_nowait(payload if isinstance(payload, str) else json.dumps(payload))

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: background task failed", self.feed.venue)
                self.reconnect("background task failed")
            finally:
                self.flush()

        task = asyncio.get_running_loop().create_task(guarded())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def set_state(self, symbol: str, state: FeedState, detail: str = "") -> None:
        if self.health.set_state(symbol, state, detail):
            self.pending.append(self.health.status(symbol))
        if state is FeedState.LIVE:
            self.went_live = True

    def resync(self, symbol: str, reason: str, kind: ResyncKind) -> None:
        h = self.health.symbols[symbol]
        h.resyncs += 1
        if kind == "gap":
            h.gaps += 1
        elif kind == "checksum":
            h.checksum_failures += 1
        log.warning("%s %s: resync (%s)", self.feed.venue, symbol, reason)
        self.set_state(symbol, FeedState.RESYNCING, reason)

    def reconnect(self, reason: str) -> None:
        if not self.reconnect_reason:
            self.reconnect_reason = reason
            self.wake.set()


class SupervisedFeed:
    """A venue adapter behind the supervisor: implements the ``Feed`` protocol (desk/feeds/base.py)."""

    def __init__(
        self,
        adapter: VenueAdapter,
        config: SupervisorConfig | None = None,
        *,
        rest: RestClient | None = None,
        connect_bucket: TokenBucket | None = None,
        send_bucket: TokenBucket | None = None,
    ) -> None:
        self.adapter = adapter
        self.venue = adapter.venue
        self.config = config or SupervisorConfig()
        limits = adapter.limits
        self.rest = rest or RestClient(adapter.rest_url, limits.rest_bucket())
        self.connect_bucket = connect_bucket or limits.connect_bucket()
        self.send_bucket = send_bucket or limits.ws_send_bucket()
        self.health = FeedHealth(self.venue, adapter.instruments)
        self.backoff = Backoff(
            self.config.backoff_initial_s, self.config.backoff_max_s, random.Random(self.config.backoff_seed)
        )
        self.connections = 0
        self.delays: list[float] = []  # backoff delays actually slept (for tests and diagnostics)
        self._sink: Sink | None = None
        self._stopped = False
        self._task: asyncio.Task[Any] | None = None
        self._link: _Link | None = None

    @property
    def instruments(self) -> dict[str, Instrument]:
        return self.adapter.instruments

    def stop(self) -> None:
        self._stopped = True
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def deliver(self, batch: Sequence[Event]) -> None:
        if self._sink is not None:
            self._sink(batch)

    def _all_states(self, state: FeedState, detail: str) -> None:
        batch: list[Event] = []
        for sym in self.health.symbols:
            self.health.set_state(sym, state, detail)
            batch.append(self.health.status(sym))
        self.deliver(batch)

    async def run(self, sink: Sink) -> None:
        self._sink = sink
        self._task = asyncio.current_task()
        try:
            while not self._stopped:
                reason = await self._session()
                if self._stopped:
                    break
                self._all_states(FeedState.DOWN, reason)
                delay = self.backoff.next()
                self.delays.append(delay)
                log.info("%s: reconnecting in %.2fs (%s)", self.venue, delay, reason)
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            if not self._stopped:
                raise
        finally:
            self._all_states(FeedState.DOWN, "stopped")
            await self.rest.aclose()

    async def _session(self) -> str:
        """One connection from connect to close; returns why it ended."""
        cfg = self.config
        self._all_states(FeedState.CONNECTING, "")
        await self.connect_bucket.acquire()
        self.connections += 1
        link = _Link(self)
        self._link = link
        reason = "connection closed"
        try:
            async with connect(
                self.adapter.connect_url(),
                open_timeout=cfg.open_timeout_s,
                close_timeout=cfg.close_timeout_s,
                ping_interval=cfg.ping_interval_s,
                ping_timeout=cfg.ping_timeout_s,
                max_size=cfg.max_message_bytes,
                proxy=True if cfg.use_env_proxy else None,
                compression=None,
            ) as ws:
                self._all_states(FeedState.SYNCING, "")
                self.health.last_msg_mono = time.monotonic()
                self.adapter.on_open(link)
                link.flush()
                helpers = [
                    asyncio.create_task(self._sender(ws, link)),
                    asyncio.create_task(self._watchdog(ws, link)),
                ]
                try:
                    reason = await self._read(ws, link)
                finally:
                    for task in helpers:
                        task.cancel()
                    await asyncio.gather(*helpers, return_exceptions=True)
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        finally:
            for task in list(link.tasks):
                task.cancel()
            if link.tasks:
                await asyncio.gather(*link.tasks, return_exceptions=True)
            link.flush()
            self.adapter.on_close()
            self._link = None
        return link.reconnect_reason or reason

    async def _read(self, ws: ClientConnection, link: _Link) -> str:
        adapter = self.adapter
        health = self.health
        try:
            async for raw in ws:
                recv_ns = time.time_ns()
                health.frame()
                try:
                    adapter.on_message(raw, recv_ns, link)
                except MALFORMED as exc:
                    health.malformed += 1
                    log.warning(
                        "%s: malformed frame skipped (%s: %s): %.200r", self.venue, type(exc).__name__, exc, raw
                    )
                link.flush()
                if link.went_live:
                    link.went_live = False
                    self.backoff.reset()
                if link.reconnect_reason:
                    return link.reconnect_reason
        except websockets.exceptions.ConnectionClosedError as exc:
            return f"connection lost: {exc}"
        return link.reconnect_reason or "closed by venue"

    async def _sender(self, ws: ClientConnection, link: _Link) -> None:
        while True:
            payload = await link.outbox.get()
            await self.send_bucket.acquire()
            await ws.send(payload)

    async def _watchdog(self, ws: ClientConnection, link: _Link) -> None:
        """Periodic status, and the stale check: a silent socket is closed so the reader ends and we reconnect."""
        cfg = self.config
        tick = min(cfg.status_interval_s, cfg.stale_after_s / 2)
        last_status = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(link.wake.wait(), tick)
            now = time.monotonic()
            if link.reconnect_reason:
                await ws.close()
                return
            last = self.health.last_msg_mono or now
            if now - last > cfg.stale_after_s:
                detail = f"no message for {now - last:.1f}s"
                for sym in self.health.symbols:
                    link.set_state(sym, FeedState.STALE, detail)
                link.flush()
                link.reconnect(f"stale: {detail}")
                await ws.close()
                return
            if now - last_status >= cfg.status_interval_s:
                last_status = now
                self.deliver(self.health.statuses())


async def run_until(feed: SupervisedFeed, sink: Sink, predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Run ``feed`` until ``predicate()`` holds (checked after each batch) or ``timeout_s``; for tools and tests."""
    done = asyncio.Event()

    def watching(batch: Any) -> None:
        sink(batch)
        if predicate():
            done.set()

    task = asyncio.create_task(feed.run(watching))
    try:
        await asyncio.wait_for(done.wait(), timeout_s)
        return True
    except TimeoutError:
        return False
    finally:
        feed.stop()
        await asyncio.gather(task, return_exceptions=True)
