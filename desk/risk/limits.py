"""Pre-trade limits: parsed once from settings, checked for every order.

All checks are pure functions of the order and a ``RiskView`` (positions, marks, equity) so they are tested
without a desk. A check returns the rejection reason (one line naming the limit, the value and the limit) or
None. Position-type limits only bind on orders that *increase* the absolute position: an order that reduces a
position over a limit (after a limit was lowered, or a price move) must always be possible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from desk.config import RiskSettings
from desk.errors import UserError


def parse_symbol_quantities(entries: tuple[str, ...], key: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for entry in entries:
        symbol, _, qty = entry.partition("=")
        try:
            value = Decimal(qty)
        except ArithmeticError:
            raise UserError(f"risk.{key} entry {entry!r}: expected SYMBOL=QTY with a number") from None
        if not value.is_finite() or value < 0:
            raise UserError(f"risk.{key} entry {entry!r}: expected a quantity >= 0")
        out[symbol.strip()] = value
    return out


@dataclass(frozen=True, slots=True)
class Limits:
    max_position_qty: Mapping[str, Decimal]
    max_position_notional: float
    max_gross_exposure: float
    max_concentration: float
    max_order_qty: Mapping[str, Decimal]
    max_order_notional: float
    daily_loss_limit: float
    max_drawdown: float
    reduce_only_at: float
    max_orders_per_minute: int
    max_consecutive_losses: int
    max_strategy_errors: int
    stale_after_s: float
    var_limit: float

    @classmethod
    def from_settings(cls, risk: RiskSettings) -> Limits:
        return cls(
            max_position_qty=parse_symbol_quantities(risk.max_position_qty, "max_position_qty"),
            max_position_notional=risk.max_position_notional,
            max_gross_exposure=risk.max_gross_exposure,
            max_concentration=risk.max_concentration,
            max_order_qty=parse_symbol_quantities(risk.max_order_qty, "max_order_qty"),
            max_order_notional=risk.max_order_notional,
            daily_loss_limit=risk.daily_loss_limit,
            max_drawdown=risk.max_drawdown,
            reduce_only_at=risk.reduce_only_at,
            max_orders_per_minute=risk.max_orders_per_minute,
            max_consecutive_losses=risk.max_consecutive_losses,
            max_strategy_errors=risk.max_strategy_errors,
            stale_after_s=risk.stale_after_s,
            var_limit=risk.var_limit,
        )


@dataclass(frozen=True, slots=True)
class OrderImpact:
    """What an order would do if filled in full, in base units and quote currency."""

    symbol: str
    order_qty: Decimal  # unsigned
    price: float  # limit price, or the touch for a market order
    position_before: Decimal  # signed
    position_after: Decimal  # signed
    notional_after: float  # |position_after| * price
    gross_after: float  # sum over symbols of |position value| with this order filled
    equity: float

    @property
    def increases(self) -> bool:
        return abs(self.position_after) > abs(self.position_before)


def check_order_size(impact: OrderImpact, limits: Limits) -> str | None:
    cap = limits.max_order_qty.get(impact.symbol)
    if cap is not None and impact.order_qty > cap:
        return f"order quantity {impact.order_qty} {impact.symbol} exceeds max_order_qty {cap}"
    notional = float(impact.order_qty) * impact.price
    if notional > limits.max_order_notional:
        return f"order value {notional:,.2f} exceeds max_order_notional {limits.max_order_notional:,.2f}"
    return None


def check_position(impact: OrderImpact, limits: Limits) -> str | None:
    if not impact.increases:
        return None
    cap = limits.max_position_qty.get(impact.symbol)
    if cap is not None and abs(impact.position_after) > cap:
        return f"position {impact.position_after} {impact.symbol} would exceed max_position_qty {cap}"
    if impact.notional_after > limits.max_position_notional:
        return (
            f"position value {impact.notional_after:,.2f} {impact.symbol} would exceed "
            f"max_position_notional {limits.max_position_notional:,.2f}"
        )
    if impact.gross_after > limits.max_gross_exposure:
        return (
            f"gross exposure {impact.gross_after:,.2f} would exceed max_gross_exposure {limits.max_gross_exposure:,.2f}"
        )
    if impact.equity > 0 and impact.notional_after / impact.equity > limits.max_concentration:
        share = impact.notional_after / impact.equity
        return f"{impact.symbol} would be {share:.0%} of equity, over max_concentration {limits.max_concentration:.0%}"
    return None
