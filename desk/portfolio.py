"""Positions, P&L, equity and exposure.

Exactness: quantities are integer lots; the cost basis of an open position is kept as an exact ``Fraction`` of
tick*lot units, so average prices and realised P&L never accumulate rounding, however many partial fills
build a position. Values are converted to ``Decimal`` (quote currency) only to show or store them. Marking to
market uses the book mid (a float statistic), so unrealised P&L and equity are floats.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from desk.domain.events import Side
from desk.domain.instruments import Instrument
from desk.execution.orders import Fill

MONEY = Decimal("0.00000001")
_DECIMAL_ZERO = Decimal(0)
_ZERO = Fraction(0)  # shared: Fractions are immutable, and building one costs ~0.5 us
_BUY = Side.BUY  # bound once: enum member access costs ~0.13 us on Python 3.11 (see desk.execution.orders)


def to_decimal(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(MONEY)


def _quote(units: int | Fraction, unit: Fraction) -> Fraction:
    """``units * unit``; for an int, one normalised Fraction built directly (``int * Fraction`` builds two)."""
    if type(units) is int:
        return Fraction(units * unit.numerator, unit.denominator) if units else _ZERO
    return units * unit


@dataclass(slots=True)
class Position:
    symbol: str
    instrument: Instrument
    quantity: int = 0  # signed lots: > 0 long, < 0 short
    # Signed tick*lot cost of the open quantity: an int while only opens and full closes happened (the common
    # case, and much cheaper), a Fraction after a partial close; exact either way.
    cost: int | Fraction = 0
    # Realised P&L in tick*lot units, exact in the same way (an int until a partial close at a fractional average
    # price). ``realized`` converts the sum once: the very Fraction that adding every fill's quote-currency P&L
    # gives, without a Fraction addition per fill.
    realized_units: int | Fraction = 0
    fees: Decimal = Decimal(0)
    fills: int = 0
    last_realized_units: int | Fraction = 0  # of the latest fill (``last_realized``)
    unit: Fraction = Fraction(0)  # quote currency of one tick * one lot, computed once
    # (realized_units, its Decimal): equity asks for the Decimal on every valuation, it changes only on closes.
    _realized_decimal: tuple[int | Fraction, Decimal] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.unit = Fraction(self.instrument.tick_size) * Fraction(self.instrument.lot_size)

    @property
    def realized(self) -> Fraction:
        """Realised P&L in quote currency."""
        return _quote(self.realized_units, self.unit)

    @property
    def last_realized(self) -> Fraction:
        """P&L (quote currency) realised by the latest fill (risk: losing-streak trigger)."""
        return _quote(self.last_realized_units, self.unit)

    def realized_decimal(self) -> Decimal:
        """``to_decimal(realized)``, converted again only after the realised P&L changed."""
        units = self.realized_units
        cached = self._realized_decimal
        if cached is not None and cached[0] is units:  # the same (immutable) object: the same value
            return cached[1]
        unit = self.unit
        if type(units) is int:
            # to_decimal depends only on the value (a correctly rounded quotient, then quantized), so the
            # unreduced ratio gives the same Decimal without normalising a Fraction first.
            value = (Decimal(units * unit.numerator) / Decimal(unit.denominator)).quantize(MONEY)
        else:
            value = to_decimal(units * unit)
        self._realized_decimal = (units, value)
        return value

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
        self.update(fill)
        return self.last_realized

    def update(self, fill: Fill) -> None:
        """Apply a fill without building its realised P&L as a Fraction (``apply``; the portfolio's path)."""
        signed = fill.quantity if fill.side is _BUY else -fill.quantity
        self.fees += fill.fee
        self.fills += 1
        quantity = self.quantity
        if quantity == 0 or (quantity > 0) == (signed > 0):
            self.last_realized_units = 0
            self.cost += fill.price * signed
            self.quantity = quantity + signed
            return
        closing = min(abs(signed), abs(quantity))
        if closing == abs(quantity):
            # A full close: (price - avg) * qty = price * qty - cost, exactly, in integers.
            realized: int | Fraction = fill.price * quantity - self.cost
            remaining_cost: int | Fraction = 0
        else:
            avg = Fraction(self.cost) / quantity
            # Long closed by a sell: (price - avg) per lot; short closed by a buy: (avg - price) per lot.
            direction = 1 if quantity > 0 else -1
            realized = (fill.price - avg) * closing * direction
            remaining_cost = self.cost - avg * closing * direction
        self.realized_units += realized
        self.last_realized_units = realized
        self.cost = remaining_cost
        self.quantity = quantity + signed
        remainder = abs(signed) - closing
        if remainder:  # the fill flipped the position: the rest opens at the fill price
            self.cost = fill.price * (remainder if signed > 0 else -remainder)

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
        symbol = fill.symbol
        if symbol not in self.instruments:
            return Fraction(0)
        pos = self.positions.get(symbol) or self.position(symbol)
        pos.update(fill)
        (self.by_strategy.get((fill.strategy, symbol)) or self.position(symbol, fill.strategy)).update(fill)
        self.version += 1
        return pos.last_realized

    # --- valuation ------------------------------------------------------------------------------
    def realized(self) -> Decimal:
        return sum((p.realized_decimal() for p in self.positions.values()), Decimal(0))

    def fees(self) -> Decimal:
        return sum((p.fees for p in self.positions.values()), Decimal(0))

    def unrealized(self, mids: dict[str, float | None]) -> float:
        return sum(p.unrealized(mids.get(s)) for s, p in self.positions.items())

    def equity(self, mids: dict[str, float | None]) -> float:
        # realized() and fees() in one pass: the same Decimal additions, in the same order.
        realized = fees = _DECIMAL_ZERO
        for p in self.positions.values():
            realized += p.realized_decimal()
            fees += p.fees
        return float(self.starting_value + realized - fees) + self.unrealized(mids)

    def gross_exposure(self, mids: dict[str, float | None]) -> float:
        return sum(abs(p.notional(mids.get(s))) for s, p in self.positions.items())

    def net_exposure(self, mids: dict[str, float | None]) -> float:
        return sum(p.notional(mids.get(s)) for s, p in self.positions.items())

    def strategy_pnl(self, strategy: str, mids: dict[str, float | None]) -> float:
        total = 0.0
        for (name, symbol), pos in self.by_strategy.items():
            if name == strategy:
                total += float(pos.realized_decimal() - pos.fees) + pos.unrealized(mids.get(symbol))
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
