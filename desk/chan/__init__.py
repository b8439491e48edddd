"""Chan-theory (缠论) structure: inclusion, fractals, pens, segments and MACD-area divergence.

Pure Python + numpy, no UI. ``analyze(bars)`` for a batch; ``ChanAnalyzer().update(bar)`` for a live series. The
rules, with sources, are in docs/chan.md.
"""

from desk.chan.analyzer import ChanAnalyzer, analyze
from desk.chan.config import PEN_MODES, ChanConfig, PenMode
from desk.chan.inputs import OHLC, BarArrays
from desk.chan.macd import MacdPreset, MacdStream, load_presets, preset
from desk.chan.model import ChanResult, ChanState, Divergence, Fractal, Pen, Segment

__all__ = [
    "OHLC",
    "PEN_MODES",
    "BarArrays",
    "ChanAnalyzer",
    "ChanConfig",
    "ChanResult",
    "ChanState",
    "Divergence",
    "Fractal",
    "MacdPreset",
    "MacdStream",
    "Pen",
    "PenMode",
    "Segment",
    "analyze",
    "load_presets",
    "preset",
]
