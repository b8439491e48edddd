"""Sweeps: grid parsing, ranking equal to one-by-one backtests, local processes and a Dask LocalCluster agree."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest

from desk.backtest.data import OHLCV, from_arrays
from desk.backtest.engine import run_backtest
from desk.backtest.sweep import Axis, SweepConfig, combinations, parse_axis, run_sweep
from desk.domain.instruments import Instrument
from desk.errors import UserError
from desk.strategies.ma_crossover import MACrossover

NS = 1_000_000_000


def series(n: int = 2500, seed: int = 21) -> OHLCV:
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.003, n)))
    opens = np.r_[50.0, close[:-1]]
    high = np.maximum(opens, close) * 1.001
    low = np.minimum(opens, close) * 0.999
    ts = 1_700_000_000 * NS + np.arange(n, dtype=np.int64) * 60 * NS
    inst = Instrument("SWP-USD", Decimal("0.001"), Decimal("0.0001"))
    return from_arrays("SWP-USD", inst, ts, opens, high, low, close)


def test_parse_axis() -> None:
    p = MACrossover.params
    assert parse_axis("fast=5:50:5", p, "ma").values == tuple(range(5, 51, 5))
    assert parse_axis("slow=20,30,20", p, "ma").values == (20, 30)
    assert parse_axis("position_size=0.25:1:0.25", p, "ma").values == (0.25, 0.5, 0.75, 1.0)
    assert parse_axis("allow_short=true,false", p, "ma").values == (True, False)
    for bad, message in [
        ("fast", "NAME=LO:HI:STEP"),
        ("nope=1:2:1", "unknown parameter 'nope'"),
        ("fast=5:1:1", "LO <= HI"),
        ("fast=1:5:0.5", "integer parameter"),
        ("fast=0:5:1", "expected an integer in"),
        ("fast=a:b:c", "must be numbers"),
    ]:
        with pytest.raises(UserError, match=message):
            parse_axis(bad, p, "ma")
    with pytest.raises(UserError, match="both in --grid and --param"):
        combinations([Axis("fast", (1, 2))], {"fast": 3})


def expected_rows(data: OHLCV, combos: list[dict[str, object]], metric: str) -> list[tuple[dict[str, object], float]]:
    rows = []
    for params in combos:
        try:
            r = run_backtest("ma_crossover", data, params, fees_bps="5", monte_carlo=0, mode="event")
        except UserError:
            continue
        rows.append((params, float(r.metrics[metric])))
    rows.sort(key=lambda x: -x[1])
    return rows


def test_local_sweep_ranks_like_one_by_one_event_driven_backtests() -> None:
    data = series()
    axes = [Axis("fast", (3, 5, 20)), Axis("slow", (5, 10, 30))]
    fixed = {"position_size": 1.0}
    cfg = SweepConfig("ma_crossover", fees_bps="5")
    seen: list[tuple[int, int]] = []
    result = run_sweep(cfg, data, axes, fixed, metric="sharpe", workers=2, progress=lambda d, t: seen.append((d, t)))
    expected = expected_rows(data, combinations(axes, fixed), "sharpe")
    assert [r.params for r in result.rows] == [p for p, _ in expected]
    for row, (_, value) in zip(result.rows, expected, strict=True):
        assert row.metrics is not None and row.metrics["sharpe"] == pytest.approx(value, rel=1e-9)
    assert result.mode == "vectorised"
    # fast >= slow: (5, 5), (20, 5), (20, 10) are skipped with the strategy's reason
    assert len(result.skipped) == 3 and "must be below" in result.skipped[0].error
    assert seen[-1] == (9, 9)


def test_lower_is_better_metrics_rank_ascending() -> None:
    data = series(1200)
    result = run_sweep(
        SweepConfig("ma_crossover"), data, [Axis("fast", (2, 4, 8))], {"slow": 30}, metric="max_drawdown", workers=1
    )
    depths = [r.metrics["max_drawdown"] for r in result.rows if r.metrics]
    assert depths == sorted(depths) and len(depths) == 3
    with pytest.raises(UserError, match="--metric 'nope'"):
        run_sweep(SweepConfig("ma_crossover"), data, [Axis("fast", (2,))], {}, metric="nope", workers=1)


def test_dask_local_cluster_gives_the_same_ranking() -> None:
    distributed = pytest.importorskip("distributed")
    data = series(1500)
    axes = [Axis("fast", (3, 6)), Axis("slow", (12, 24))]
    cfg = SweepConfig("ma_crossover", fees_bps="2", slippage_bps="1")
    local = run_sweep(cfg, data, axes, {}, metric="total_return", workers=1)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        remote = run_sweep(cfg, data, axes, {}, metric="total_return", scheduler=cluster.scheduler_address)
    assert [r.params for r in remote.rows] == [r.params for r in local.rows]
    for a, b in zip(remote.rows, local.rows, strict=True):
        assert a.metrics is not None and b.metrics is not None
        assert a.metrics["total_return"] == b.metrics["total_return"]
        assert not math.isnan(a.metrics["sharpe"])
