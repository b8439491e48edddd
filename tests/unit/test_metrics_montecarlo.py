"""Monte Carlo resampling of trade returns: determinism, closed forms, and a loop reference on the same draws."""

from __future__ import annotations

import numpy as np
import pytest

from desk.backtest.montecarlo import resample_trades


def test_deterministic_for_a_seed() -> None:
    r = np.random.default_rng(1).normal(0.01, 0.05, 120)
    a = resample_trades(r, 2000, seed=9)
    assert a == resample_trades(r, 2000, seed=9)
    assert a != resample_trades(r, 2000, seed=10)
    assert a.final_return.p5 <= a.final_return.p50 <= a.final_return.p95
    assert 0.0 <= a.max_drawdown.p5 <= a.max_drawdown.p50 <= a.max_drawdown.p95 <= 1.0


@pytest.mark.parametrize("r", [0.02, -0.03])
def test_equal_returns_give_zero_width_bands_at_the_compounded_value(r: float) -> None:
    res = resample_trades([r] * 25, 500, seed=1)
    final = (1 + r) ** 25 - 1
    for band in (res.final_return, res.max_drawdown):
        assert band.p5 == band.p50 == band.p95  # every path is the same path
    assert res.final_return.p50 == pytest.approx(final, rel=1e-12)
    # rising: never below a peak; falling: the whole loss is the drawdown from the starting equity
    assert res.max_drawdown.p50 == pytest.approx(0.0 if r > 0 else -final, abs=1e-15)
    assert res.risk_of_ruin == (1.0 if -final >= 0.5 else 0.0)  # 0.97**25 = .467: a 53% drawdown is ruin


def loop_reference(returns: np.ndarray, picks: np.ndarray, ruin: float) -> tuple[list[float], list[float], float]:
    finals, drawdowns = [], []
    for row in picks:
        equity, peak, worst = 1.0, 1.0, 0.0
        for i in row:
            equity = max(equity * (1.0 + returns[i]), 0.0)
            peak = max(peak, equity)
            worst = max(worst, 1.0 - equity / peak)
        finals.append(equity - 1.0)
        drawdowns.append(worst)
    return finals, drawdowns, sum(d >= ruin for d in drawdowns) / len(drawdowns)


def test_matches_a_loop_on_the_same_draws() -> None:
    returns = np.array([0.08, -0.05, 0.12, -0.2, 0.03, -1.5, 0.4])  # -150%: the account is wiped out
    sims, k = 400, 12
    picks = np.random.default_rng(4).integers(0, returns.size, size=(sims, k))  # the draws resample_trades makes
    finals, drawdowns, ruin = loop_reference(returns, picks, 0.4)
    res = resample_trades(returns, sims, seed=4, n_trades=k, ruin_drawdown=0.4)
    expected = np.percentile(finals, [5, 50, 95])
    assert (res.final_return.p5, res.final_return.p50, res.final_return.p95) == pytest.approx(expected, rel=1e-12)
    expected = np.percentile(drawdowns, [5, 50, 95])
    assert (res.max_drawdown.p5, res.max_drawdown.p50, res.max_drawdown.p95) == pytest.approx(expected, rel=1e-12)
    assert res.risk_of_ruin == ruin


def test_risk_of_ruin_two_outcomes() -> None:
    # one trade of +50% or -50%: ruin (a 50% drawdown) exactly when the loss is drawn, probability 1/2
    res = resample_trades([0.5, -0.5], 20_000, seed=3, n_trades=1)
    assert abs(res.risk_of_ruin - 0.5) < 4 * (0.25 / 20_000) ** 0.5
    assert res.max_drawdown.p95 == 0.5 and res.max_drawdown.p5 == 0.0


def test_wipe_out_stays_at_zero() -> None:
    res = resample_trades([-1.0], 10, n_trades=5)
    assert res.final_return.p50 == -1.0 and res.max_drawdown.p50 == 1.0 and res.risk_of_ruin == 1.0


def test_no_trades_and_bad_input() -> None:
    res = resample_trades([], 100)
    assert res.final_return.p95 == 0.0 and res.risk_of_ruin == 0.0 and res.n_trades == 0
    assert res.as_dict()["final_return"] == {"p5": 0.0, "p50": 0.0, "p95": 0.0}
    for kwargs, message in (
        ({"trade_returns": [np.nan]}, "finite"),
        ({"trade_returns": [0.1], "n_sims": 0}, "n_sims"),
        ({"trade_returns": [0.1], "n_trades": -1}, "n_trades"),
        ({"trade_returns": [0.1], "ruin_drawdown": 0.0}, "ruin_drawdown"),
    ):
        with pytest.raises(ValueError, match=message):
            resample_trades(**kwargs)  # type: ignore[arg-type]
