"""The fast path for sweeps: a strategy's ``vector_targets`` turned into fills and an equity curve with numpy.

The look-ahead shift belongs to the framework, not the strategy: the target decided on bar t's close is
executed at bar t+1's open, by the same bar-fill model as the event-driven run (``FillEngine.open_price``'s
integer slippage rounding, taker fees quantised like ``FeeSchedule``). Sizing depends on equity, which depends
on earlier fills, so the decisions are walked in order in Python; there are few of them (one per signal change),
and everything per bar (equity, positions) is numpy. ``check_lookahead`` recomputes the targets on prefixes of the
data and fails when an earlier element changes, which is what peeking at later bars does.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from desk.backtest.data import OHLCV
from desk.backtest.result import FillRecord
from desk.errors import UserError
from desk.execution.fees import FeeSchedule
from desk.execution.fills import slippage_factors
from desk.strategies.base import Strategy
from desk.strategies.params import ParamValue

FloatArray = npt.NDArray[np.float64]


class LookAheadError(UserError):
    """A strategy's vector_targets used bars after the one it decided on."""


def targets_for(cls: type[Strategy], params: Mapping[str, ParamValue], data: OHLCV) -> FloatArray | None:
    try:
        raw = cls.vector_targets(params, data)
    except ValueError as exc:
        raise UserError(f"strategy {cls.name}: {exc}") from None
    if raw is None:
        return None
    target = np.asarray(raw, dtype=np.float64)
    if target.shape != (len(data),):
        raise UserError(f"strategy {cls.name}: vector_targets gave shape {target.shape}, expected ({len(data)},)")
    if np.any(np.isinf(target)):
        raise UserError(f"strategy {cls.name}: vector_targets gave an infinite target")
    return target


def check_lookahead(
    cls: type[Strategy], params: Mapping[str, ParamValue], data: OHLCV, full: FloatArray, cuts: int = 3
) -> None:
    """Targets on ``data[:k]`` must equal ``full[:k]`` for a few k: a strategy that reads bar t+1 fails here."""
    n = len(data)
    for k in sorted({max(2, n * (i + 1) // (cuts + 1)) for i in range(cuts)}):
        prefix = targets_for(cls, params, data.slice(0, k))
        if prefix is None:
            return
        same = (prefix == full[:k]) | (np.isnan(prefix) & np.isnan(full[:k]))
        if not np.all(same):
            i = int(np.flatnonzero(~same)[0])
            raise LookAheadError(
                f"strategy {cls.name}: target at bar {i} changes when bars after {k - 1} are removed: "
                "vector_targets must use bars up to t only (the backtester shifts by one bar itself)"
            )


def simulate(
    data: OHLCV,
    target: FloatArray,
    *,
    account_value: float,
    fees: FeeSchedule,
    slippage_bps: Decimal = Decimal(0),
) -> tuple[FloatArray, list[FillRecord]]:
    """Equity at every bar's close and the fills, executing ``target[t]`` at bar t+1's open."""
    inst = data.instrument
    tick, lot = float(inst.tick_size), float(inst.lot_size)
    k = tick * lot
    n = len(data)
    close = data.close
    opens = data.open
    buy_num, sell_num, den = slippage_factors(slippage_bps)
    taker = float(fees.taker_bps) / 10_000
    decisions = np.flatnonzero(~np.isnan(target[:-1]))
    cash = account_value
    q = 0
    fills: list[FillRecord] = []
    fill_bars: list[int] = []
    cash_after: list[float] = [account_value]
    q_after: list[int] = [0]
    if decisions.size:
        closes_at = close[decisions].tolist()
        opens_next = opens[decisions + 1].tolist()
        starts_next = data.ts_ns[decisions + 1].tolist()
        wanted = target[decisions].tolist()
        for d, c, o, ts, f in zip(decisions.tolist(), closes_at, opens_next, starts_next, wanted, strict=True):
            price = c * tick
            equity = cash + q * c * k
            lots = int(equity * abs(f) / price / lot + 1e-9) if equity > 0 and f else 0
            order = (lots if f > 0 else -lots) - q
            if order == 0:
                continue
            px = -((-o * buy_num) // den) if order > 0 else (o * sell_num) // den
            size = abs(order)
            fee = round(px * size * k * taker, 8)
            cash -= order * px * k + fee
            q += order
            fills.append(FillRecord(ts, 1 if order > 0 else -1, size, px, fee))
            fill_bars.append(d + 1)
            cash_after.append(cash)
            q_after.append(q)
    seg = np.zeros(n, dtype=np.int64)
    if fill_bars:
        seg[np.asarray(fill_bars)] = np.arange(1, len(fill_bars) + 1)
        np.maximum.accumulate(seg, out=seg)
    cash_arr = np.asarray(cash_after)[seg]
    q_arr = np.asarray(q_after, dtype=np.float64)[seg]
    equity = cash_arr + q_arr * close * k
    return equity, fills
