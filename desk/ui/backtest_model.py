"""The backtest screen's plain-Python side: the form's values, their validation, the run, and the result as rows.

No Textual here: the screen turns these rows and lines into widgets, and the tests check them without a terminal.
A run is ``desk.backtest.engine.run_backtest`` (the live desk on a historical clock), the same call as
``desk backtest``; the bars come from a CSV/parquet file or from the simulated market, generated on the spot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from desk.backtest.data import OHLCV, format_timeframe, load_ohlcv, parse_timeframe, simulated
from desk.backtest.engine import run_backtest
from desk.backtest.report import ROWS, drawdown_series, fmt
from desk.backtest.result import BacktestResult
from desk.errors import UserError
from desk.strategies.params import Param, ParamValue
from desk.strategies.registry import available, load

SOURCES = ("simulated", "file")
MAX_SIM_BARS = 200_000
MC_SIMS = 1_000
FloatArray = npt.NDArray[np.float64]


class Cancelled(Exception):
    """Raised from the progress callback to stop a run the user abandoned (the screen closed)."""


@dataclass
class BacktestSession:
    """The form's raw text and the last result: kept by the app, so reopening the screen shows them again."""

    strategy: str = "ma_crossover"
    source: str = "simulated"
    symbol: str = "BTC-USD"
    path: str = ""
    bars: str = "2000"
    timeframe: str = "1m"
    seed: str = "7"
    fees_bps: str = "0"
    slippage_bps: str = "0"
    params: dict[str, dict[str, str]] = field(default_factory=dict)  # strategy -> param -> raw text
    result: BacktestResult | None = None

    @classmethod
    def for_desk(cls, symbol: str, seed: int) -> BacktestSession:
        return cls(symbol=symbol, seed=str(seed))

    def param_text(self, strategy: str, param: Param) -> str:
        raw = self.params.get(strategy, {}).get(param.name)
        if raw is not None:
            return raw
        return str(param.default).lower() if param.type is bool else str(param.default)

    def set_param(self, strategy: str, name: str, text: str) -> None:
        self.params.setdefault(strategy, {})[name] = text


@dataclass(frozen=True, slots=True)
class BacktestRequest:
    """A validated form: everything ``run`` needs."""

    strategy: str
    params: dict[str, ParamValue]
    source: str
    symbol: str
    path: Path | None
    bars: int
    timeframe_s: int
    seed: int
    fees_bps: float
    slippage_bps: float
    mc_sims: int = MC_SIMS


def strategy_names() -> list[str]:
    return sorted(available())


def strategy_params(name: str) -> tuple[Param, ...]:
    return load(name).params


def _number(text: str, what: str, *, integer: bool, low: float, high: float | None = None) -> float:
    raw = text.strip()
    try:
        value = float(int(raw)) if integer else float(raw)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise UserError(f"{what} {text!r}: expected {kind}") from None
    if not np.isfinite(value) or value < low or (high is not None and value > high):
        bounds = f">= {low:g}" if high is None else f"in [{low:g}, {high:g}]"
        raise UserError(f"{what} {text!r}: expected a number {bounds}")
    return value


def parse_request(session: BacktestSession) -> BacktestRequest:
    """Validate the form; a ``UserError`` names the first bad field, its value and what was expected."""
    names = available()
    if session.strategy not in names:
        raise UserError(f"strategy {session.strategy!r}: expected one of {', '.join(sorted(names))}")
    declared = strategy_params(session.strategy)
    raw = {p.name: session.param_text(session.strategy, p) for p in declared}
    params = {p.name: p.parse(raw[p.name], session.strategy) for p in declared}
    if session.source not in SOURCES:
        raise UserError(f"data source {session.source!r}: expected one of {', '.join(SOURCES)}")
    symbol = session.symbol.strip().upper()
    path: Path | None = None
    if session.source == "file":
        if not session.path.strip():
            raise UserError("data file: expected the path of a CSV or parquet file of OHLCV bars")
        path = Path(session.path.strip()).expanduser()
        if not path.is_file():
            raise UserError(f"data file {str(path)!r}: no such file: expected a CSV or parquet file of OHLCV bars")
    elif "-" not in symbol:
        raise UserError(f"symbol {session.symbol!r}: expected a simulated-market symbol such as BTC-USD")
    timeframe_s = parse_timeframe(session.timeframe, "timeframe") if session.timeframe.strip() else 0
    if session.source == "simulated" and not timeframe_s:
        raise UserError("timeframe '': expected a bar length such as 1m or 5m")
    bars = int(_number(session.bars, "bars", integer=True, low=2, high=MAX_SIM_BARS))
    seed = int(_number(session.seed, "seed", integer=True, low=0))
    fees = _number(session.fees_bps, "fees (bps)", integer=False, low=0, high=1_000)
    slippage = _number(session.slippage_bps, "slippage (bps)", integer=False, low=0, high=1_000)
    return BacktestRequest(
        session.strategy, params, session.source, symbol, path, bars, timeframe_s, seed, fees, slippage
    )


def load_data(req: BacktestRequest) -> OHLCV:
    """The request's bars: simulated on the spot, or read from the file (resampled when a timeframe is given)."""
    if req.source == "simulated":
        return simulated(req.symbol, req.bars, seed=req.seed, timeframe_s=req.timeframe_s)
    assert req.path is not None
    data = load_ohlcv(req.path, symbol=req.symbol or None)
    if req.timeframe_s and req.timeframe_s != data.timeframe_s:
        from desk.backtest.data import resample_ohlcv

        data = resample_ohlcv(data, req.timeframe_s)
    return data


