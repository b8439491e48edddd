"""Positions from journal fill rows alone (no instrument metadata needed: the rows carry exact decimals)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

MONEY = Decimal("0.00000001")


def _dec(value: Fraction) -> str:
    return f"{(Decimal(value.numerator) / Decimal(value.denominator)).quantize(MONEY):f}"


def positions_from_fills(rows: list[dict[str, Any]], marks: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Net quantity, average entry and realised P&L per symbol, exactly, by replaying the fills in order.

    Unrealised P&L is marked at ``marks`` (decimal strings), by default the last fill price of each symbol: a
    journal alone knows no later market price.
    """
    state: dict[str, dict[str, Any]] = {}
    last_price: dict[str, str] = {}
    for row in rows:
        s = state.setdefault(
            row["symbol"], {"qty": Fraction(0), "cost": Fraction(0), "realized": Fraction(0), "fees": Decimal(0)}
        )
        qty = Fraction(Decimal(row["quantity"]))
        price = Fraction(Decimal(row["price"]))
        signed = qty if row["side"] == "buy" else -qty
        s["fees"] += Decimal(row["fee"])
        last_price[row["symbol"]] = row["price"]
        if s["qty"] == 0 or (s["qty"] > 0) == (signed > 0):
            s["cost"] += price * signed
            s["qty"] += signed
            continue
        closing = min(abs(signed), abs(s["qty"]))
        avg = s["cost"] / s["qty"]
        direction = 1 if s["qty"] > 0 else -1
        s["realized"] += (price - avg) * closing * direction
        s["cost"] -= avg * closing * direction
        s["qty"] += signed
        rest = abs(signed) - closing
        if rest:
            s["cost"] = price * (rest if signed > 0 else -rest)
        if s["qty"] == 0:
            s["cost"] = Fraction(0)
    out = []
    for symbol, s in sorted(state.items()):
        avg = s["cost"] / s["qty"] if s["qty"] else None
        mark = (marks or {}).get(symbol, last_price.get(symbol))
        unrealized = Fraction(0)
        if mark is not None and s["qty"]:
            unrealized = Fraction(Decimal(mark)) * s["qty"] - s["cost"]
        out.append(
            {
                "symbol": symbol,
                "quantity": f"{Decimal(s['qty'].numerator) / Decimal(s['qty'].denominator):f}",
                "avg_price": None if avg is None else _dec(avg),
                "realized_pnl": _dec(s["realized"]),
                "unrealized_pnl": _dec(unrealized),
                "fees": f"{s['fees']:f}",
                "mark": mark,
            }
        )
    return out
