"""Tick-level backtests: a strategy on a recorded L2/trade session (``desk record``), fills walking the book.

The recording's batches go through a ``TradingDesk`` exactly as its feed delivered them live, so book updates,
trades, queue positions and fills follow the same code as paper trading; bars for ``on_bar`` are built from the
recorded trades. Equity is sampled once per ``sample_s`` of recorded time (cash + position at the mid), which is
the series the metrics and charts use. Returns the same ``BacktestResult`` as bar backtests.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from desk.backtest import metrics as m
from desk.backtest.montecarlo import resample_trades
from desk.backtest.result import BacktestResult, FillRecord, round_trips
from desk.domain.events import Side
from desk.errors import RuntimeFailure, UserError
from desk.execution.fees import FeeSchedule
from desk.execution.orders import Fill, Order
from desk.strategies.base import StrategyState
from desk.strategies.params import resolve_params
from desk.strategies.registry import load

NS = 1_000_000_000


def is_recording(path: Path) -> bool:
    return path.is_dir() and any(path.glob("events-*.parquet"))


def run_recording_backtest(
    strategy: str,
    recording: Path,
    symbol: str,
    params: Mapping[str, Any] | None = None,
    *,
    account_value: float = 10_000.0,
    fees: FeeSchedule | None = None,
    bar_seconds: int | None = None,
    sample_s: float = 1.0,
    monte_carlo: int = 1_000,
    seed: int = 0,
) -> BacktestResult:
    from desk.feeds.replay import open_recording, read_batches
    from desk.trading import TradingDesk

    started = time.perf_counter()
    rec = open_recording(recording)
    if symbol not in rec.instruments:
        raise UserError(f"symbol {symbol!r} is not in the recording: expected one of {', '.join(rec.instruments)}")
    cls = load(strategy)
    name = cls.name or strategy
    resolved = resolve_params(cls.params, params or {}, name)
    desk = TradingDesk(
        dict(rec.instruments), venue=rec.venue, account_value=Decimal(repr(account_value)), fees=fees, id_prefix="bt"
    )
    inst = desk.instruments[symbol]
    fills: list[FillRecord] = []

    def on_fill(order: Order, fill: Fill) -> None:
        if fill.symbol == symbol:
            side = 1 if fill.side is Side.BUY else -1
            fills.append(FillRecord(fill.ts_ns, side, fill.quantity, fill.price, float(fill.fee), fill.liquidity))

    desk.broker.fill_listeners.append(on_fill)
    instance = desk.runner.add(strategy, symbol, resolved, bar_seconds=bar_seconds)
    desk.runner.start(instance.key)
    book = desk.engine.books[symbol]
    step = int(sample_s * NS)
    ts: list[int] = []
    equity: list[float] = []
    mids: list[float] = []
    next_sample = 0
    for _, batch in read_batches(rec, desk.instruments):
        desk.engine.on_events(batch)
        now = desk.clock()
        if now >= next_sample and book.mid() is not None:
            next_sample = (now // step + 1) * step
            ts.append(now)
            equity.append(desk.portfolio.equity(desk.mids()))
            mids.append(book.mid() or 0.0)
        if instance.state is StrategyState.ERROR:
            raise RuntimeFailure(f"strategy {instance.key} failed: {instance.error}")
    if ts and desk.clock() > ts[-1] and book.mid() is not None:  # the end of the session is a point too
        ts.append(desk.clock())
        equity.append(desk.portfolio.equity(desk.mids()))
        mids.append(book.mid() or 0.0)
    if len(ts) < 2:
        raise UserError(f"recording {str(recording)!r} holds under two seconds of {symbol}: nothing to backtest")
    desk.runner.stop_all("backtest ended")
    equity_arr = np.asarray(equity)
    ts_arr = np.asarray(ts, dtype=np.int64)
    close = np.asarray(mids)
    last_mark = book.mid_ticks() or 0.0
    trades, open_at_end = round_trips(fills, inst, round(last_mark), int(ts_arr[-1]))
    metrics: dict[str, Any] = dict(m.summarize(equity_arr, trades, timestamps=ts_arr, benchmark=close))
    metrics["fills"] = len(fills)
    mc = resample_trades(trades.ret, n_sims=monte_carlo, seed=seed).as_dict() if monte_carlo > 0 else None
    return BacktestResult(
        strategy=name,
        params=dict(resolved),
        symbol=symbol,
        instrument=inst,
        timeframe_s=int(sample_s),
        mode="ticks",
        starting_value=account_value,
        ts_ns=ts_arr,
        equity=equity_arr,
        close=close,
        fills=fills,
        trades=trades,
        open_at_end=open_at_end,
        metrics=metrics,
        monte_carlo=mc,
        elapsed_s=time.perf_counter() - started,
    )
