"""Instruments and the exact price/size grid.

Representation (used everywhere below the edges): a price is an ``int`` count of ticks and a size an ``int``
count of lots of its instrument. Integers make the book, the journal and P&L exact (no float artefacts such as
0.1 + 0.2) and make the book's dict keys cheap to hash and compare. ``Decimal`` appears only at the edges:
parsing venue strings, config values and user input, and rendering JSON/human output, where
``Instrument.price_str``/``size_str`` give the decimal string exactly on the grid. Floats are used only for
statistics (VaR, indicators, charts), derived with ``price_float``/``size_float``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation


class OffGridError(ValueError):
    """A price or size that is not an exact multiple of the instrument's tick or lot size."""


def _decimals(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def to_decimal(value: Decimal | str | int | float, what: str) -> Decimal:
    """Parse a number without binary-float surprises (floats go through ``repr``, i.e. shortest round-trip)."""
    try:
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"{what} {value!r} is not a number") from exc
    if not result.is_finite():
        raise ValueError(f"{what} {value!r} is not a finite number")
    return result


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable pair with its grid. ``symbol`` is the desk symbol ``BASE-QUOTE``."""

    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    min_notional: Decimal = Decimal(0)
    venue_symbol: str = ""
    price_decimals: int = field(init=False)
    size_decimals: int = field(init=False)
    _tick_float: float = field(init=False, repr=False)
    _lot_float: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if "-" not in self.symbol:
            raise ValueError(f"symbol {self.symbol!r} is not BASE-QUOTE (e.g. BTC-USD)")
        if self.tick_size <= 0 or self.lot_size <= 0:
            raise ValueError(f"{self.symbol}: tick_size and lot_size must be positive")
        object.__setattr__(self, "price_decimals", _decimals(self.tick_size))
        object.__setattr__(self, "size_decimals", _decimals(self.lot_size))
        object.__setattr__(self, "_tick_float", float(self.tick_size))
        object.__setattr__(self, "_lot_float", float(self.lot_size))

    @property
    def base(self) -> str:
        return self.symbol.split("-", 1)[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("-", 1)[1]

    # --- Decimal edge <-> integer grid -------------------------------------------------------------
    def price_to_ticks(self, price: Decimal | str | int | float) -> int:
        value = to_decimal(price, "price")
        ticks, rem = divmod(value, self.tick_size)
        if rem != 0:
            raise OffGridError(f"price {price} is not a multiple of tick size {self.tick_size} for {self.symbol}")
        return int(ticks)

    def size_to_lots(self, size: Decimal | str | int | float) -> int:
        value = to_decimal(size, "size")
        lots, rem = divmod(value, self.lot_size)
        if rem != 0:
            raise OffGridError(f"size {size} is not a multiple of lot size {self.lot_size} for {self.symbol}")
        return int(lots)

    def round_price_to_ticks(self, price: float) -> int:
        """Nearest tick for a model price (simulator, strategies); never used on venue data."""
        return round(price / self._tick_float)

    def round_size_to_lots(self, size: float) -> int:
        """Lots for a model size, rounded down so a computed size never exceeds what was allowed."""
        return int(size / self._lot_float + 1e-9)

    def price(self, ticks: int) -> Decimal:
        return ticks * self.tick_size

    def size(self, lots: int) -> Decimal:
        return lots * self.lot_size

    def price_str(self, ticks: int) -> str:
        return f"{ticks * self.tick_size:.{self.price_decimals}f}"

    def size_str(self, lots: int) -> str:
        return f"{lots * self.lot_size:.{self.size_decimals}f}"

    def price_float(self, ticks: float) -> float:
        return ticks * self._tick_float

    def size_float(self, lots: float) -> float:
        return lots * self._lot_float

    def notional(self, ticks: int, lots: int) -> Decimal:
        """Exact quote-currency value of ``lots`` at ``ticks``."""
        return (ticks * self.tick_size) * (lots * self.lot_size)
