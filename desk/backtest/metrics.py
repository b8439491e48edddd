"""Performance metrics of a backtest: pure functions on an equity curve and on closed trades.

Conventions (formulas and every degenerate case are in docs/metrics.md):
- returns and drawdowns are fractions (0.3017 = +30.17%); drawdowns are positive depths (0.25 = 25% below peak);
- per-period returns are simple returns of the equity curve, ``E[t] / E[t-1] - 1``;
- the year is 365.25 days (crypto trades every day); pass ``periods_per_year`` (e.g. 252 daily) to override;
- risk-free rate 0 by default, annual, converted per period as ``(1 + rf) ** (1 / ppy) - 1``;
- volatility and Sharpe use the sample standard deviation (ddof=1); Sortino's downside deviation is
  ``sqrt(mean(min(r - rf, 0) ** 2))`` over all periods;
- a ratio whose denominator is zero is +inf / -inf when its numerator is positive / negative and 0 when the
  numerator is 0 too (so "no losing trade" gives profit factor inf); a standard deviation at or below 1e-12 of
  the mean's magnitude counts as zero (rounding noise of a constant series);
- times are int nanoseconds (desk's clock); without timestamps the equity curve's points are one period apart
  and trade times are period indices.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from desk.risk.var import historical_tail_rank

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

NS_PER_SECOND = 1_000_000_000
YEAR_NS = int(365.25 * 24 * 3600 * NS_PER_SECOND)
_ZERO_STD = 1e-12  # relative: a std this small next to the mean is rounding noise of a constant series

Metric = float | int | None


# ------------------------------------------------------------------------------------------------ inputs
@dataclass(frozen=True, slots=True)
class Trades:
    """Closed trades as columns. ``side`` is +1 (long) or -1 (short); ``ret`` is the trade's return as a fraction
    of its entry notional (net of fees); ``pnl`` and ``fees`` are in the quote currency; times in ns (or period
    indices when the equity curve has no timestamps)."""

    entry_time: IntArray
    exit_time: IntArray
    entry_price: FloatArray
    exit_price: FloatArray
    quantity: FloatArray
    side: IntArray
    pnl: FloatArray
    ret: FloatArray
    fees: FloatArray

    def __post_init__(self) -> None:
        n = self.pnl.shape[0]
        for name in self.__slots__:
            col = getattr(self, name)
            if col.ndim != 1 or col.shape[0] != n:
                raise ValueError(f"trade column {name} must be 1-D with {n} values, got shape {col.shape}")
        if np.any(self.exit_time < self.entry_time):
            raise ValueError("a trade exits before it enters (exit_time < entry_time)")

    def __len__(self) -> int:
        return int(self.pnl.shape[0])

    @classmethod
    def empty(cls) -> Trades:
        f = np.empty(0, dtype=np.float64)
        i = np.empty(0, dtype=np.int64)
        return cls(i, i, f, f, f, i, f, f, f)

    @classmethod
    def from_records(cls, records: Iterable[Any]) -> Trades:
        """From objects or mappings with the fields ``entry_time, exit_time, entry_price, exit_price, quantity,
        side, pnl, fees`` and the return as ``ret`` or ``return``. ``side`` may be +1/-1 or
        "long"/"buy"/"short"/"sell"."""
        rows = [_record(r) for r in records]
        if not rows:
            return cls.empty()
        cols = list(zip(*rows, strict=True))

        def ints(i: int) -> IntArray:
            return np.asarray(cols[i], dtype=np.int64)

        def floats(i: int) -> FloatArray:
            return np.asarray(cols[i], dtype=np.float64)

        return cls(ints(0), ints(1), floats(2), floats(3), floats(4), ints(5), floats(6), floats(7), floats(8))


_SIDES = {"long": 1, "buy": 1, "short": -1, "sell": -1, 1: 1, -1: -1}


def _record(r: Any) -> tuple[Any, ...]:
    def get(*names: str) -> Any:
        for name in names:
            if isinstance(r, Mapping):
                if name in r:
                    return r[name]
            elif hasattr(r, name):
                return getattr(r, name)
        raise ValueError(f"trade record {r!r} has no field {names[0]!r}")

    side = get("side")
    key = side.lower() if isinstance(side, str) else side
    if key not in _SIDES:
        raise ValueError(f"trade side {side!r} is not one of long/buy/short/sell/+1/-1")
    return (
        get("entry_time"),
        get("exit_time"),
        get("entry_price"),
        get("exit_price"),
        get("quantity"),
        _SIDES[key],
        get("pnl"),
        get("ret", "return"),
        get("fees"),
    )


def as_equity(equity: npt.ArrayLike) -> FloatArray:
    """The equity curve as float64, checked: 1-D, not empty, finite, starting above 0."""
    e = np.asarray(equity, dtype=np.float64)
    if e.ndim != 1 or e.size == 0:
        raise ValueError(f"equity must be a non-empty 1-D series, got shape {e.shape}")
    if not np.all(np.isfinite(e)):
        raise ValueError("equity contains NaN or infinite values")
    if e[0] <= 0:
        raise ValueError(f"equity must start above 0, got {e[0]}")
    return e


@dataclass(frozen=True, slots=True)
class Clock:
    """Timestamps of the equity points (ns) and the annualisation they imply."""

    timestamps: IntArray
    periods_per_year: float
    period_ns: float

    @property
    def years(self) -> float:
        return float(self.timestamps[-1] - self.timestamps[0]) / YEAR_NS if self.timestamps.size else 0.0

    @classmethod
    def of(cls, n: int, timestamps: npt.ArrayLike | None, periods_per_year: float | None) -> Clock:
        """With timestamps: periods per year from their median spacing (unless given). Without: points are one
        period (a year / periods_per_year) apart, from 0."""
        if periods_per_year is not None and not (math.isfinite(periods_per_year) and periods_per_year > 0):
            raise ValueError(f"periods_per_year must be a positive number, got {periods_per_year!r}")
        if timestamps is None:
            if periods_per_year is None:
                raise ValueError("give the equity curve's timestamps or periods_per_year")
            period = YEAR_NS / periods_per_year
            return cls((np.arange(n) * period).astype(np.int64), float(periods_per_year), period)
        ts = np.asarray(timestamps, dtype=np.int64)
        if ts.shape != (n,):
            raise ValueError(f"timestamps must match the equity curve ({n} values), got shape {ts.shape}")
        steps = np.diff(ts)
        if np.any(steps <= 0):
            raise ValueError("timestamps must be strictly increasing")
        period = float(np.median(steps)) if steps.size else YEAR_NS / (periods_per_year or 1.0)
        ppy = float(periods_per_year) if periods_per_year is not None else YEAR_NS / period
        return cls(ts, ppy, period)


# ------------------------------------------------------------------------------------ equity-curve metrics
def ratio(num: float, den: float) -> float:
    """``num / den`` with the documented zero-denominator rule: +-inf by the numerator's sign, 0 for 0/0."""
    if den != 0.0:
        return num / den
    if num == 0.0:
        return 0.0
    return math.inf if num > 0 else -math.inf


