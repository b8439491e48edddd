from __future__ import annotations

from decimal import Decimal

import pytest

from desk.domain import Instrument, OffGridError

BTC = Instrument("BTC-USD", Decimal("0.01"), Decimal("0.00001"), Decimal("1"))


def test_round_trip_is_exact_on_the_grid() -> None:
    assert BTC.price_to_ticks("60000.01") == 6_000_001
    assert BTC.price_str(6_000_001) == "60000.01"
    assert BTC.size_to_lots("0.30000") == 30_000
    assert BTC.size_str(30_000) == "0.30000"
    # 0.1 + 0.2 as floats is 0.30000000000000004; on the lot grid it is exact.
    assert BTC.size_str(BTC.size_to_lots(0.1) + BTC.size_to_lots(0.2)) == "0.30000"
    assert BTC.notional(6_000_001, 30_000) == Decimal("18000.00300000")


def test_off_grid_values_are_rejected_with_the_value_named() -> None:
    with pytest.raises(OffGridError, match=r"price 60000\.001 is not a multiple of tick size 0\.01"):
        BTC.price_to_ticks("60000.001")
    with pytest.raises(ValueError, match="'abc' is not a number"):
        BTC.size_to_lots("abc")
    with pytest.raises(ValueError, match="not a finite number"):
        BTC.price_to_ticks("nan")


def test_symbol_shape_and_precisions() -> None:
    assert (BTC.base, BTC.quote, BTC.price_decimals, BTC.size_decimals) == ("BTC", "USD", 2, 5)
    with pytest.raises(ValueError, match="BASE-QUOTE"):
        Instrument("BTCUSD", Decimal("0.01"), Decimal("1"))
