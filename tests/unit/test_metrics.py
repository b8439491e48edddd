"""Backtest metrics on hand-computed cases (arithmetic in the comments), degenerate cases, and bad input."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from collections.abc import Iterator

import numpy as np
import pytest

from desk.backtest import metrics as m
from desk.backtest.metrics import Trades, summarize

# Equity with per-period returns +10%, -10%, +20%, -20%, +30%:
# 100 -> 110 -> 99 -> 118.8 -> 95.04 -> 123.552
EQUITY = [100.0, 110.0, 99.0, 118.8, 95.04, 123.552]
PPY = 4.0  # quarterly: 5 periods = 1.25 years


@pytest.fixture(autouse=True)
def no_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # degenerate cases must not divide by zero or take means of nothing
        yield


def test_equity_metrics_by_hand() -> None:
    s = summarize(EQUITY, periods_per_year=PPY)
    assert s["total_return"] == pytest.approx(0.23552, rel=1e-12)  # 123.552 / 100 - 1
    assert s["cagr"] == pytest.approx(1.23552**0.8 - 1, rel=1e-12)  # 1.25 years -> exponent 1 / 1.25
    # mean return (.1 - .1 + .2 - .2 + .3) / 5 = .06; deviations .04 -.16 .14 -.26 .24, squares sum .172,
    # sample variance .172 / 4 = .043
    assert s["volatility"] == pytest.approx(math.sqrt(0.043) * 2, rel=1e-12)  # * sqrt(4)
    assert s["sharpe"] == pytest.approx(0.06 / math.sqrt(0.043) * 2, rel=1e-12)
    # downside deviation: sqrt((.1^2 + .2^2) / 5) = sqrt(.01) = .1 -> Sortino .06 / .1 * 2 = 1.2
    assert s["sortino"] == pytest.approx(1.2, rel=1e-12)
    # running peak 100 110 110 118.8 118.8 123.552; deepest: 95.04 / 118.8 = .8 -> 20% from index 3 to 4,
    # recovered at index 5 (123.552 >= 118.8): 2 periods
    assert s["max_drawdown"] == pytest.approx(0.2, rel=1e-12)
    assert s["max_drawdown_periods"] == 2
    assert s["max_drawdown_recovered"] == 1
    assert s["longest_drawdown_periods"] == 2  # 110 (index 1) recovered at index 3 as well
    assert s["calmar"] == pytest.approx((1.23552**0.8 - 1) / 0.2, rel=1e-12)
    # 95% VaR of 5 returns: rank ceil(5 * .05) = 1 -> the worst, -20%
    assert (s["var"], s["es"]) == (pytest.approx(0.2), pytest.approx(0.2))
    assert s["periods_per_year"] == PPY
    # a quarter is 365.25 / 4 days; the drawdown lasted two of them
    assert s["max_drawdown_seconds"] == pytest.approx(2 * 365.25 / 4 * 86400, rel=1e-9)


def test_var_es_rank_rule() -> None:
    r = np.array([0.1, -0.1, 0.2, -0.2, 0.3])
    # 60%: rank ceil(5 * .4) = 2 -> VaR the 2nd worst (10%), ES the mean of the 2 worst (15%)
    var, es = m.historical_var_es(r, 0.6)
    assert var == pytest.approx(0.1) and es == pytest.approx(0.15)


def test_timestamps_set_the_year() -> None:
    day = 86_400 * m.NS_PER_SECOND
    ts = [i * day for i in range(6)]
    s = summarize(EQUITY, timestamps=ts)
    assert s["periods_per_year"] == pytest.approx(365.25)
    assert s["cagr"] == pytest.approx(1.23552 ** (365.25 / 5) - 1, rel=1e-9)  # 5 days elapsed
    assert s["max_drawdown_seconds"] == 2 * 86_400
    assert s["sharpe"] == pytest.approx(0.06 / math.sqrt(0.043) * math.sqrt(365.25), rel=1e-12)


def test_risk_free_rate() -> None:
    # annual 4% over 4 periods a year -> 1.04 ** .25 - 1 per period, subtracted from every return
    rf = 1.04**0.25 - 1
    s = summarize(EQUITY, periods_per_year=PPY, risk_free=0.04)
    assert s["sharpe"] == pytest.approx((0.06 - rf) / math.sqrt(0.043) * 2, rel=1e-12)


def test_buy_and_hold_comparison() -> None:
    s = summarize(EQUITY, periods_per_year=PPY, benchmark=[50.0, 52.0, 48.0, 55.0, 58.0, 60.0])
    assert s["buy_and_hold_return"] == pytest.approx(0.2)  # 60 / 50 - 1
    assert s["excess_return"] == pytest.approx(0.03552)  # .23552 - .2
    assert summarize(EQUITY, periods_per_year=PPY)["buy_and_hold_return"] is None


def trade(
    entry: int, exit_: int, pnl: float, ret: float, fees: float = 0.0, side: object = "long"
) -> dict[str, object]:
    return {
        "entry_time": entry,
        "exit_time": exit_,
        "entry_price": 100.0,
        "exit_price": 100.0 * (1 + ret),
        "quantity": 1.0,
        "side": side,
        "pnl": pnl,
        "return": ret,
        "fees": fees,
    }


def trades(unit: int = 1) -> list[dict[str, object]]:
    """Five trades, times in ``unit`` (1: period indices; NS_PER_SECOND: seconds on the ns clock)."""
    return [
        trade(0 * unit, 2 * unit, 10.0, 0.10, 1.0),
        trade(1 * unit, 4 * unit, -3.0, -0.03, 1.0, "short"),
        trade(6 * unit, 7 * unit, 20.0, 0.20, 2.0),
        trade(7 * unit, 8 * unit, 0.0, 0.0, 0.5, -1),
        trade(8 * unit, 10 * unit, -15.0, -0.15, 1.5, "sell"),
    ]


def test_trade_metrics_by_hand() -> None:
    s = summarize([100.0] * 11, trades(m.NS_PER_SECOND), timestamps=[i * m.NS_PER_SECOND for i in range(11)])
    assert s["trades"] == 5
    assert s["profit_factor"] == pytest.approx(30 / 18)  # (10 + 20) / (3 + 15)
    assert s["win_rate"] == pytest.approx(0.4)  # 2 of 5 (the breakeven trade is not a win)
    assert s["expectancy"] == pytest.approx(12 / 5)  # (10 - 3 + 20 + 0 - 15) / 5
    assert s["avg_trade_return"] == pytest.approx(0.12 / 5)
    assert (s["best_trade_return"], s["worst_trade_return"]) == (0.2, -0.15)
    assert s["total_fees"] == pytest.approx(6.0)
    assert s["avg_trade_seconds"] == pytest.approx(9 / 5)  # durations 2 3 1 1 2
    # open: [0,4] (two overlapping trades) + [6,10] = 8 of 10 seconds
    assert s["exposure"] == pytest.approx(0.8)
    # SQN: R = returns, mean .024; deviations .076 -.054 .176 -.024 -.174, squares sum .07052, sample var .01763
    assert s["sqn"] == pytest.approx(math.sqrt(5) * 0.024 / math.sqrt(0.01763), rel=1e-12)
    # Kelly: W = .4; mean win (.1 + .2) / 2 = .15, mean loss (.03 + .15) / 2 = .09, R = 5/3 -> .4 - .6 / (5/3)
    assert s["kelly"] == pytest.approx(0.04, abs=1e-15)
    assert (s["max_consecutive_wins"], s["max_consecutive_losses"]) == (1, 1)


def test_streaks() -> None:
    pnl = np.array([1.0, 2, -1, -1, -1, 0, 3, 4, 5, -2])
    assert m.max_consecutive(pnl) == (3, 3)  # 3 4 5 and -1 -1 -1; the 0 ends a streak
    assert m.max_consecutive(np.array([0.0, 0.0])) == (0, 0)


def test_trades_in_periods_without_timestamps() -> None:
    s = summarize([100.0] * 11, trades(), periods_per_year=365.25)  # trade times are period indices: days
    assert s["exposure"] == pytest.approx(0.8)
    assert s["avg_trade_seconds"] == pytest.approx(9 / 5 * 86_400)


def test_drawdown_peak_is_the_last_time_at_the_high_and_open_drawdowns_run_to_the_end() -> None:
    dd = m.max_drawdown([100.0, 110.0, 110.0, 88.0, 99.0])
    assert (dd.depth, dd.peak, dd.trough, dd.end, dd.recovered) == (pytest.approx(0.2), 2, 3, 4, False)
    assert dd.periods == 2
    assert m.longest_drawdown([100.0, 110.0, 110.0, 88.0, 99.0]) == 2
    assert m.longest_drawdown([100.0, 90.0, 100.0, 101.0, 99.0, 98.0, 97.0, 102.0]) == 4  # 101 -> 102
    assert m.longest_drawdown([100.0, 101.0, 102.0, 90.0]) == 1  # open at the end: one period below the high


# ------------------------------------------------------------------------------------------- degenerate
def test_no_trades_and_flat_equity() -> None:
    s = summarize([100.0] * 5, [], periods_per_year=252)
    for key in ("total_return", "cagr", "volatility", "sharpe", "sortino", "calmar", "max_drawdown", "var", "es"):
        assert s[key] == 0.0, key
    for key in ("profit_factor", "win_rate", "expectancy", "sqn", "kelly", "exposure", "total_fees"):
        assert s[key] == 0.0, key
    assert s["trades"] == s["max_consecutive_wins"] == s["max_consecutive_losses"] == 0
    assert s["max_drawdown_periods"] == 0 and s["longest_drawdown_periods"] == 0


def test_single_point() -> None:
    s = summarize([100.0], periods_per_year=252)
    assert s["total_return"] == s["cagr"] == s["sharpe"] == s["volatility"] == s["max_drawdown"] == 0.0


def test_steady_growth_has_infinite_ratios() -> None:
    equity = 100.0 * 1.01 ** np.arange(50)  # constant +1%: zero volatility up to rounding
    s = summarize(equity, periods_per_year=252)
    assert s["volatility"] == 0.0
    assert s["sharpe"] == s["sortino"] == s["calmar"] == math.inf
    assert m.json_ready(s)["sharpe"] == "inf"


def test_steady_decline() -> None:
    s = summarize(100.0 * 0.99 ** np.arange(50), periods_per_year=252)
    assert s["sharpe"] == -math.inf
    assert s["sortino"] < 0 and math.isfinite(s["sortino"])  # the downside deviation is not zero


def test_no_losing_and_no_winning_trades() -> None:
    winners = [trade(0, 1, 5.0, 0.05), trade(1, 2, 0.0, 0.0)]
    s = summarize([1.0, 1.0, 1.0], winners, periods_per_year=252)
    assert s["profit_factor"] == math.inf
    assert s["kelly"] == pytest.approx(0.5)  # W with no losses
    losers = [trade(0, 1, -5.0, -0.05)]
    s = summarize([1.0, 1.0], losers, periods_per_year=252)
    assert s["profit_factor"] == 0.0
    assert s["kelly"] == -math.inf
    assert m.json_ready(s)["kelly"] == "-inf"
    assert s["sqn"] == 0.0  # fewer than 2 trades


def test_ruined_account() -> None:
    s = summarize([100.0, 50.0, 0.0, 0.0], periods_per_year=252)
    assert s["total_return"] == -1.0
    assert s["cagr"] == -1.0
    assert s["max_drawdown"] == 1.0
    np.testing.assert_array_equal(m.period_returns([100.0, 50.0, 0.0, 0.0]), [-0.5, -1.0, 0.0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"equity": []}, "non-empty"),
        ({"equity": [1.0, math.nan]}, "NaN"),
        ({"equity": [0.0, 1.0]}, "start above 0"),
        ({"equity": [1.0, 2.0]}, "timestamps or periods_per_year"),
        ({"equity": [1.0, 2.0], "timestamps": [5, 5]}, "strictly increasing"),
        ({"equity": [1.0, 2.0], "timestamps": [1]}, "match the equity"),
        ({"equity": [1.0, 2.0], "periods_per_year": 0.0}, "positive"),
        ({"equity": [1.0, 2.0], "periods_per_year": 1.0, "trades": [trade(0, 1, 1.0, 0.1, side="up")]}, "side"),
        ({"equity": [1.0, 2.0], "periods_per_year": 1.0, "trades": [trade(2, 1, 1.0, 0.1)]}, "exits before"),
        ({"equity": [1.0, 2.0], "periods_per_year": 1.0, "trades": [{"pnl": 1.0}]}, "no field"),
        ({"equity": [1.0, 2.0], "periods_per_year": 1.0, "confidence": 1.0}, "confidence"),
    ],
)
def test_bad_input(kwargs: dict[str, object], message: str) -> None:
    equity = kwargs.pop("equity")
    with pytest.raises(ValueError, match=message):
        summarize(equity, **kwargs)  # type: ignore[arg-type]


def test_trades_accept_objects() -> None:
    class Closed:
        entry_time, exit_time, entry_price, exit_price = 0, 3, 10.0, 11.0
        quantity, side, pnl, ret, fees = 2.0, "buy", 2.0, 0.1, 0.01

    t = Trades.from_records([Closed(), Closed()])
    assert len(t) == 2 and t.side.tolist() == [1, 1] and t.ret.tolist() == [0.1, 0.1]


def test_importing_desk_backtest_is_free() -> None:
    code = "import sys, desk.backtest; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