def total_return(equity: npt.ArrayLike) -> float:
    e = as_equity(equity)
    return float(e[-1] / e[0] - 1.0)


def cagr(equity: npt.ArrayLike, years: float) -> float:
    """Compound annual growth rate over ``years``; -1 if the account ended at or below 0; 0 over no time."""
    e = as_equity(equity)
    if years <= 0.0 or e.size < 2:
        return 0.0
    growth = e[-1] / e[0]
    if growth <= 0.0:
        return -1.0
    return float(growth ** (1.0 / years) - 1.0)


def period_returns(equity: npt.ArrayLike) -> FloatArray:
    """``E[t] / E[t-1] - 1``; 0 after the account is at or below 0 (nothing left to return on)."""
    e = as_equity(equity)
    prev = e[:-1]
    out = np.zeros(prev.shape[0], dtype=np.float64)
    alive = prev > 0
    np.divide(e[1:], prev, out=out, where=alive)
    out[alive] -= 1.0
    return out


def _std_or_zero(r: FloatArray, mean: float) -> float:
    if r.size < 2:
        return 0.0
    std = float(np.std(r, ddof=1))
    return 0.0 if std <= _ZERO_STD * abs(mean) else std


def per_period_rate(annual_rate: float, periods_per_year: float) -> float:
    return float((1.0 + annual_rate) ** (1.0 / periods_per_year) - 1.0)


