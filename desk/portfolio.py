"""Positions, P&L, equity and exposure.

Exactness: quantities are integer lots; the cost basis of an open position is kept as an exact ``Fraction`` of
tick*lot units, so average prices and realised P&L never accumulate rounding, however many partial fills
build a position. Values are converted to ``Decimal`` (quote currency) only to show or store them. Marking to
market uses the book mid (a float statistic), so unrealised P&L and equity are floats.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from desk.domain.events import Side
from desk.domain.instruments import Instrument
from desk.execution.orders import Fill

MONEY = Decimal("0.00000001")
_ZERO = Fraction(0)  # shared: Fractions are immutable, and building one costs ~0.5 us per fill
_BUY = Side.BUY  # bound once: enum member access costs ~0.13 us on Python 3.11 (see desk.execution.orders)


def to_decimal(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(MONEY)


@dataclass(slots=True)
class Position:
    symbol: str
    instrument: Instrument
    quantity: int = 0  # signed lots: > 0 long, < 0 short
    # Signed tick*lot cost of the open quantity: an int while only opens and full closes happened (the common
    # case, and much cheaper), a Fraction after a partial close; exact either way.
    cost: int | Fraction = 0
    realized: Fraction = Fraction(0)  # quote currency
    fees: Decimal = Decimal(0)
    fills: int = 0
    last_realized: Fraction = Fraction(0)  # P&L realised by the latest fill (risk: losing-streak trigger)
    unit: Fraction = Fraction(0)  # quote currency of one tick * one lot, computed once

    def __post_init__(self) -> None:
        self.unit = Fraction(self.instrument.tick_size) * Fraction(self.instrument.lot_size)

    @property
    def avg_price_ticks(self) -> Fraction | None:
        return Fraction(self.cost) / self.quantity if self.quantity else None

    def avg_price(self) -> Decimal | None:
        avg = self.avg_price_ticks
        if avg is None:
            return None
        value = to_decimal(Fraction(avg) * Fraction(self.instrument.tick_size))
        return value

    def apply(self, fill: Fill) -> Fraction:
        """Apply a fill; returns the realised P&L (quote currency) it produced."""
        signed = fill.quantity if fill.side is _BUY else -fill.quantity
        self.fees += fill.fee
        self.fills += 1
        quantity = self.quantity
        if quantity == 0 or (quantity > 0) == (signed > 0):
            self.last_realized = _ZERO
            self.cost += fill.price * signed
            self.quantity = quantity + signed
            return _ZERO
        closing = min(abs(signed), abs(quantity))
        if closing == abs(quantity):
            # A full close: (price - avg) * qty = price * qty - cost, exactly, in integers.
            realized_ticks_lots: int | Fraction = fill.price * quantity - self.cost
            remaining_cost: int | Fraction = 0
        else:
            avg = Fraction(self.cost) / quantity
            # Long closed by a sell: (price - avg) per lot; short closed by a buy: (avg - price) per lot.
            direction = 1 if quantity > 0 else -1
            realized_ticks_lots = (fill.price - avg) * closing * direction
            remaining_cost = self.cost - avg * closing * direction
        unit = self.unit
        if type(realized_ticks_lots) is int:  # the same Fraction as ``int * unit``, built once instead of twice
            realized = Fraction(realized_ticks_lots * unit.numerator, unit.denominator)
        else:
            realized = realized_ticks_lots * unit
        self.realized += realized
        self.last_realized = realized
        self.cost = remaining_cost
        self.quantity = quantity + signed
        remainder = abs(signed) - closing
        if remainder:  # the fill flipped the position: the rest opens at the fill price
            self.cost = fill.price * (remainder if signed > 0 else -remainder)
        return realized

    def unrealized(self, mid: float | None) -> float:
        if not self.quantity or mid is None:
            return 0.0
        inst = self.instrument
        value = inst.size_float(self.quantity) * mid
        # float(cost) * float(tick_size) * float(lot_size), in that order, without converting the Decimals again
        cost = inst.size_float(inst.price_float(float(self.cost)))
        return value - cost

    def notional(self, mid: float | None) -> float:
        return 0.0 if mid is None else self.instrument.size_float(self.quantity) * mid


class Portfolio:
    """Positions per symbol (all strategies) and per (strategy, symbol); equity curve and drawdown."""

    def __init__(self, instruments: dict[str, Instrument], account_value: Decimal, curve_size: int = 3600) -> None:
        self.instruments = instruments
        self.starting_value = account_value
        self.positions: dict[str, Position] = {}
        self.by_strategy: dict[tuple[str, str], Position] = {}
        self.equity_curve: deque[tuple[int, float]] = deque(maxlen=curve_size)
        self.peak_equity = float(account_value)
        self.max_drawdown = 0.0
        self.version = 0  # bumped on every fill: the UI redraws tables only when it changes

    def position(self, symbol: str, strategy: str | None = None) -> Position:
        if strategy is None:
            pos = self.positions.get(symbol)
            if pos is None:
                pos = self.positions[symbol] = Position(symbol, self.instruments[symbol])
            return pos
        key = (strategy, symbol)
        pos = self.by_strategy.get(key)
        if pos is None:
            pos = self.by_strategy[key] = Position(symbol, self.instruments[symbol])
        return pos

    def apply_fill(self, fill: Fill) -> Fraction:
        """Apply a fill to the symbol's and the strategy's position; returns the realised P&L it produced."""
        if fill.symbol not in self.instruments:
            return Fraction(0)
        realized = self.position(fill.symbol).apply(fill)
        self.position(fill.symbol, fill.strategy).apply(fill)
        self.version += 1
        return realized

    # --- valuation ------------------------------------------------------------------------------
    def realized(self) -> Decimal:
        return sum((to_decimal(p.realized) for p in self.positions.values()), Decimal(0))

    def fees(self) -> Decimal:
        return sum((p.fees for p in self.positions.values()), Decimal(0))

    def unrealized(self, mids: dict[str, float | None]) -> float:
        return sum(p.unrealized(mids.get(s)) for s, p in self.positions.items())

    def equity(self, mids: dict[str, float | None]) -> float:
        return float(self.starting_value + self.realized() - self.fees()) + self.unrealized(mids)

    def gross_exposure(self, mids: dict[str, float | None]) -> float:
        return sum(abs(p.notional(mids.get(s))) for s, p in self.positions.items())

    def net_exposure(self, mids: dict[str, float | None]) -> float:
        return sum(p.notional(mids.get(s)) for s, p in self.positions.items())

    def strategy_pnl(self, strategy: str, mids: dict[str, float | None]) -> float:
        total = 0.0
        for (name, symbol), pos in self.by_strategy.items():
            if name == strategy:
                total += float(to_decimal(pos.realized) - pos.fees) + pos.unrealized(mids.get(symbol))
        return total

    def sample(self, ts_ns: int, mids: dict[str, float | None]) -> float:
        """Record a point of the equity curve and update the drawdown."""
        equity = self.equity(mids)
        self.equity_curve.append((ts_ns, equity))
        if equity > self.peak_equity:
            self.peak_equity = equity
        drawdown = (self.peak_equity - equity) / self.peak_equity if self.peak_equity > 0 else 0.0
        if drawdown > self.max_drawdown:
            self.max_drawdown = drawdown
        return equity

    def drawdown(self, mids: dict[str, float | None]) -> float:
        equity = self.equity(mids)
        peak = max(self.peak_equity, equity)
        return (peak - equity) / peak if peak > 0 else 0.0
