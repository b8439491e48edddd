"""What a backtest produces, whichever path ran it: fills, round-trip trades, the equity curve and the metrics.

Trades are round trips: a trade opens when the position leaves zero and closes when it returns to zero (a fill
that flips the position closes one trade and opens the next with the remainder, its fee split pro rata). A
position still open at the end is valued at the last close without an exit fee and counted as a trade
(``open_at_end``), as vectorbt counts open trades; its return is then a mark, not a realised result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from desk.backtest.metrics import Trades
from desk.domain.instruments import Instrument

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class FillRecord(msgspec.Struct, frozen=True, gc=False):
    """One fill in a backtest: ``side`` +1 buy / -1 sell, price in ticks, quantity in lots, fee in quote.

    A frozen ``msgspec.Struct`` (like ``Fill``): created once per fill, much cheaper than a frozen dataclass."""

    ts_ns: int
    side: int
    lots: int
    price: int
    fee: float
    liquidity: str = "taker"


def round_trips(
    fills: Sequence[FillRecord], instrument: Instrument, final_mark: int, final_ts: int
) -> tuple[Trades, bool]:
    """Round-trip trades from fills in order; the second value says whether the last one is still open."""
    k = float(instrument.tick_size) * float(instrument.lot_size)
    rows: list[tuple[int, int, float, float, float, int, float, float, float]] = []
    pos = 0
    side = 0
    entry_time = 0
    entry_value = 0  # sum of ticks * lots entered
    entry_lots = 0
    exit_value = 0
    fees = 0.0

    def close(exit_time: int) -> None:
        gross = side * (exit_value - entry_value) * k
        pnl = gross - fees
        notional = entry_value * k
        rows.append(
            (
                entry_time,
                exit_time,
                entry_value / entry_lots * float(instrument.tick_size),
                exit_value / entry_lots * float(instrument.tick_size),
                entry_lots * float(instrument.lot_size),
                side,
                pnl,
                pnl / notional if notional else 0.0,
                fees,
            )
        )

    for f in fills:
        if pos == 0:
            side, entry_time, entry_value, entry_lots, exit_value, fees = (
                f.side,
                f.ts_ns,
                f.price * f.lots,
                f.lots,
                0,
                f.fee,
            )
            pos = f.side * f.lots
            continue
        if (pos > 0) == (f.side > 0):
            entry_value += f.price * f.lots
            entry_lots += f.lots
            fees += f.fee
            pos += f.side * f.lots
            continue
        closing = min(f.lots, abs(pos))
        share = closing / f.lots
        exit_value += f.price * closing
        fees += f.fee * share
        pos += f.side * closing
        if pos == 0:
            close(f.ts_ns)
            rest = f.lots - closing
            if rest:
                side, entry_time, entry_value, entry_lots, exit_value = f.side, f.ts_ns, f.price * rest, rest, 0
                fees = f.fee * (1.0 - share)
                pos = f.side * rest
    open_at_end = pos != 0
    if open_at_end:
        exit_value += final_mark * abs(pos)
        close(max(final_ts, entry_time))
    if not rows:
        return Trades.empty(), False
    cols = list(zip(*rows, strict=True))
    trades = Trades(
        np.asarray(cols[0], dtype=np.int64),
        np.asarray(cols[1], dtype=np.int64),
        np.asarray(cols[2], dtype=np.float64),
        np.asarray(cols[3], dtype=np.float64),
        np.asarray(cols[4], dtype=np.float64),
        np.asarray(cols[5], dtype=np.int64),
        np.asarray(cols[6], dtype=np.float64),
        np.asarray(cols[7], dtype=np.float64),
        np.asarray(cols[8], dtype=np.float64),
    )
    return trades, open_at_end


@dataclass(slots=True)
class BacktestResult:
    strategy: str
    params: dict[str, Any]
    symbol: str
    instrument: Instrument
    timeframe_s: int
    mode: str  # "event" or "vectorised"
    starting_value: float
    ts_ns: IntArray  # equity timestamps: each bar's close
    equity: FloatArray
    close: FloatArray  # closes in quote currency (buy and hold, charts)
    fills: list[FillRecord]
    trades: Trades
    open_at_end: bool
    metrics: dict[str, Any] = field(default_factory=dict)
    monte_carlo: dict[str, Any] | None = None
    elapsed_s: float = 0.0
    gaps: int = 0

    @property
    def bars(self) -> int:
        return int(self.equity.shape[0])

    @property
    def final_return(self) -> float:
        return float(self.equity[-1] / self.starting_value - 1.0)

    def to_json(self) -> dict[str, Any]:
        """The shape of references/cli.md: strategy, params, metrics, monte_carlo (+ run details)."""
        return {
            "strategy": self.strategy,
            "params": self.params,
            "symbol": self.symbol,
            "timeframe_s": self.timeframe_s,
            "bars": self.bars,
            "mode": self.mode,
            "start": _iso(int(self.ts_ns[0])) if self.bars else None,
            "end": _iso(int(self.ts_ns[-1])) if self.bars else None,
            "starting_value": self.starting_value,
            "final_equity": float(self.equity[-1]) if self.bars else self.starting_value,
            "fills": len(self.fills),
            "open_at_end": self.open_at_end,
            "gaps": self.gaps,
            "metrics": _finite(self.metrics),
            "monte_carlo": self.monte_carlo,
        }

    def trades_frame(self) -> Any:
        """The trades as a polars frame (times as UTC datetimes)."""
        import polars as pl

        t = self.trades
        return pl.DataFrame(
            {
                "entry_time": pl.Series(t.entry_time).cast(pl.Datetime("ns", "UTC")),
                "exit_time": pl.Series(t.exit_time).cast(pl.Datetime("ns", "UTC")),
                "side": ["long" if s > 0 else "short" for s in t.side.tolist()],
                "quantity": t.quantity,
                "entry_price": t.entry_price,
                "exit_price": t.exit_price,
                "pnl": t.pnl,
                "return": t.ret,
                "fees": t.fees,
            }
        )

    def fills_frame(self) -> Any:
        import polars as pl

        inst = self.instrument
        return pl.DataFrame(
            {
                "ts": pl.Series([f.ts_ns for f in self.fills], dtype=pl.Int64).cast(pl.Datetime("ns", "UTC")),
                "side": ["buy" if f.side > 0 else "sell" for f in self.fills],
                "quantity": [inst.size_str(f.lots) for f in self.fills],
                "price": [inst.price_str(f.price) for f in self.fills],
                "fee": [f.fee for f in self.fills],
                "liquidity": [f.liquidity for f in self.fills],
            },
            schema={
                "ts": pl.Datetime("ns", "UTC"),
                "side": pl.String,
                "quantity": pl.String,
                "price": pl.String,
                "fee": pl.Float64,
                "liquidity": pl.String,
            },
        )

    def export(self, out_dir: Path, fmt: str = "csv") -> list[Path]:
        """trades, fills and the equity curve, one file each; ``fmt`` csv, parquet or both."""
        import polars as pl

        out_dir.mkdir(parents=True, exist_ok=True)
        frames = {
            "trades": self.trades_frame(),
            "fills": self.fills_frame(),
            "equity": pl.DataFrame({"ts": pl.Series(self.ts_ns).cast(pl.Datetime("ns", "UTC")), "equity": self.equity}),
        }
        written: list[Path] = []
        kinds = ("csv", "parquet") if fmt == "both" else (fmt,)
        for name, frame in frames.items():
            for kind in kinds:
                path = out_dir / f"{name}.{kind}"
                if kind == "csv":
                    frame.write_csv(path)
                else:
                    frame.write_parquet(path)
                written.append(path)
        return written


def _finite(metrics: dict[str, Any]) -> dict[str, Any]:
    """JSON has no infinity or NaN: +/-inf become "inf"/"-inf", NaN becomes null."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, float) and math.isinf(value):
            out[key] = "inf" if value > 0 else "-inf"
        elif isinstance(value, float) and math.isnan(value):
            out[key] = None
        else:
            out[key] = value
    return out


def _iso(ts_ns: int) -> str:
    from desk.commands.event_format import iso_ns

    return iso_ns(ts_ns)