def annualized_volatility(returns: FloatArray, periods_per_year: float) -> float:
    mean = float(np.mean(returns)) if returns.size else 0.0
    return _std_or_zero(returns, mean) * math.sqrt(periods_per_year)


def sharpe(returns: FloatArray, periods_per_year: float, risk_free: float = 0.0) -> float:
    """Annualised Sharpe ratio: mean excess return over its sample std, times sqrt(periods per year)."""
    if returns.size < 2:
        return 0.0
    excess = returns - per_period_rate(risk_free, periods_per_year)
    mean = float(np.mean(excess))
    return ratio(mean, _std_or_zero(excess, mean)) * math.sqrt(periods_per_year)


def sortino(returns: FloatArray, periods_per_year: float, risk_free: float = 0.0) -> float:
    """Annualised Sortino ratio: mean excess return over the downside deviation (target = risk-free)."""
    if returns.size < 1:
        return 0.0
    excess = returns - per_period_rate(risk_free, periods_per_year)
    mean = float(np.mean(excess))
    downside = float(np.sqrt(np.mean(np.square(np.minimum(excess, 0.0)))))
    if downside <= _ZERO_STD * abs(mean):
        downside = 0.0
    return ratio(mean, downside) * math.sqrt(periods_per_year)


def drawdown(equity: npt.ArrayLike) -> FloatArray:
    """Depth below the running peak at every point, as a fraction in [0, 1] (0 at a new high)."""
    e = as_equity(equity)
    peak = np.maximum.accumulate(e)
    return 1.0 - e / peak


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The deepest drawdown: its depth, the index of the peak it fell from, of its trough, and of the recovery
    (first point back at or above the peak; the last point if it never recovered)."""

    depth: float
    peak: int
    trough: int
    end: int
    recovered: bool

    @property
    def periods(self) -> int:
        """Duration from peak to recovery (or to the end of the curve), in periods."""
        return self.end - self.peak


def max_drawdown(equity: npt.ArrayLike) -> Drawdown:
    e = as_equity(equity)
    dd = drawdown(e)
    trough = int(np.argmax(dd))
    depth = float(dd[trough])
    if depth == 0.0:
        return Drawdown(0.0, 0, 0, 0, True)
    top = float(np.max(e[: trough + 1]))
    peak = trough - int(np.argmax(e[trough::-1] == top))  # the last time at that peak before the trough
    after = np.flatnonzero(e[trough:] >= top)
    recovered = after.size > 0
    end = trough + int(after[0]) if recovered else e.size - 1
    return Drawdown(depth, peak, trough, end, recovered)


def longest_drawdown(equity: npt.ArrayLike) -> int:
    """Longest stretch, in periods, from a peak to the recovery of that peak (or to the end of the curve)."""
    e = as_equity(equity)
    peak = np.maximum.accumulate(e)
    at_high = np.flatnonzero(e >= peak)  # points at a running high (index 0 always is)
    ends = np.append(at_high[1:], e.size - 1)
    gaps = ends - at_high
    gaps[(gaps == 1) & (e[ends] >= peak[ends])] = 0  # straight from a high to a high: no drawdown
    return int(np.max(gaps))


def calmar(cagr_value: float, max_drawdown_depth: float) -> float:
    return ratio(cagr_value, max_drawdown_depth)


def historical_var_es(returns: FloatArray, confidence: float = 0.95) -> tuple[float, float]:
    """Historical VaR and ES of per-period returns, as positive loss fractions (desk.risk's rule: with n returns
    the VaR is the loss of rank ceil(n (1 - c)), the ES the mean of the losses up to that rank)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if returns.size == 0:
        return 0.0, 0.0
    k = historical_tail_rank(returns.size, confidence)
    worst = np.sort(returns)[:k]
    return float(-worst[-1]), float(-np.mean(worst))


