"""Backtests: the live trading desk on a historical clock, or the vectorised fast path for the same decisions.

``run_backtest`` builds a ``TradingDesk`` exactly as paper trading does (engine, paper broker with the one fill
engine, order gateway, strategy runner, portfolio), adds the strategy with the data's timeframe and feeds every
bar as a ``Bar`` event in its own batch. The engine's clock is the bars' clock, so strategies, timers and fills
see historical time; the broker trades on the bar-fill model (``desk.execution.fills``) because there is no
book. Nothing here knows which strategy runs: the same objects as in a paper session.

``mode="vectorised"`` runs the strategy's ``vector_targets`` instead (an error if it has none); ``"auto"`` picks
it when available. Both give the same result on the same bars (tests/unit/test_backtest_parity_paths.py).

This is also the plain-Python API the TUI calls from a worker thread: no printing, no Textual.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from desk.backtest import metrics as m
from desk.backtest.data import NS, OHLCV
from desk.backtest.montecarlo import resample_trades
from desk.backtest.result import BacktestResult, FillRecord, round_trips
from desk.domain.events import Side
from desk.errors import RuntimeFailure, UserError
from desk.execution.fees import FeeSchedule
from desk.execution.orders import Fill, Order
from desk.strategies.base import Strategy, StrategyState
from desk.strategies.params import ParamValue, resolve_params
from desk.strategies.registry import load

if TYPE_CHECKING:
    from desk.engine import Engine

MODES = ("event", "vectorised", "auto")
Progress = Callable[[int, int], None]
_BUY = Side.BUY  # bound once: enum member access costs ~0.13 us on Python 3.11 (see desk.execution.orders)


def _decimal(value: float | Decimal | str, what: str) -> Decimal:
    try:
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except ArithmeticError:
        raise UserError(f"{what} {value!r}: expected a number") from None
    if not result.is_finite() or result < 0:
        raise UserError(f"{what} {value!r}: expected a number >= 0")
    return result


class _FillTape:
    """A fill listener: every fill with the engine time of the bar being processed when it happened.

    The equity curve (cash + position x close at each bar's close) is rebuilt from it with numpy after the run,
    so nothing runs per bar beyond the desk itself; ``run_backtest`` checks the last point against the
    portfolio's exact equity.
    """

    __slots__ = ("at_ns", "engine", "fills")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine  # its clock (``now_ns``) is the desk's
        self.fills: list[FillRecord] = []
        self.at_ns: list[int] = []

    def on_fill(self, order: Order, fill: Fill) -> None:
        side = 1 if fill.side is _BUY else -1
        self.fills.append(FillRecord(fill.ts_ns, side, fill.quantity, fill.price, float(fill.fee), fill.liquidity))
        self.at_ns.append(self.engine.now_ns)

    def equity(self, data: OHLCV, cash: float) -> np.ndarray:
        inst = data.instrument
        k = float(inst.tick_size) * float(inst.lot_size)
        n = len(data)
        close_ns = data.ts_ns + data.timeframe_s * NS
        cash_after = [cash]
        lots_after = [0]
        lots = 0
        for f in self.fills:
            lots += f.side * f.lots
            cash -= f.side * f.lots * f.price * k + f.fee
            cash_after.append(cash)
            lots_after.append(lots)
        seg = np.zeros(n, dtype=np.int64)
        if self.fills:
            bars = np.searchsorted(close_ns, np.asarray(self.at_ns, dtype=np.int64), side="left")
            seg[bars] = np.arange(1, len(self.fills) + 1)  # several fills in one bar: the last one wins
            np.maximum.accumulate(seg, out=seg)
        return np.asarray(cash_after)[seg] + np.asarray(lots_after, dtype=np.float64)[seg] * data.close * k


def run_backtest(
    strategy: str | type[Strategy],
    data: OHLCV,
    params: Mapping[str, Any] | None = None,
    *,
    account_value: float = 10_000.0,
    fees_bps: float | Decimal | str = 0,
    maker_fees_bps: float | Decimal | str | None = None,
    slippage_bps: float | Decimal | str = 0,
    mode: str = "event",
    monte_carlo: int = 1_000,
    seed: int = 0,
    check_lookahead: bool = True,
    progress: Progress | None = None,
) -> BacktestResult:
    """Run one backtest and compute its metrics (and Monte Carlo bands of its trades when ``monte_carlo`` > 0)."""
    if mode not in MODES:
        raise UserError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
    cls = load(strategy) if isinstance(strategy, str) else strategy
    name = cls.name or cls.__name__
    resolved = resolve_params(cls.params, params or {}, name)
    if account_value <= 0:
        raise UserError(f"account value {account_value}: expected a number > 0")
    taker = _decimal(fees_bps, "--fees-bps")
    maker = taker if maker_fees_bps is None else _decimal(maker_fees_bps, "--maker-fees-bps")
    slip = _decimal(slippage_bps, "--slippage-bps")
    fees = FeeSchedule(maker, taker)
    started = time.perf_counter()
    if mode in ("vectorised", "auto"):
        from desk.backtest import vectorised as vec

        target = vec.targets_for(cls, resolved, data)
        if target is None and mode == "vectorised":
            raise UserError(f"strategy {name} has no vectorised signals (vector_targets): expected --mode event")
        if target is not None:
            if check_lookahead:
                vec.check_lookahead(cls, resolved, data, target)
            equity, fills = vec.simulate(data, target, account_value=account_value, fees=fees, slippage_bps=slip)
            return _finish(name, resolved, data, "vectorised", account_value, equity, fills, monte_carlo, seed, started)
    equity, fills = _run_events(cls, resolved, data, account_value, fees, slip, progress)
    return _finish(name, resolved, data, "event", account_value, equity, fills, monte_carlo, seed, started)


def _run_events(
    cls: type[Strategy],
    params: dict[str, ParamValue],
    data: OHLCV,
    account_value: float,
    fees: FeeSchedule,
    slippage: Decimal,
    progress: Progress | None,
) -> tuple[np.ndarray, list[FillRecord]]:
    from desk.trading import TradingDesk

    symbol = data.symbol
    inst = data.instrument
    desk = TradingDesk(
        {symbol: inst},
        venue="backtest",
        account_value=Decimal(repr(account_value)),
        fees=fees,
        # The desk's own curve samples at most this often; the backtest records every bar itself.
        equity_sample_s=10.0**9,
        id_prefix="bt",
        slippage_bps=slippage,
    )
    tape = _FillTape(desk.engine)
    desk.broker.fill_listeners.append(tape.on_fill)
    path = f"{cls.__module__}:{cls.__qualname__}"
    instance = desk.runner.add(path, symbol, params, bar_seconds=data.timeframe_s)
    desk.runner.start(instance.key)
    on_events = desk.engine.on_events
    failed = StrategyState.ERROR  # a local: enum member access costs ~0.13 us on Python 3.11, this is per bar
    n = len(data)
    # Progress is reported after every full chunk of n // 200 bars; the per-bar loop checks only for a failure.
    step = max(1, n // 200) if progress is not None else max(1, n)
    for lo in range(0, n, step):
        for bar in data.bars(lo, lo + step):
            on_events((bar,))
            if instance.state is failed:
                break
        if instance.state is failed:
            break
        if progress is not None and lo + step <= n:
            progress(lo + step, n)
    if instance.state is failed:
        when = int(np.searchsorted(data.ts_ns + data.timeframe_s * NS, desk.clock()))
        error = instance.error
        kind = UserError if error.startswith(("ValueError", "UserError")) else RuntimeFailure
        raise kind(f"strategy {instance.key} failed at bar {when}: {error}")
    if progress is not None:
        progress(n, n)
    desk.runner.stop_all("backtest ended")
    equity = tape.equity(data, account_value)
    # The curve must agree with the portfolio (exact Fractions): a cheap guard on the bookkeeping.
    expected = desk.portfolio.equity(desk.mids())
    if n and not np.isclose(equity[-1], expected, rtol=1e-9, atol=1e-6):
        raise RuntimeFailure(f"backtest equity {equity[-1]!r} disagrees with the portfolio's {expected!r}")
    return equity, tape.fills


def _finish(
    name: str,
    params: dict[str, ParamValue],
    data: OHLCV,
    mode: str,
    account_value: float,
    equity: np.ndarray,
    fills: list[FillRecord],
    mc_sims: int,
    seed: int,
    started: float,
) -> BacktestResult:
    close_ts = data.ts_ns + data.timeframe_s * NS
    trades, open_at_end = round_trips(fills, data.instrument, int(data.close[-1]), int(close_ts[-1]))
    close = data.prices("close")
    metrics: dict[str, Any] = dict(m.summarize(equity, trades, timestamps=close_ts, benchmark=close))
    metrics["fills"] = len(fills)
    mc = None
    if mc_sims > 0:
        mc = resample_trades(trades.ret, n_sims=mc_sims, seed=seed).as_dict()
    return BacktestResult(
        strategy=name,
        params=dict(params),
        symbol=data.symbol,
        instrument=data.instrument,
        timeframe_s=data.timeframe_s,
        mode=mode,
        starting_value=account_value,
        ts_ns=close_ts,
        equity=equity,
        close=close,
        fills=fills,
        trades=trades,
        open_at_end=open_at_end,
        metrics=metrics,
        monte_carlo=mc,
        elapsed_s=time.perf_counter() - started,
        gaps=len(data.gaps),
    )
