"""Inclusion (containment) processing of K-lines: the batch pass and the incremental one.

Rules (docs/chan.md, section 1):
- two bars are in inclusion when one's closed [low, high] lies inside the other's (equal edges count);
- the direction is that of the last two processed bars (up when the newer has the higher high; adjacent processed
  bars never have equal highs, since that would be inclusion); with a single processed bar it is up;
- up merges to [max lows, max highs], down to [min lows, min highs], one raw bar at a time;
- each processed bar remembers which raw bar holds its high and its low; on a tie the later raw bar wins.

Both passes run the same comparisons; the batch one is a tight loop over Python floats (no per-bar call).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Processed:
    """Processed bars as parallel lists: high, low, raw index of the high, raw index of the low, first raw index."""

    high: list[float]
    low: list[float]
    hi_idx: list[int]
    lo_idx: list[int]
    first: list[int]

    def __len__(self) -> int:
        return len(self.high)


def process(high: list[float], low: list[float]) -> Processed:
    out = Processed([], [], [], [], [])
    n = len(high)
    if n == 0:
        return out
    oh, ol, ohi, oli, ofi = out.high, out.low, out.hi_idx, out.lo_idx, out.first
    ch = high[0]
    cl = low[0]
    chi = cli = cfi = 0
    up = True
    for i in range(1, n):
        h = high[i]
        lo = low[i]
        if (h <= ch and lo >= cl) or (h >= ch and lo <= cl):
            if up:
                if h >= ch:
                    ch = h
                    chi = i
                if lo >= cl:
                    cl = lo
                    cli = i
            else:
                if h <= ch:
                    ch = h
                    chi = i
                if lo <= cl:
                    cl = lo
                    cli = i
        else:
            oh.append(ch)
            ol.append(cl)
            ohi.append(chi)
            oli.append(cli)
            ofi.append(cfi)
            up = h > ch
            ch = h
            cl = lo
            chi = cli = cfi = i
    oh.append(ch)
    ol.append(cl)
    ohi.append(chi)
    oli.append(cli)
    ofi.append(cfi)
    return out


class IncrementalProcessor:
    """The same rules one raw bar at a time; ``add`` says whether a new processed bar was started."""

    __slots__ = ("bars", "n_raw", "up")

    def __init__(self) -> None:
        self.bars = Processed([], [], [], [], [])
        self.n_raw = 0
        self.up = True

    def add(self, h: float, lo: float) -> bool:
        i = self.n_raw
        self.n_raw = i + 1
        b = self.bars
        if not b.high:
            b.high.append(h)
            b.low.append(lo)
            b.hi_idx.append(i)
            b.lo_idx.append(i)
            b.first.append(i)
            return True
        ch = b.high[-1]
        cl = b.low[-1]
        if (h <= ch and lo >= cl) or (h >= ch and lo <= cl):
            if self.up:
                if h >= ch:
                    b.high[-1] = h
                    b.hi_idx[-1] = i
                if lo >= cl:
                    b.low[-1] = lo
                    b.lo_idx[-1] = i
            else:
                if h <= ch:
                    b.high[-1] = h
                    b.hi_idx[-1] = i
                if lo <= cl:
                    b.low[-1] = lo
                    b.lo_idx[-1] = i
            return False
        self.up = h > ch
        b.high.append(h)
        b.low.append(lo)
        b.hi_idx.append(i)
        b.lo_idx.append(i)
        b.first.append(i)
        return True
