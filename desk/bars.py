"""Time bars built from trades: the chart's series now, strategies' and VaR's inputs later."""

from __future__ import annotations

from collections import deque

from desk.domain.events import Bar, Trade

NS = 1_000_000_000


class BarBuilder:
    """Aggregates trades into fixed bars aligned to the epoch; a bar closes when a later trade arrives."""

    __slots__ = ("_closed", "_current", "on_close", "symbol", "timeframe_ns", "timeframe_s")

    def __init__(self, symbol: str, timeframe_s: int, history: int = 600) -> None:
        if timeframe_s <= 0:
            raise ValueError(f"timeframe {timeframe_s} must be > 0 seconds")
        self.symbol = symbol
        self.timeframe_s = timeframe_s
        self.timeframe_ns = timeframe_s * NS
        self._closed: deque[Bar] = deque(maxlen=history)
        self._current: list[int] | None = None  # [start, open, high, low, close, volume, trades]
        self.on_close: list[object] = []

    def on_trade(self, trade: Trade) -> Bar | None:
        """Returns the bar this trade closed, if any."""
        start = trade.ts_ns - trade.ts_ns % self.timeframe_ns
        cur = self._current
        closed: Bar | None = None
        if cur is not None and start != cur[0]:
            closed = self._close()
            cur = None
        if cur is None:
            self._current = [start, trade.price, trade.price, trade.price, trade.price, trade.size, 1]
        else:
            if trade.price > cur[2]:
                cur[2] = trade.price
            if trade.price < cur[3]:
                cur[3] = trade.price
            cur[4] = trade.price
            cur[5] += trade.size
            cur[6] += 1
        return closed

    def _close(self) -> Bar:
        cur = self._current
        assert cur is not None
        bar = Bar(self.symbol, self.timeframe_s, cur[0], cur[1], cur[2], cur[3], cur[4], cur[5], cur[6])
        self._closed.append(bar)
        self._current = None
        return bar

    def current(self) -> Bar | None:
        cur = self._current
        if cur is None:
            return None
        return Bar(self.symbol, self.timeframe_s, cur[0], cur[1], cur[2], cur[3], cur[4], cur[5], cur[6])

    def history(self) -> tuple[Bar, ...]:
        return tuple(self._closed)
