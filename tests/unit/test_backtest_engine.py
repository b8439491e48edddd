"""Event-driven backtests against an independent numpy computation, and the vectorised path against both.

The reference below is written from the rules alone (not from desk's code): SMA crossover on closes, act on
sign changes after the first state, all-in long at the next bar's open, flat on a downward cross, whole lots
rounded down from equity / close (the same lot rule the strategy documents).
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

import numpy as np
import pytest

from desk.backtest.data import OHLCV, from_arrays
from desk.backtest.engine import run_backtest
from desk.backtest.vectorised import LookAheadError
from desk.domain.events import Bar
from desk.domain.instruments import Instrument
from desk.errors import UserError
from desk.strategies.base import BarColumns, Strategy
from desk.strategies.params import Param, ParamValue

NS = 1_000_000_000
INST = Instrument("GBM-USD", Decimal("0.01"), Decimal("0.00001"))


def gbm(n: int, seed: int, mu: float = 0.0, sigma: float = 0.002, start: float = 100.0) -> OHLCV:
    rng = np.random.default_rng(seed)
    log_close = np.log(start) + np.cumsum(rng.normal(mu, sigma, n))
    close = np.exp(log_close)
    opens = np.r_[start, close[:-1]] * np.exp(rng.normal(0, sigma / 4, n))  # opens differ from the last close
    high = np.maximum(opens, close) * (1 + np.abs(rng.normal(0, sigma, n)))
    low = np.minimum(opens, close) * (1 - np.abs(rng.normal(0, sigma, n)))
    ts = 1_700_000_000 * NS + np.arange(n, dtype=np.int64) * 60 * NS
    return from_arrays("GBM-USD", INST, ts, opens, high, low, close, np.ones(n))


def reference_sma_crossover(
    close: np.ndarray, opens: np.ndarray, fast: int, slow: int, cash: float, lot: float
) -> tuple[float, int]:
    """Final return and number of trades of a long-only, all-in, no-fee SMA crossover."""
    fast_ma = np.convolve(close, np.ones(fast) / fast, mode="valid")[slow - fast :]
    slow_ma = np.convolve(close, np.ones(slow) / slow, mode="valid")
    diff = fast_ma - slow_ma
    # Prices sit on a 0.01 grid, so the two averages can be exactly equal (a tie: no cross); float rounding
    # leaves ~1e-14 there, which must not count as a sign.
    sign = np.where(np.abs(diff) <= 1e-9 * slow_ma, 0.0, np.sign(diff))  # sign[j] belongs to bar j + slow - 1
    start = cash
    units = 0.0
    last = 0.0
    trades = 0
    for j, s in enumerate(sign):
        t = j + slow - 1
        if s == 0 or s == last:
            continue
        first = last == 0
        last = s
        if first or t + 1 >= len(close):
            continue  # the state at start-up is not a cross; a decision on the last bar never executes
        if s > 0 and units == 0:
            units = np.floor(cash / close[t] / lot + 1e-9) * lot
            cash -= units * opens[t + 1]
            trades += 1
        elif s < 0 and units > 0:
            cash += units * opens[t + 1]
            units = 0.0
    final = cash + units * close[-1]
    return final / start - 1.0, trades


@pytest.mark.parametrize(("seed", "fast", "slow"), [(1, 10, 50), (2, 5, 20), (3, 20, 60)])
def test_event_driven_sma_crossover_matches_an_independent_numpy_computation(seed: int, fast: int, slow: int) -> None:
    data = gbm(4000, seed)
    result = run_backtest(
        "ma_crossover", data, {"fast": fast, "slow": slow, "position_size": 1.0}, monte_carlo=0, mode="event"
    )
    close = data.prices("close")
    expected_return, expected_trades = reference_sma_crossover(
        close, data.prices("open"), fast, slow, 10_000.0, float(INST.lot_size)
    )
    assert expected_trades > 10  # the series really crosses
    assert result.final_return == pytest.approx(expected_return, abs=1e-9)
    assert result.metrics["total_return"] == pytest.approx(expected_return, abs=1e-9)
    assert result.metrics["trades"] == expected_trades
    assert result.mode == "event"


@pytest.mark.parametrize(
    "params",
    [
        {"fast": 10, "slow": 50, "position_size": 1.0},
        {"fast": 5, "slow": 30, "position_size": 0.5, "allow_short": True},
        {"fast": 3, "slow": 8, "position_size": 1.0, "allow_short": True},
    ],
)
@pytest.mark.parametrize(("fees", "slippage"), [("0", "0"), ("7.5", "2")])
def test_vectorised_path_equals_the_event_driven_run(params: dict[str, ParamValue], fees: str, slippage: str) -> None:
    data = gbm(3000, 11)
    kwargs = {"fees_bps": fees, "slippage_bps": slippage, "monte_carlo": 200, "seed": 5}
    event = run_backtest("ma_crossover", data, params, mode="event", **kwargs)  # type: ignore[arg-type]
    fast = run_backtest("ma_crossover", data, params, mode="vectorised", **kwargs)  # type: ignore[arg-type]
    assert fast.mode == "vectorised"
    assert [(f.ts_ns, f.side, f.lots, f.price) for f in fast.fills] == [
        (f.ts_ns, f.side, f.lots, f.price) for f in event.fills
    ]
    assert len(event.fills) > 20
    np.testing.assert_allclose(fast.equity, event.equity, rtol=1e-10)
    for key in ("total_return", "sharpe", "max_drawdown", "trades", "win_rate", "total_fees"):
        assert fast.metrics[key] == pytest.approx(event.metrics[key], rel=1e-8, abs=1e-9), key
    assert fast.monte_carlo is not None and event.monte_carlo is not None
    for key in ("final_return", "max_drawdown"):
        assert fast.monte_carlo[key] == pytest.approx(event.monte_carlo[key], rel=1e-8)


def test_fees_and_slippage_cost_money() -> None:
    data = gbm(3000, 4)
    params = {"fast": 5, "slow": 20, "position_size": 1.0}
    free = run_backtest("ma_crossover", data, params, monte_carlo=0, mode="vectorised")
    costly = run_backtest("ma_crossover", data, params, fees_bps=10, slippage_bps=5, monte_carlo=0, mode="vectorised")
    assert costly.metrics["total_fees"] > 0
    assert costly.final_return < free.final_return


def test_bad_parameters_are_user_errors_on_both_paths() -> None:
    data = gbm(200, 1)
    for mode in ("event", "vectorised"):
        with pytest.raises(UserError, match="fast"):
            run_backtest("ma_crossover", data, {"fast": 30, "slow": 20}, mode=mode, monte_carlo=0)
    with pytest.raises(UserError, match="unknown parameter"):
        run_backtest("ma_crossover", data, {"nope": 1}, monte_carlo=0)
    with pytest.raises(UserError, match="no vectorised signals"):
        run_backtest("mean_reversion", data, {}, mode="vectorised", monte_carlo=0)


class Peeker(Strategy):
    """Cheats: its target at bar t uses the close of bar t+1."""

    name = "peeker"
    params: ClassVar[tuple[Param, ...]] = ()

    @classmethod
    def vector_targets(cls, params: object, bars: BarColumns) -> np.ndarray:  # type: ignore[override]
        close = bars.close
        up = np.r_[close[1:] > close[:-1], False]
        return np.where(up, 1.0, 0.0)

    def on_bar(self, bar: Bar) -> None:
        pass


def test_look_ahead_in_vector_targets_is_caught() -> None:
    with pytest.raises(LookAheadError, match="bars after"):
        run_backtest(Peeker, gbm(500, 3), mode="vectorised", monte_carlo=0)


def test_event_run_is_deterministic_and_trades_export(tmp_path: object) -> None:
    from pathlib import Path

    data = gbm(1500, 9)
    params = {"fast": 5, "slow": 20, "position_size": 1.0, "allow_short": True}
    a = run_backtest("ma_crossover", data, params, fees_bps=5, monte_carlo=100, seed=1)
    b = run_backtest("ma_crossover", data, params, fees_bps=5, monte_carlo=100, seed=1)
    assert a.fills == b.fills and np.array_equal(a.equity, b.equity) and a.monte_carlo == b.monte_carlo
    assert a.monte_carlo is not None and set(a.monte_carlo) >= {"final_return", "max_drawdown", "risk_of_ruin"}
    out = Path(str(tmp_path))
    written = a.export(out, "both")
    assert {p.name for p in written} == {f"{n}.{k}" for n in ("trades", "fills", "equity") for k in ("csv", "parquet")}
    import polars as pl

    trades = pl.read_parquet(out / "trades.parquet")
    assert trades.height == a.metrics["trades"]
    # Round trips add up: the trades' P&L is the change in equity (the last one is marked at the final close).
    assert float(trades["pnl"].sum()) == pytest.approx(a.equity[-1] - 10_000.0, abs=1e-6)
