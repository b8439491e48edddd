"""The backtest screen: form validation and result rows without a terminal, then a small run through Pilot.

The Monte Carlo paths are checked against ``desk.backtest.montecarlo.resample_trades`` (an independent summary
of the same draws) and a hand-worked two-trade case; the run itself is ``run_backtest``, whose numbers are tested
in tests/unit, so here the screen must show exactly what a direct call returns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from textual.widgets import DataTable, Input, Select

from desk.backtest.data import simulated, write_ohlcv
from desk.backtest.engine import run_backtest
from desk.backtest.montecarlo import resample_trades
from desk.config import Settings
from desk.errors import UserError
from desk.feeds.sim import SimulatedMarket
from desk.ui import backtest_model as bm
from desk.ui.app import build_app
from desk.ui.screens.backtest import BacktestScreen

from .conftest import ManualFeed, fixed_clock, opening_events

SIZE = (160, 50)


def session(**fields: str) -> bm.BacktestSession:
    s = bm.BacktestSession(bars="300", seed="3")
    for k, v in fields.items():
        setattr(s, k, v)
    return s


def test_parse_request_validates_every_field(tmp_path: Path) -> None:
    req = bm.parse_request(session())
    assert (req.strategy, req.source, req.symbol, req.bars, req.timeframe_s, req.seed) == (
        "ma_crossover",
        "simulated",
        "BTC-USD",
        300,
        60,
        3,
    )
    assert req.params == {"fast": 10, "slow": 30, "position_size": 0.1, "allow_short": False}
    s = session()
    s.set_param("ma_crossover", "fast", "7")
    s.set_param("ma_crossover", "allow_short", "yes")
    assert bm.parse_request(s).params["fast"] == 7 and bm.parse_request(s).params["allow_short"] is True
    cases = [
        (session(bars="ten"), "bars 'ten': expected a whole number"),
        (session(bars="1"), r"bars '1': expected a number in \[2, 200000\]"),
        (session(fees_bps="-1"), r"fees \(bps\) '-1': expected a number in \[0, 1000\]"),
        (session(slippage_bps="x"), r"slippage \(bps\) 'x': expected a number"),
        (session(timeframe="5q"), "timeframe '5q': expected a positive whole number"),
        (session(symbol="BTCUSD"), "symbol 'BTCUSD': expected a simulated-market symbol"),
        (session(strategy="nope"), "strategy 'nope': expected one of"),
        (session(source="file"), "data file: expected the path"),
        (session(source="file", path=str(tmp_path / "no.csv")), "no such file"),
    ]
    for bad, message in cases:
        with pytest.raises(UserError, match=message):
            bm.parse_request(bad)
    s = session()
    s.set_param("ma_crossover", "fast", "0")
    with pytest.raises(UserError, match=r"parameter ma_crossover.fast = '0': expected an integer in \[1, 10000\]"):
        bm.parse_request(s)


def test_file_data_is_read_and_resampled(tmp_path: Path) -> None:
    path = write_ohlcv(simulated("ETH-USD", 120, seed=2, timeframe_s=60), tmp_path / "eth.parquet")
    req = bm.parse_request(session(source="file", path=str(path), symbol="", timeframe="5m"))
    data = bm.load_data(req)
    assert data.symbol == "ETH-USD" and data.timeframe_s == 300 and len(data) == 24


def test_monte_carlo_paths_agree_with_the_report_bands() -> None:
    rets = np.array([0.02, -0.01, 0.015, -0.03, 0.04, 0.0, -0.005, 0.01])
    paths = bm.monte_carlo_paths(rets, n_sims=500, seed=9)
    mc = resample_trades(rets, n_sims=500, seed=9)
    assert paths.p5[0] == paths.p50[0] == paths.p95[0] == 1.0 and paths.p50.shape == (9,)
    assert paths.p5[-1] - 1 == pytest.approx(mc.final_return.p5, abs=1e-12)
    assert paths.p50[-1] - 1 == pytest.approx(mc.final_return.p50, abs=1e-12)
    assert paths.p95[-1] - 1 == pytest.approx(mc.final_return.p95, abs=1e-12)
    assert np.all(paths.p5 <= paths.p50) and np.all(paths.p50 <= paths.p95)
    # one trade of +10%: every ordering is the same path
    one = bm.monte_carlo_paths([0.1], n_sims=50)
    assert one.p5.tolist() == one.p95.tolist() == pytest.approx([1.0, 1.1])


def test_result_rows_show_the_run() -> None:
    data = simulated("BTC-USD", 400, seed=5)
    result = run_backtest("ma_crossover", data, {"fast": 5, "slow": 20}, monte_carlo=200, seed=1)
    rows = dict(bm.metric_rows(result))
    assert rows["Final equity"] == f"{float(result.equity[-1]):,.2f}"
    assert rows["Trades"] == str(result.metrics["trades"])
    assert rows["Total return"] == f"{result.metrics['total_return'] * 100:+.2f}%"
    trades = bm.trade_rows(result)
    assert len(trades) == len(result.trades) > 0
    first = trades[0]
    assert first[1] in ("long", "short") and first[7] == f"{result.trades.pnl[0]:,.2f}"
    mc = bm.monte_carlo_rows(result)
    assert mc[0][0] == "final return" and mc[0][2] == f"{result.monte_carlo['final_return']['p50'] * 100:+.2f}%"  # type: ignore[index]


async def test_screen_runs_a_small_backtest_and_shows_metrics() -> None:
    market = SimulatedMarket(seed=7, rate=100.0)
    app = build_app(Settings(), feed=ManualFeed(market.instruments), clock=fixed_clock, freeze_gc=False)
    app.engine.on_events(opening_events(market))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("b")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, BacktestScreen)
        screen.query_one("#bt-bars", Input).value = "abc"
        await pilot.pause()
        screen.action_run()
        await pilot.pause()
        assert screen.error_text == "bars 'abc': expected a whole number" and screen.worker is None

        screen.query_one("#bt-bars", Input).value = "300"
        screen.query_one("#bt-strategy", Select).value = "rsi_reversion"
        await pilot.pause()
        assert screen.query("#bt-param-period")  # the form follows the strategy's Param declarations
        screen.query_one("#bt-fees_bps", Input).value = "5"
        await pilot.press("ctrl+r")
        assert screen.worker is not None
        await screen.worker.wait()
        await pilot.pause()
        assert screen.error_text == ""
        result = screen.session.result
        assert result is not None and result.strategy == "rsi_reversion" and result.bars == 300
        direct = run_backtest(
            "rsi_reversion", simulated("BTC-USD", 300, seed=7), fees_bps=5, monte_carlo=bm.MC_SIMS, seed=7
        )
        assert float(result.equity[-1]) == pytest.approx(float(direct.equity[-1]), rel=0, abs=1e-9)
        metrics = screen.query_one("#bt-metrics", DataTable)
        shown = {str(metrics.get_row_at(i)[0]): str(metrics.get_row_at(i)[1]) for i in range(metrics.row_count)}
        assert shown["Final equity"] == f"{float(direct.equity[-1]):,.2f}"
        assert shown["Trades"] == str(direct.metrics["trades"])
        assert screen.query_one("#bt-trades", DataTable).row_count == len(direct.trades)

        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, BacktestScreen)
        await pilot.press("b")  # reopened: the form and the result are still there
        await pilot.pause()
        again = app.screen
        assert isinstance(again, BacktestScreen) and again.session.result is result
        assert again.query_one("#bt-metrics", DataTable).row_count == metrics.row_count
        assert again.query_one("#bt-strategy", Select).value == "rsi_reversion"
