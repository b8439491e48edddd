"""Positions and P&L on hand-computed sequences of fills."""

from __future__ import annotations

from decimal import Decimal

import pytest

from desk.domain import Instrument, Side
from desk.execution.orders import Fill
from desk.portfolio import Portfolio

INST = Instrument("ETH-USD", Decimal("0.01"), Decimal("0.001"))


def fill(side: Side, price: str, qty: str, fee: str = "0", strategy: str = "s1") -> Fill:
    return Fill(
        "f",
        "o",
        "ETH-USD",
        side,
        INST.price_to_ticks(price),
        INST.size_to_lots(qty),
        Decimal(fee),
        "taker",
        0,
        strategy,
    )


def test_average_entry_realised_and_unrealised() -> None:
    pf = Portfolio({"ETH-USD": INST}, Decimal("10000"))
    pf.apply_fill(fill(Side.BUY, "3000.00", "1.000", "1.5"))
    pf.apply_fill(fill(Side.BUY, "3100.00", "1.000", "1.55"))
    pos = pf.position("ETH-USD")
    assert pos.quantity == 2000 and pos.avg_price() == Decimal("3050.00000000")
    # Sell 1.5 at 3200: realised (3200 - 3050) * 1.5 = 225
    pf.apply_fill(fill(Side.SELL, "3200.00", "1.500", "2.4"))
    assert pf.realized() == Decimal("225.00000000")
    assert pf.fees() == Decimal("5.45")
    # 0.5 left at 3050; mid 3300 -> unrealised 125; equity = 10000 + 225 - 5.45 + 125
    mids: dict[str, float | None] = {"ETH-USD": 3300.0}
    assert pf.unrealized(mids) == pytest.approx(125.0)
    assert pf.equity(mids) == pytest.approx(10344.55)
    assert pf.gross_exposure(mids) == pytest.approx(1650.0)


def test_flip_long_to_short_and_exact_thirds() -> None:
    pf = Portfolio({"ETH-USD": INST}, Decimal("0"))
    # Three buys whose average is not a terminating decimal: 3000.00, 3000.01, 3000.01 -> 3000.00666...
    for px in ("3000.00", "3000.01", "3000.01"):
        pf.apply_fill(fill(Side.BUY, px, "1.000"))
    # Sell 5 at 3000.02: closes 3 (realised 0.02 + 0.01 + 0.01 = 0.04 exactly) and opens 2 short at 3000.02.
    pf.apply_fill(fill(Side.SELL, "3000.02", "5.000"))
    pos = pf.position("ETH-USD")
    assert pf.realized() == Decimal("0.04000000")
    assert pos.quantity == -2000 and pos.avg_price() == Decimal("3000.02000000")
    # Short 2 marked at 2999.02: unrealised +2.00
    assert pf.unrealized({"ETH-USD": 2999.02}) == pytest.approx(2.0)
    # Buy back 2 at 2999.52: realised += 0.50 * 2 = 1.00
    pf.apply_fill(fill(Side.BUY, "2999.52", "2.000"))
    assert pf.realized() == Decimal("1.04000000") and pos.quantity == 0


def test_per_strategy_positions_and_drawdown() -> None:
    pf = Portfolio({"ETH-USD": INST}, Decimal("1000"))
    pf.apply_fill(fill(Side.BUY, "100.00", "1.000", strategy="a"))
    pf.apply_fill(fill(Side.SELL, "100.00", "3.000", strategy="b"))
    assert pf.position("ETH-USD").quantity == -2000
    assert pf.position("ETH-USD", "a").quantity == 1000 and pf.position("ETH-USD", "b").quantity == -3000
    assert pf.sample(1, {"ETH-USD": 100.0}) == pytest.approx(1000.0)
    assert pf.sample(2, {"ETH-USD": 150.0}) == pytest.approx(900.0)  # short 2 loses 100
    assert pf.max_drawdown == pytest.approx(0.1)
    assert pf.strategy_pnl("b", {"ETH-USD": 150.0}) == pytest.approx(-150.0)


def test_realised_units_match_adding_each_fills_pnl() -> None:
    """Realised P&L is kept in tick*lot units and converted once: it must be the very Fraction (and Decimal) that
    adding every fill's own P&L gives, through partial closes at fractional averages and flips."""
    import random
    from fractions import Fraction

    from desk.portfolio import Position, to_decimal

    rng = random.Random(7)
    pos = Position("ETH-USD", INST)
    total = Fraction(0)
    for _ in range(400):
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        f = fill(side, f"{rng.randint(290_000, 310_000) / 100:.2f}", f"{rng.randint(1, 3000) / 1000:.3f}")
        realized = pos.apply(f)
        total += realized
        assert realized == pos.last_realized
        assert pos.realized == total
        assert (pos.realized.numerator, pos.realized.denominator) == (total.numerator, total.denominator)
        assert pos.realized_decimal() == to_decimal(total)
        assert str(pos.realized_decimal()) == str(to_decimal(total))
    assert isinstance(pos.realized_units, Fraction)  # partial closes at fractional averages happened
