"""The live step of Binance's diff-depth sync for one symbol, once per depth frame: count the message in the feed
health, check ``U``/``u`` continuity against the book, read the level texts into integers, build the
``BookDelta``, apply it. It returns the delta to emit, or a code telling the adapter which slow path to take.

Why a separate object with codes: this is the hottest code in a live desk (every frame of every symbol), so it
exists twice. ``DepthStep`` below is the specification, in Python; ``desk._native.DepthStep`` is the same step
compiled (desk/_native.c), used when built. The compiled step touches the book, the sync state and the health
counters through their ``__slots__`` descriptors and declines anything it does not handle exactly
(``DECLINED``: the Python ``rest`` of the step takes over; ``UNHANDLED``: the whole Python step does).
tests/unit/test_depth_step.py runs both on the same frames and faults and compares every effect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from desk import native
from desk.book.l2 import OrderBook
from desk.domain.events import BookDelta
from desk.feeds.health import SymbolHealth
from desk.feeds.venues.numbers import RawLevelParser

if TYPE_CHECKING:
    from desk.feeds.venues.binance import _SyncState

MS = 1_000_000  # Binance event times are milliseconds

# What a step returns when there is no delta to emit (the adapter's slow paths)
STALE = 0  # u <= the book's sequence: already in the snapshot or applied; nothing to do
NOT_LIVE = 1  # the symbol is still syncing: the diff goes to the buffer
GAP = 2  # U > sequence + 1: resynchronise from a fresh snapshot
DECLINED = 3  # the compiled step counted the frame, then declined the rest: call ``DepthStep.rest`` (Python)
CROSSED = 4  # the delta was applied and crossed the book: resynchronise
UNHANDLED = 5  # the compiled step did nothing at all (numbers beyond int64, ...): call the Python ``DepthStep``


class Step(Protocol):
    def __call__(self, data: Any, recv_ns: int, /) -> BookDelta | int: ...


class DepthStep:
    __slots__ = ("book", "health", "levels", "state", "symbol", "venue")

    def __init__(
        self, symbol: str, venue: str, book: OrderBook, state: _SyncState, health: SymbolHealth, levels: RawLevelParser
    ) -> None:
        self.symbol = symbol
        self.venue = venue
        self.book = book
        self.state = state
        self.health = health
        self.levels = levels

    def __call__(self, data: Any, recv_ns: int) -> BookDelta | int:
        ts_ns = data.E * MS
        h = self.health  # FeedHealth.message, inlined
        h.messages += 1
        h.last_recv_ns = recv_ns
        h.latency_sum_ns += recv_ns - ts_ns
        h.latency_samples += 1
        return self.rest(data, ts_ns)

    def rest(self, data: Any, ts_ns: int) -> BookDelta | int:
        """Everything after the health count: the sync checks, then ``finish``."""
        if not self.state.live:
            return NOT_LIVE
        local = self.book.seq
        if data.u <= local:
            return STALE
        if local + 1 < data.U:
            return GAP
        return self.finish(data, ts_ns)

    def finish(self, data: Any, ts_ns: int) -> BookDelta | int:
        """The levels, the delta and the book update, for a frame that passed the checks. Level texts that are not
        ``[[str, str], ...]`` raise ``msgspec.ValidationError``, off-grid values ``OffGridError``: the supervisor
        counts the frame as malformed and the book is untouched (the next frame then gaps and resyncs)."""
        book = self.book
        delta = self.levels.slow_delta(BookDelta, self.symbol, self.venue, book.seq + 1, data.u, ts_ns, data.b, data.a)
        return CROSSED if book.apply_delta(delta) else delta


def make_step(
    symbol: str,
    venue: str,
    book: OrderBook,
    state: _SyncState,
    health: SymbolHealth,
    levels: RawLevelParser,
    data_type: type,
) -> tuple[Step, DepthStep]:
    """The step to call per frame (compiled when available and the grids are powers of ten) and the Python one,
    which takes the frames the compiled step declines."""
    python = DepthStep(symbol, venue, book, state, health, levels)
    compiled = native.DepthStep
    if compiled is None or levels.fast is None or type(book) is not OrderBook:
        return python, python
    step = compiled(
        symbol, venue, BookDelta, book, state, health, data_type, levels.price_decimals, levels.size_decimals
    )
    return step, python
