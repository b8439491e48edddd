"""MACD-area divergence (背驰, L24) between same-direction pens or segments.

A move's area is the sum of |histogram| of its own sign (positive bars for an up move, negative for a down move)
over its raw bars from the start extreme to the end extreme, both included. Move n is compared with move n - 2 (the
previous move in the same direction) only when it makes a new extreme (an up move ends higher, a down move lower);
it diverges when its area < ratio * the earlier area. Areas need every bar of both moves past the MACD warm-up.
Below segment level Chan calls this a force comparison (类背驰, L65) rather than a trend divergence.

Areas come from prefix sums appended bar by bar, so a streaming run and a batch run add the same floats in the same
order and agree exactly.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Literal

from desk.chan.model import Divergence, Fractal, Pen, Segment


class MacdTrack:
    """DIF and histogram per raw bar plus prefix sums of the positive and negative histogram parts."""

    __slots__ = ("dif", "hist", "neg_cum", "pos_cum", "warmup")

    def __init__(self, warmup: int, dif: list[float], hist: list[float]) -> None:
        self.warmup = warmup
        self.dif = dif
        self.hist = hist
        self.pos_cum = list(itertools.accumulate(h if h > 0.0 else 0.0 for h in hist))
        self.neg_cum = list(itertools.accumulate(-h if h < 0.0 else 0.0 for h in hist))

    def append(self, dif: float, hist: float) -> None:
        self.dif.append(dif)
        self.hist.append(hist)
        pos = hist if hist > 0.0 else 0.0
        neg = -hist if hist < 0.0 else 0.0
        self.pos_cum.append(self.pos_cum[-1] + pos if self.pos_cum else pos)
        self.neg_cum.append(self.neg_cum[-1] + neg if self.neg_cum else neg)

    def stats(self, up: bool, a: int, b: int) -> tuple[float, float, float] | None:
        """(area, peak |hist| of the move's sign, peak |DIF|) over raw bars a..b, or None inside the warm-up."""
        if a < self.warmup:
            return None
        cum = self.pos_cum if up else self.neg_cum
        area = cum[b] - (cum[a - 1] if a > 0 else 0.0)
        span = self.hist[a : b + 1]
        peak = max(span) if up else -min(span)
        difs = self.dif[a : b + 1]
        return area, max(peak, 0.0), max(max(difs), -min(difs))


def compare(
    level: Literal["pen", "segment"],
    earlier: int,
    later: int,
    first: tuple[Fractal, Fractal, bool],
    second: tuple[Fractal, Fractal, bool],
    track: MacdTrack,
    ratio: float,
) -> Divergence | None:
    """The divergence of move ``later`` against move ``earlier`` (each given as start, end, confirmed), if any."""
    s1, e1, c1 = first
    s2, e2, c2 = second
    up = s2.kind == "bottom"
    if not (e2.price > e1.price if up else e2.price < e1.price):
        return None
    st1 = track.stats(up, s1.index, e1.index)
    st2 = track.stats(up, s2.index, e2.index)
    if st1 is None or st2 is None or not st2[0] < ratio * st1[0] or math.isnan(st1[0]):
        return None
    return Divergence(
        level, "up" if up else "down", earlier, later, st1[0], st2[0], st1[1], st2[1], st1[2], st2[2], c1 and c2
    )


def pen_divergence(pens: Sequence[Pen], n: int, track: MacdTrack, ratio: float) -> Divergence | None:
    a, b = pens[n - 2], pens[n]
    return compare("pen", n - 2, n, (a.start, a.end, a.confirmed), (b.start, b.end, b.confirmed), track, ratio)


def segment_divergence(segs: Sequence[Segment], n: int, track: MacdTrack, ratio: float) -> Divergence | None:
    a, b = segs[n - 2], segs[n]
    return compare("segment", n - 2, n, (a.start, a.end, a.confirmed), (b.start, b.end, b.confirmed), track, ratio)