# ------------------------------------------------------------------------------------------ trade metrics
def profit_factor(pnl: FloatArray) -> float:
    """Gross profit / gross loss (inf with no losing trade, 0 with no trades or no profit and no loss)."""
    return ratio(float(np.sum(pnl[pnl > 0])), float(-np.sum(pnl[pnl < 0])))


def win_rate(pnl: FloatArray) -> float:
    """Share of trades with pnl > 0 (breakeven trades count as non-wins); 0 with no trades."""
    return float(np.count_nonzero(pnl > 0) / pnl.size) if pnl.size else 0.0


def expectancy(pnl: FloatArray) -> float:
    """Mean pnl per trade in the quote currency; 0 with no trades."""
    return float(np.mean(pnl)) if pnl.size else 0.0


def sqn(trade_returns: FloatArray) -> float:
    """Van Tharp's System Quality Number sqrt(n) * mean(R) / std(R, ddof=1), with R the trade's return (see
    docs/metrics.md); 0 with fewer than 2 trades."""
    n = trade_returns.size
    if n < 2:
        return 0.0
    mean = float(np.mean(trade_returns))
    return math.sqrt(n) * ratio(mean, _std_or_zero(trade_returns, mean))


def kelly(trade_returns: FloatArray) -> float:
    """Kelly fraction W - (1 - W) / R: W the win rate, R the mean winning over the mean losing return (in
    magnitude). W with no losing trade; -inf with trades but no winner; 0 with no trades."""
    n = trade_returns.size
    if n == 0:
        return 0.0
    wins = trade_returns[trade_returns > 0]
    losses = trade_returns[trade_returns < 0]
    w = wins.size / n
    if losses.size == 0:
        return w
    if wins.size == 0:
        return -math.inf
    payoff = float(np.mean(wins)) / float(-np.mean(losses))
    return w - (1.0 - w) / payoff


def max_consecutive(pnl: FloatArray) -> tuple[int, int]:
    """Longest runs of winning (pnl > 0) and of losing (pnl < 0) trades; a breakeven trade ends both."""
    return _longest_run(pnl > 0), _longest_run(pnl < 0)


def _longest_run(flags: npt.NDArray[np.bool_]) -> int:
    if not flags.any():
        return 0
    padded = np.concatenate(([False], flags, [False])).astype(np.int8)
    edges = np.diff(padded)
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    return int(np.max(stops - starts))


def exposure(trades: Trades, start: int, end: int) -> float:
    """Fraction of [start, end] during which at least one trade was open (overlapping trades count once)."""
    span = end - start
    if len(trades) == 0 or span <= 0:
        return 0.0
    order = np.argsort(trades.entry_time, kind="stable")
    entry = np.clip(trades.entry_time[order], start, end)
    exit_ = np.clip(trades.exit_time[order], start, end)
    # Merge intervals: a trade starts a new block when it enters after every earlier trade has exited.
    reach = np.maximum.accumulate(exit_)
    new_block = np.ones(entry.size, dtype=bool)
    new_block[1:] = entry[1:] > reach[:-1]
    block = np.cumsum(new_block) - 1
    block_start = entry[new_block]
    block_end = np.zeros(block_start.size, dtype=np.int64)
    np.maximum.at(block_end, block, exit_)
    return float(np.sum(block_end - block_start) / span)


def buy_and_hold_return(prices: npt.ArrayLike) -> float:
    p = np.asarray(prices, dtype=np.float64)
    if p.ndim != 1 or p.size == 0 or not np.all(np.isfinite(p)) or p[0] <= 0:
        raise ValueError("benchmark prices must be a non-empty 1-D finite series starting above 0")
    return float(p[-1] / p[0] - 1.0)


