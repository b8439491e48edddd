"""Settings of one Chan analysis (frozen: a change of settings means a new analysis or ``set_macd``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

PenMode = Literal["new_3kline", "traditional"]
PEN_MODES: tuple[PenMode, ...] = ("new_3kline", "traditional")


@dataclass(frozen=True, slots=True)
class ChanConfig:
    """``pen``: ``new_3kline`` (Chan's new pen, L81) or ``traditional`` (old pen, L62/L77).

    ``strict_validation``: the end fractal's extreme must lie beyond the start fractal's whole three-bar zone and vice
    versa, so a pen never overlaps its own fractals. ``min_klines_between_turns``: raw bars strictly between the two
    extreme bars (3 = Chan's new-pen rule). ``macd``: preset name from config/chan.toml. ``divergence_ratio``: a
    later move diverges when its area < ratio * the earlier move's area.
    """

    pen: PenMode = "new_3kline"
    strict_validation: bool = True
    min_klines_between_turns: int = 3
    macd: str = "standard"
    divergence_ratio: float = 1.0

    def __post_init__(self) -> None:
        if self.pen not in PEN_MODES:
            raise ValueError(f"pen mode {self.pen!r} is not one of {', '.join(PEN_MODES)}")
        if isinstance(self.min_klines_between_turns, bool) or self.min_klines_between_turns < 0:
            raise ValueError(f"min_klines_between_turns {self.min_klines_between_turns!r} must be an integer >= 0")
        if not (math.isfinite(self.divergence_ratio) and self.divergence_ratio > 0):
            raise ValueError(f"divergence_ratio {self.divergence_ratio!r} must be a positive number")
