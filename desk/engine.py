"""The one synchronous pipeline shared by live, paper and backtest runs.

``Engine.on_events(batch)`` is the only way market data enters the desk. Feeds call it from the event loop
with batches; backtests call it from a loop over history. Everything downstream (books, tape, bars, and later
strategies, risk, broker, portfolio, journal) hangs off this call, in this order, so every mode runs the
same code. The UI never touches engine state directly: it asks for an immutable ``MarketView`` per symbol
on its own timer and compares ``seq`` to decide whether to redraw.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from desk.bars import BarBuilder
from desk.book.l2 import BookState, OrderBook, SequenceGap
from desk.domain.events import Bar, BookDelta, BookSnapshot, Event, FeedState, FeedStatus, Level, Trade
from desk.domain.instruments import Instrument

EventListener = Callable[[Event], None]
NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class MarketView:
    """An immutable picture of one symbol for renderers: cheap to build at 15 Hz, safe to hold."""

    symbol: str
    venue: str
    seq: int  # engine-wide sequence of the last event that touched this symbol
    book_seq: int
    ts_ns: int
    state: BookState
    feed: FeedStatus | None
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    trades: tuple[Trade, ...]  # newest last
    bars: tuple[Bar, ...]  # closed bars, newest last
    instrument: Instrument


class Engine:
    """Owns market state; later layers subscribe with ``add_listener``."""

    def __init__(
        self,
        instruments: dict[str, Instrument],
        venue: str = "sim",
        *,
        tape_size: int = 200,
        bar_seconds: int = 1,
        bar_history: int = 600,
    ) -> None:
        self.instruments = instruments
        self.venue = venue
        self.books = {sym: OrderBook(inst, venue) for sym, inst in instruments.items()}
        self.tapes: dict[str, deque[Trade]] = {sym: deque(maxlen=tape_size) for sym in instruments}
        self.bars = {sym: BarBuilder(sym, bar_seconds, history=bar_history) for sym in instruments}
        self.feed_status: dict[str, FeedStatus] = {}
        self.symbol_seq = dict.fromkeys(instruments, 0)
        self.seq = 0
        self.events = 0
        self.level_updates = 0
        self.now_ns = 0
        # Last bar close per symbol (ticks), for symbols driven by Bar events (backtests on OHLCV): there is no
        # book to take a mid from, so valuation and the broker's bar-fill model use this mark.
        self.bar_marks: dict[str, int] = {}
        self._listeners: list[EventListener] = []
        self._batch_listeners: list[Callable[[], None]] = []
        self.gap_handler: Callable[[str, str], None] | None = None

    def add_listener(self, listener: EventListener) -> None:
        """Called for every event, after the engine's own state (book, tape, bars) has absorbed it."""
        self._listeners.append(listener)

    def add_batch_listener(self, listener: Callable[[], None]) -> None:
        """Called once after each batch: for work that must not run per level (strategies' on_book, equity)."""
        self._batch_listeners.append(listener)

    def on_events(self, batch: Sequence[Event] | Iterable[Event], *, end_batch: bool = True) -> None:
        """Each event updates the engine's state (book, tape, bars, clock), then goes to the listeners in order;
        after the batch (unless ``end_batch`` is false) the batch listeners run once.

        The per-event steps are written out in this loop rather than in a method called per event: it runs for
        every market event (every bar in a backtest), where a Python call costs as much as the bookkeeping.
        """
        books = self.books
        listeners = self._listeners
        for event in batch:
            seq = self.seq + 1
            self.seq = seq
            self.events += 1
            symbol = event.symbol
            if symbol not in books:
                continue
            self.symbol_seq[symbol] = seq
            # Most frequent kinds first: deltas and trades live, bars in backtests; snapshots only at (re)sync.
            if type(event) is BookDelta:
                self.level_updates += len(event.bids) + len(event.asks)
                book = books[symbol]
                try:
                    book.apply_delta(event)
                except SequenceGap as gap:
                    if self.gap_handler is not None:
                        self.gap_handler(symbol, str(gap))
                self.now_ns = event.ts_ns
            elif type(event) is Trade:
                self.tapes[symbol].append(event)
                self.bars[symbol].on_trade(event)
                self.now_ns = event.ts_ns
            elif type(event) is Bar:
                # A bar is known when it closes: the clock moves to its end, so strategies deciding on it (and any
                # order they send) are stamped at the close, and the next bar's open comes strictly later.
                self.bar_marks[symbol] = event.close
                self.now_ns = event.start_ns + event.timeframe_s * NS
            elif type(event) is BookSnapshot:
                books[symbol].apply_snapshot(event)
                self.now_ns = event.ts_ns
            elif type(event) is FeedStatus:
                self.feed_status[symbol] = event
                if event.state in (FeedState.DOWN, FeedState.RESYNCING, FeedState.STALE):
                    book = books[symbol]
                    if book.state is BookState.LIVE and event.state is not FeedState.STALE:
                        book.invalidate(f"feed {event.state}")
            for listener in listeners:
                listener(event)
        if end_batch:
            for batch_listener in self._batch_listeners:
                batch_listener()

    def on_event(self, event: Event) -> None:
        """One event, without the batch listeners."""
        self.on_events((event,), end_batch=False)

    def view(self, symbol: str, depth: int = 25, trades: int = 50) -> MarketView:
        book = self.books[symbol]
        bids, asks = book.top(depth)
        tape = self.tapes[symbol]
        recent = tuple(tape)[-trades:] if trades else ()
        return MarketView(
            symbol=symbol,
            venue=self.venue,
            seq=self.symbol_seq[symbol],
            book_seq=book.seq,
            ts_ns=self.now_ns,
            state=book.state,
            feed=self.feed_status.get(symbol),
            bids=tuple(bids),
            asks=tuple(asks),
            trades=recent,
            bars=self.bars[symbol].history(),
            instrument=book.instrument,
        )