# ------------------------------------------------------------------------------------------------ summary
def summarize(
    equity: npt.ArrayLike,
    trades: Trades | Iterable[Any] | None = None,
    *,
    timestamps: npt.ArrayLike | None = None,
    periods_per_year: float | None = None,
    risk_free: float = 0.0,
    benchmark: npt.ArrayLike | None = None,
    confidence: float = 0.95,
) -> dict[str, Metric]:
    """Every metric of docs/metrics.md in one flat dict (stable keys; JSON-ready with :func:`json_ready`)."""
    e = as_equity(equity)
    clock = Clock.of(e.size, timestamps, periods_per_year)
    ppy = clock.periods_per_year
    tr = trades if isinstance(trades, Trades) else Trades.from_records(trades or ())
    if timestamps is None and len(tr):  # trade times are period indices: put them on the synthetic clock
        tr = _rescaled(tr, clock.period_ns)
    r = period_returns(e)
    growth = cagr(e, clock.years)
    dd = max_drawdown(e)
    ts = clock.timestamps
    var, es = historical_var_es(r, confidence)
    wins, losses = max_consecutive(tr.pnl)
    bh = buy_and_hold_return(benchmark) if benchmark is not None else None
    total = total_return(e)
    durations = (tr.exit_time - tr.entry_time).astype(np.float64)
    return {
        "total_return": total,
        "cagr": growth,
        "volatility": annualized_volatility(r, ppy),
        "sharpe": sharpe(r, ppy, risk_free),
        "sortino": sortino(r, ppy, risk_free),
        "calmar": calmar(growth, dd.depth),
        "max_drawdown": dd.depth,
        "max_drawdown_periods": dd.periods,
        "max_drawdown_seconds": float(ts[dd.end] - ts[dd.peak]) / NS_PER_SECOND,
        "max_drawdown_recovered": int(dd.recovered),
        "longest_drawdown_periods": longest_drawdown(e),
        "trades": len(tr),
        "win_rate": win_rate(tr.pnl),
        "profit_factor": profit_factor(tr.pnl),
        "expectancy": expectancy(tr.pnl),
        "avg_trade_return": float(np.mean(tr.ret)) if len(tr) else 0.0,
        "best_trade_return": float(np.max(tr.ret)) if len(tr) else 0.0,
        "worst_trade_return": float(np.min(tr.ret)) if len(tr) else 0.0,
        "avg_trade_seconds": float(np.mean(durations)) / NS_PER_SECOND if len(tr) else 0.0,
        "exposure": exposure(tr, int(ts[0]), int(ts[-1])),
        "total_fees": float(np.sum(tr.fees)),
        "sqn": sqn(tr.ret),
        "kelly": kelly(tr.ret),
        "max_consecutive_wins": wins,
        "max_consecutive_losses": losses,
        "buy_and_hold_return": bh,
        "excess_return": None if bh is None else total - bh,
        "var": var,
        "es": es,
        "var_confidence": confidence,
        "periods_per_year": ppy,
    }


def _rescaled(tr: Trades, period_ns: float) -> Trades:
    def scale(t: IntArray) -> IntArray:
        return np.round(t.astype(np.float64) * period_ns).astype(np.int64)

    return Trades(
        scale(tr.entry_time), scale(tr.exit_time), tr.entry_price, tr.exit_price, tr.quantity, tr.side, tr.pnl,
        tr.ret, tr.fees,
    )  # fmt: skip


def json_ready(metrics: Mapping[str, Metric]) -> dict[str, Metric | str]:
    """Infinite values as the strings "inf" / "-inf" (JSON has no infinity); everything else unchanged."""
    out: dict[str, Metric | str] = {}
    for key, value in metrics.items():
        if isinstance(value, float) and math.isinf(value):
            out[key] = "inf" if value > 0 else "-inf"
        else:
            out[key] = value
    return out
