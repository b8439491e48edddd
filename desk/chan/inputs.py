"""Bar input for the analysis: numpy arrays or ``desk.domain.Bar`` objects (ticks, converted with the instrument)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from desk.domain.events import Bar
from desk.domain.instruments import Instrument


class OHLC(NamedTuple):
    """One bar for ``ChanAnalyzer.update`` when there is no ``Bar``/instrument: prices in any unit."""

    ts: int
    open: float
    high: float
    low: float
    close: float


@dataclass(frozen=True, slots=True)
class BarArrays:
    """Columns of equal length: ts (int64, any epoch unit) and float64 prices. Validated on construction."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.ts)
        for name in ("open", "high", "low", "close"):
            col = np.asarray(getattr(self, name), dtype=np.float64)
            if col.shape != (n,):
                raise ValueError(f"column {name} has shape {col.shape}, expected ({n},) like ts")
            bad = np.flatnonzero(~np.isfinite(col))
            if bad.size:
                raise ValueError(f"{name} at row {int(bad[0])} is {col[bad[0]]}, expected a finite number")
            object.__setattr__(self, name, col)
        object.__setattr__(self, "ts", np.asarray(self.ts, dtype=np.int64))
        bad = np.flatnonzero(self.high < self.low)
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"row {i}: high {self.high[i]} is below low {self.low[i]}")

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def from_arrays(
        cls, high: np.ndarray, low: np.ndarray, open: np.ndarray, close: np.ndarray, ts: np.ndarray
    ) -> BarArrays:
        return cls(ts=ts, open=open, high=high, low=low, close=close)

    @classmethod
    def from_bars(cls, bars: Sequence[Bar], instrument: Instrument) -> BarArrays:
        """Bars in ticks to prices: tick counts times the tick size (floats; exact for the grids desk uses)."""
        tick = float(instrument.tick_size)
        ticks = np.array([(b.open, b.high, b.low, b.close) for b in bars], dtype=np.float64).reshape(-1, 4) * tick
        ts = np.array([b.start_ns for b in bars], dtype=np.int64)
        return cls(ts=ts, open=ticks[:, 0], high=ticks[:, 1], low=ticks[:, 2], close=ticks[:, 3])


def bar_values(bar: Bar | OHLC, instrument: Instrument | None) -> tuple[int, float, float, float]:
    """(ts, high, low, close) of one bar, converting ticks with the instrument."""
    if isinstance(bar, Bar):
        if instrument is None:
            raise ValueError("a desk.domain.Bar is in ticks: give the analyzer its instrument")
        return (
            bar.start_ns,
            instrument.price_float(bar.high),
            instrument.price_float(bar.low),
            instrument.price_float(bar.close),
        )
    ts, _o, h, lo, c = bar
    if not (h >= lo):
        raise ValueError(f"bar at ts {ts}: high {h} is below low {lo}")
    return int(ts), float(h), float(lo), float(c)
