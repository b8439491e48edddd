"""The strategy API: one class, the same callbacks and context in live, paper and backtest runs.

A strategy never talks to the broker, the book or the clock directly: everything goes through its
``StrategyContext``, which the runner implements for live/paper and the backtester for history. That is what
makes a backtest of a strategy run the same code as its paper session.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar, Protocol

from desk.domain.events import Side
from desk.strategies.params import Param, ParamValue

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from desk.book.l2 import OrderBook
    from desk.domain.events import Bar, Trade
    from desk.domain.instruments import Instrument
    from desk.execution.orders import Fill, Order


# Bound once: enum member access costs ~0.13 us on Python 3.11 (see desk.execution.orders).
_BUY = Side.BUY
_SELL = Side.SELL


class StrategyState(StrEnum):
    STOPPED = "stopped"
    RUNNING = "running"
    PAUSED = "paused"  # receives market data, places no orders
    ERROR = "error"  # raised an exception: stopped, orders cancelled, reason shown and journaled


class StrategyContext(Protocol):
    """What a strategy may see and do."""

    @property
    def symbol(self) -> str: ...
    @property
    def instrument(self) -> Instrument: ...
    @property
    def params(self) -> dict[str, ParamValue]: ...
    @property
    def now_ns(self) -> int: ...
    @property
    def book(self) -> OrderBook: ...

    def position(self) -> int:
        """This strategy's signed position in lots."""
        ...

    def avg_entry_ticks(self) -> float | None: ...
    def account_value(self) -> Decimal: ...
    def open_orders(self) -> list[Order]: ...

    def market(self, side: Side, lots: int, tag: str = "") -> Order | None: ...
    def limit(
        self, side: Side, lots: int, price: int, *, post_only: bool = False, ioc: bool = False, tag: str = ""
    ) -> Order | None: ...
    def cancel(self, client_id: str) -> bool: ...
    def cancel_all(self) -> int: ...
    def replace(self, client_id: str, *, price: int | None = None, lots: int | None = None) -> Order | None: ...
    def log(self, message: str) -> None: ...


class BarColumns(Protocol):
    """Bars as int64 numpy columns (prices in ticks, volume in lots), for ``Strategy.vector_targets``."""

    @property
    def instrument(self) -> Instrument: ...
    @property
    def ts_ns(self) -> npt.NDArray[np.int64]: ...
    @property
    def open(self) -> npt.NDArray[np.int64]: ...
    @property
    def high(self) -> npt.NDArray[np.int64]: ...
    @property
    def low(self) -> npt.NDArray[np.int64]: ...
    @property
    def close(self) -> npt.NDArray[np.int64]: ...
    @property
    def volume(self) -> npt.NDArray[np.int64]: ...


class Strategy(ABC):  # noqa: B024 (every callback is optional)
    """Subclass, set ``name``/``doc``/``params``, override the callbacks you need."""

    name: ClassVar[str] = ""
    doc: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    bar_seconds: ClassVar[int] = 60  # timeframe of on_bar; runs may override it
    timer_seconds: float = 0.0  # > 0: on_timer every that many seconds of event time (instances may override)

    def __init__(self, ctx: StrategyContext) -> None:
        self.ctx = ctx
        self.p = ctx.params

    # --- helpers shared by the built-ins ---------------------------------------------------------
    def close_price(self, bar: Bar) -> float:
        return self.ctx.instrument.price_float(bar.close)

    def lots_for_notional(self, notional: float, price: float) -> int:
        """Whole lots worth at most ``notional`` at ``price`` (never rounds up past a risk budget)."""
        if price <= 0 or notional <= 0:
            return 0
        return self.ctx.instrument.round_size_to_lots(notional / price)

    def move_to(self, target_lots: int, tag: str = "") -> Order | None:
        """Market order for the difference between the current and the target position."""
        diff = target_lots - self.ctx.position()
        if diff == 0:
            return None
        return self.ctx.market(_BUY if diff > 0 else _SELL, abs(diff), tag)

    @classmethod
    def vector_targets(cls, params: Mapping[str, ParamValue], bars: BarColumns) -> npt.NDArray[np.float64] | None:
        """Optional fast path for sweeps: the same decisions as ``on_bar``, for a whole series at once.

        Return one float per bar: the position to hold after deciding on that bar's close, as a signed fraction
        of account value (1.0 all-in long, -0.5 half short, 0 flat), or NaN for "no decision here, keep what I
        have". Element t may use bars 0..t only. Do not shift: the backtester executes element t at bar t+1's
        open (the same bar-fill model as the event-driven run) and checks prefixes for look-ahead. Sizing follows
        ``lots_for_notional(account_value * fraction, close)`` + ``move_to``, so a strategy whose ``on_bar`` sizes
        that way gets identical results on both paths (tested for the built-ins that implement this). None (the
        default): the strategy has no fast path and sweeps run it event by event.
        """
        return None

    def on_start(self) -> None:  # noqa: B027
        """Called when the strategy starts (or resumes after a restart)."""

    def on_stop(self) -> None:  # noqa: B027
        """Called when stopped; the runner cancels this strategy's orders afterwards."""

    def on_bar(self, bar: Bar) -> None:  # noqa: B027
        """A bar of ``bar_seconds`` closed (built from trades)."""

    def on_book(self, book: OrderBook) -> None:  # noqa: B027
        """The book of our symbol changed. Called at most once per engine batch, not per level."""

    def on_trade(self, trade: Trade) -> None:  # noqa: B027
        """A public trade printed on our symbol."""

    def on_fill(self, fill: Fill, order: Order) -> None:  # noqa: B027
        """One of our orders (partially) filled."""

    def on_timer(self, now_ns: int) -> None:  # noqa: B027
        """Every ``timer_seconds`` of event time."""
