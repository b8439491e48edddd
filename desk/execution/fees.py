"""Maker/taker fees, exact in the quote currency."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from desk.domain.instruments import Instrument

FEE_QUANTUM = Decimal("0.00000001")  # fees are kept to 1e-8 of the quote currency
_BPS = Decimal(10_000)  # built once: this runs for every fill


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    maker_bps: Decimal = Decimal("1")
    taker_bps: Decimal = Decimal("5")

    def fee(self, instrument: Instrument, price_ticks: int, lots: int, maker: bool) -> Decimal:
        bps = self.maker_bps if maker else self.taker_bps
        raw = instrument.notional(price_ticks, lots) * bps / _BPS
        return raw.quantize(FEE_QUANTUM, rounding=ROUND_HALF_UP)