def run(req: BacktestRequest, progress: Callable[[int, int], None] | None = None) -> BacktestResult:
    """Load the bars and run the backtest (event-driven, the live desk on the bars' clock). Blocking: call it from
    a worker thread."""
    data = load_data(req)
    return run_backtest(
        req.strategy,
        data,
        req.params,
        fees_bps=req.fees_bps,
        slippage_bps=req.slippage_bps,
        monte_carlo=req.mc_sims,
        seed=req.seed,
        progress=progress,
    )


# --- the result as rows ------------------------------------------------------------------------------------
def summary(result: BacktestResult) -> str:
    from desk.commands.event_format import iso_ns

    params = " ".join(f"{k}={v}" for k, v in result.params.items())
    return (
        f"{result.strategy} on {result.symbol} {format_timeframe(result.timeframe_s)}, {result.bars:,} bars "
        f"({iso_ns(int(result.ts_ns[0]))[:16]} .. {iso_ns(int(result.ts_ns[-1]))[:16]}), {result.mode}, "
        f"{result.elapsed_s:.2f}s; {params}"
    )


def metric_rows(result: BacktestResult) -> list[tuple[str, str]]:
    """(label, value) in the order of the terminal report, after the start and final equity."""
    rows = [
        ("Starting equity", f"{result.starting_value:,.2f}"),
        ("Final equity", f"{float(result.equity[-1]):,.2f}"),
    ]
    rows += [(label, fmt(result.metrics[key], kind)) for key, label, kind in ROWS if key in result.metrics]
    if result.open_at_end:
        rows.append(("Open at end", "yes (marked at the last close)"))
    return rows


TRADE_COLUMNS = ("#", "side", "entry time", "exit time", "qty", "entry", "exit", "P&L", "return", "fees")


def trade_rows(result: BacktestResult) -> list[tuple[str, ...]]:
    from desk.commands.event_format import iso_ns

    t = result.trades
    inst = result.instrument
    out: list[tuple[str, ...]] = []
    for i in range(len(t)):
        out.append(
            (
                str(i + 1),
                "long" if t.side[i] > 0 else "short",
                iso_ns(int(t.entry_time[i]))[:19],
                iso_ns(int(t.exit_time[i]))[:19],
                f"{t.quantity[i]:.{inst.size_decimals}f}",
                f"{t.entry_price[i]:.{inst.price_decimals}f}",
                f"{t.exit_price[i]:.{inst.price_decimals}f}",
                f"{t.pnl[i]:,.2f}",
                f"{t.ret[i] * 100:+.2f}%",
                f"{t.fees[i]:,.2f}",
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class MonteCarloPaths:
    """Percentile bands of the equity multiple after each resampled trade (index 0 is the start, 1.0)."""

    p5: FloatArray
    p50: FloatArray
    p95: FloatArray
    n_sims: int


def monte_carlo_paths(trade_returns: npt.ArrayLike, n_sims: int = MC_SIMS, seed: int = 0) -> MonteCarloPaths:
    """The 5/50/95% equity paths of ``n_sims`` bootstrap orderings of the trade returns.

    Draws the same picks as ``desk.backtest.montecarlo.resample_trades`` (one ``integers`` call of shape
    ``(n_sims, n_trades)`` from ``default_rng(seed)``: one batch, which holds while ``n_sims * n_trades`` stays
    under its 2M-element batch), so the last point's bands are the report's final-return bands plus one.
    """
    r = np.asarray(trade_returns, dtype=np.float64)
    if r.size == 0:
        one = np.ones(1)
        return MonteCarloPaths(one, one, one, n_sims)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, r.size, size=(n_sims, r.size))
    equity = np.cumprod(np.maximum(1.0 + r, 0.0)[picks], axis=1)
    p5, p50, p95 = np.percentile(equity, [5.0, 50.0, 95.0], axis=0)
    start = np.ones(1)
    return MonteCarloPaths(np.r_[start, p5], np.r_[start, p50], np.r_[start, p95], n_sims)


def monte_carlo_rows(result: BacktestResult) -> list[tuple[str, str, str, str]]:
    """(measure, 5%, 50%, 95%) of the report's Monte Carlo bands, plus the risk of ruin."""
    mc = result.monte_carlo
    if not mc or not mc.get("n_trades"):
        return []
    fr, dd = mc["final_return"], mc["max_drawdown"]
    return [
        ("final return", f"{fr['p5'] * 100:+.2f}%", f"{fr['p50'] * 100:+.2f}%", f"{fr['p95'] * 100:+.2f}%"),
        ("max drawdown", f"{dd['p5'] * 100:.2f}%", f"{dd['p50'] * 100:.2f}%", f"{dd['p95'] * 100:.2f}%"),
        (f"risk of ruin ({mc['ruin_drawdown'] * 100:.0f}% drawdown)", "", f"{mc['risk_of_ruin'] * 100:.1f}%", ""),
    ]


def drawdown_percent(result: BacktestResult) -> FloatArray:
    """Drawdown depth in percent (positive, deeper is larger), for the drawdown chart."""
    return np.asarray(-drawdown_series(result.equity) * 100.0, dtype=np.float64)


def form_values(session: BacktestSession) -> Mapping[str, str]:
    """The non-parameter fields by name (what the screen's inputs show)."""
    return {
        "symbol": session.symbol,
        "path": session.path,
        "bars": session.bars,
        "timeframe": session.timeframe,
        "seed": session.seed,
        "fees_bps": session.fees_bps,
        "slippage_bps": session.slippage_bps,
    }
