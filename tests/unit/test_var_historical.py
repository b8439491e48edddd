"""Historical VaR/ES on a small hand-made series: every expected number below was worked out by hand.

Exposures are 1000 in asset A and -500 in asset B, so a row (rA, rB) loses -1000 rA + 500 rB. The losses of
the 20 rows, largest first: 60 (row 13), 50 (row 9), 40 (row 4), 31 (row 19), 30 (row 8), 20, 12, 10, 7, 4, 0,
0, -1, -2, -8, -10, -15, -20, -20, -25.
"""

from __future__ import annotations

import numpy as np
import pytest

from desk.risk import VarInputError, compute_var
from desk.risk.var import historical_tail_rank

ROWS = [
    (0.01, 0.0),  # 1: loss -10
    (-0.02, 0.0),  # 2: 20
    (0.005, 0.01),  # 3: 0
    (-0.03, 0.02),  # 4: 40 = 30 (A) + 10 (B)
    (0.0, -0.04),  # 5: -20
    (-0.01, 0.0),  # 6: 10
    (0.02, 0.0),  # 7: -20
    (-0.05, -0.04),  # 8: 30 = 50 - 20
    (0.0, 0.10),  # 9: 50 = 0 + 50
    (0.015, 0.0),  # 10: -15
    (-0.004, 0.0),  # 11: 4
    (0.003, 0.002),  # 12: -2
    (-0.06, 0.0),  # 13: 60 = 60 + 0
    (0.01, 0.02),  # 14: 0
    (-0.007, 0.0),  # 15: 7
    (0.02, -0.01),  # 16: -25
    (-0.012, 0.0),  # 17: 12
    (0.008, 0.0),  # 18: -8
    (-0.025, 0.012),  # 19: 31 = 25 + 6
    (0.001, 0.0),  # 20: -1
]
RETURNS = np.array(ROWS)
W = np.array([1000.0, -500.0])


@pytest.mark.parametrize(
    ("confidence", "var", "es"),
    [
        (0.95, 60.0, 60.0),  # rank ceil(20 * 0.05) = 1
        (0.9, 50.0, 55.0),  # rank 2: mean(60, 50)
        (0.8, 31.0, 45.25),  # rank 4 (20 * 0.2 = 4.000000000000001 in binary): mean(60, 50, 40, 31)
        (0.75, 30.0, 42.2),  # rank ceil(5) = 5: mean(60, 50, 40, 31, 30)
    ],
)
def test_hand_computed_quantile_and_es(confidence: float, var: float, es: float) -> None:
    r = compute_var(W, RETURNS, method="historical", confidence=confidence)
    assert r.var == pytest.approx(var, abs=1e-9)
    assert r.es == pytest.approx(es, abs=1e-9)
    assert r.stderr is None and r.observations == 20


def test_rank_rule_survives_binary_rounding() -> None:
    assert historical_tail_rank(20, 0.8) == 4
    assert historical_tail_rank(1000, 0.99) == 10
    assert historical_tail_rank(1000, 0.999) == 1
    assert historical_tail_rank(1001, 0.99) == 11


def test_horizon_scales_by_square_root_of_time() -> None:
    r = compute_var(W, RETURNS, method="historical", confidence=0.8, horizon_periods=4.0)
    assert r.var == pytest.approx(62.0) and r.es == pytest.approx(90.5)
    assert sum(r.contributions) == pytest.approx(62.0)


def test_component_var_and_es_by_hand() -> None:
    r = compute_var(W, RETURNS, method="historical", confidence=0.8)
    # Component VaR: ranks 3..5 (rank 4 +- 1), rows 4, 19, 8: mean A loss (30 + 25 + 50) / 3 = 35,
    # mean B loss (10 + 6 - 20) / 3 = -4/3; scaled by 31 / (101/3) so they sum to VaR = 31.
    assert r.contributions[0] == pytest.approx(35 * 93 / 101)
    assert r.contributions[1] == pytest.approx(-4 / 3 * 93 / 101)
    assert sum(r.contributions) == pytest.approx(31.0)
    # Component ES: mean position losses over the 4 tail rows 13, 9, 4, 19.
    assert r.es_contributions[0] == pytest.approx((60 + 0 + 30 + 25) / 4)
    assert r.es_contributions[1] == pytest.approx((0 + 50 + 10 + 6) / 4)


def test_rolling_window_uses_the_last_rows() -> None:
    # Rows 11..20 lose 4, -2, 60, 0, 7, -25, 12, -8, 31, -1: at 0.8 the rank is 2 -> 31, ES mean(60, 31).
    r = compute_var(W, RETURNS, method="historical", confidence=0.8, window=10)
    assert r.var == pytest.approx(31.0) and r.es == pytest.approx(45.5)
    assert r.observations == 10


def test_too_few_returns_for_the_confidence() -> None:
    with pytest.raises(VarInputError, match="needs at least 1000 returns"):
        compute_var(W, RETURNS, method="historical", confidence=0.999)
    with pytest.raises(VarInputError, match="too few"):
        compute_var(W, RETURNS[:5], method="historical", confidence=0.5)
    with pytest.raises(VarInputError, match="window 30 is longer"):
        compute_var(W, RETURNS, method="historical", window=30)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"confidence": 1.0}, "confidence 1.0"),
        ({"confidence": 0.0}, "confidence 0.0"),
        ({"confidence": float("nan")}, "confidence nan"),
        ({"horizon_periods": 0.0}, "horizon 0.0"),
        ({"method": "delta-gamma"}, "method 'delta-gamma'"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(VarInputError, match=message):
        compute_var(W, RETURNS, **kwargs)  # type: ignore[arg-type]


def test_non_finite_return_is_named() -> None:
    bad = RETURNS.copy()
    bad[7, 1] = np.nan
    with pytest.raises(VarInputError, match="return nan of ETH-USD at row 7"):
        compute_var(W, bad, method="historical", names=("BTC-USD", "ETH-USD"))
    with pytest.raises(VarInputError, match=r"T x 2"):
        compute_var(W, RETURNS[:, :1], method="historical")
