"""Terminal reports: the metrics table and equity/drawdown charts drawn with Unicode blocks (no plotting library).

Charts downsample the series to the terminal width by taking each column's last value (equity) or its worst
value (drawdown depth, so a deep, short dip stays visible; deeper is taller), then fill each column with eighth-blocks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from desk.backtest.result import BacktestResult

BLOCKS = " ▁▂▃▄▅▆▇█"
FloatArray = npt.NDArray[np.float64]

# (key, label, kind) in the order the table shows them; kind: pct (signed), pct0 (unsigned), num, int, sec, money
ROWS: tuple[tuple[str, str, str], ...] = (
    ("total_return", "Total return", "pct"),
    ("buy_and_hold_return", "Buy and hold", "pct"),
    ("cagr", "CAGR", "pct"),
    ("volatility", "Volatility (ann.)", "pct0"),
    ("sharpe", "Sharpe", "num"),
    ("sortino", "Sortino", "num"),
    ("calmar", "Calmar", "num"),
    ("max_drawdown", "Max drawdown", "pct0"),
    ("max_drawdown_seconds", "Max drawdown duration", "sec"),
    ("trades", "Trades", "int"),
    ("win_rate", "Win rate", "pct0"),
    ("profit_factor", "Profit factor", "num"),
    ("expectancy", "Expectancy", "money"),
    ("avg_trade_return", "Avg trade", "pct"),
    ("best_trade_return", "Best trade", "pct"),
    ("worst_trade_return", "Worst trade", "pct"),
    ("avg_trade_seconds", "Avg trade duration", "sec"),
    ("exposure", "Exposure", "pct0"),
    ("total_fees", "Fees", "money"),
    ("sqn", "SQN", "num"),
    ("kelly", "Kelly", "pct"),
    ("max_consecutive_wins", "Max consecutive wins", "int"),
    ("max_consecutive_losses", "Max consecutive losses", "int"),
    ("var", "VaR (per bar)", "pct0"),
    ("es", "ES (per bar)", "pct0"),
)


def fmt(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    v = float(value)
    if not np.isfinite(v):
        return "inf" if v > 0 else "-inf" if v < 0 else "nan"
    if kind == "pct":
        return f"{v * 100:+.2f}%"
    if kind == "pct0":
        return f"{v * 100:.2f}%"
    if kind == "int":
        return f"{int(v):d}"
    if kind == "sec":
        return duration(v)
    if kind == "money":
        return f"{v:,.2f}"
    return f"{v:.3f}"


def duration(seconds: float) -> str:
    s = round(seconds)
    days, s = divmod(s, 86_400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {s}s"


def downsample(values: FloatArray, width: int, how: str = "last") -> FloatArray:
    n = values.shape[0]
    if n <= width:
        return values
    edges = np.linspace(0, n, width + 1).astype(np.int64)
    if how == "max":
        return np.maximum.reduceat(values, edges[:-1])
    return values[edges[1:] - 1]


def chart(values: Sequence[float] | FloatArray, width: int = 72, height: int = 10, how: str = "last") -> list[str]:
    """Rows of a block chart (top row first), each prefixed with a y-axis label."""
    v = downsample(np.asarray(values, dtype=np.float64), width, how)
    if v.size == 0:
        return []
    lo, hi = float(np.min(v)), float(np.max(v))
    span = hi - lo if hi > lo else 1.0
    levels = np.rint((v - lo) / span * (height * 8 - 1)).astype(np.int64) + 1  # 1 .. height*8 eighths
    labels = [f"{hi - span * r / max(1, height - 1):>12,.2f}" for r in range(height)]
    rows = []
    for r in range(height):
        floor = (height - 1 - r) * 8
        cells = "".join(BLOCKS[min(8, max(0, int(x) - floor))] for x in levels)
        label = labels[r] if r in (0, height - 1, height // 2) else " " * 12
        rows.append(f"{label} │{cells}")
    return rows


def drawdown_series(equity: FloatArray) -> FloatArray:
    peak = np.maximum.accumulate(equity)
    return np.asarray(equity / peak - 1.0, dtype=np.float64)


def metrics_table(metrics: Mapping[str, Any], title: str = "") -> Any:
    from rich.table import Table

    table = Table(title=title or None, title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for key, label, kind in ROWS:
        if key in metrics:
            table.add_row(label, fmt(metrics[key], kind))
    return table


def render(result: BacktestResult, width: int = 72) -> list[Any]:
    """Renderables for the console: header, metrics table, equity and drawdown charts, Monte Carlo bands."""
    from rich.text import Text

    from desk.backtest.data import format_timeframe
    from desk.commands.event_format import iso_ns

    params = " ".join(f"{k}={v}" for k, v in result.params.items())
    head = (
        f"{result.strategy} on {result.symbol} {format_timeframe(result.timeframe_s)}, {result.bars:,} bars "
        f"({iso_ns(int(result.ts_ns[0]))[:16]} .. {iso_ns(int(result.ts_ns[-1]))[:16]}), {result.mode}; {params}"
    )
    out: list[Any] = [Text(head, style="bold"), metrics_table(result.metrics)]
    if result.gaps:
        out.append(Text(f"data: {result.gaps} gaps in the bars (the backtest runs across them)", style="yellow"))
    out.append(Text(f"\nEquity ({result.starting_value:,.2f} -> {float(result.equity[-1]):,.2f})", style="bold"))
    out.extend(Text(row) for row in chart(result.equity, width, 10))
    out.append(Text("Drawdown depth (%)", style="bold"))
    out.extend(Text(row) for row in chart(-drawdown_series(result.equity) * 100, width, 5, how="max"))
    mc = result.monte_carlo
    if mc and mc.get("n_trades"):
        fr, dd = mc["final_return"], mc["max_drawdown"]
        out.append(
            Text(
                f"\nMonte Carlo ({mc['n_sims']:,} resamples of {mc['n_trades']} trade returns): final return "
                f"5% {fr['p5'] * 100:+.1f}%  50% {fr['p50'] * 100:+.1f}%  95% {fr['p95'] * 100:+.1f}%; max drawdown "
                f"5% {dd['p5'] * 100:.1f}%  50% {dd['p50'] * 100:.1f}%  95% {dd['p95'] * 100:.1f}%; "
                f"risk of ruin ({mc['ruin_drawdown'] * 100:.0f}% drawdown) {mc['risk_of_ruin'] * 100:.1f}%"
            )
        )
    return out
