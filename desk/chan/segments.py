"""Segments (线段) from pens by the feature sequence (特征序列), L65/L67/L71/L77/L78; rules in docs/chan.md §4.

Worked in "up coordinates": a down segment is scanned as an up segment of negated prices, so one code path serves
both. For an up segment starting at pen ``j``:
- feature elements are its down pens j+1, j+3, ... as [low, high], merged by inclusion upwards ([max low, max
  high]); an element with a strictly higher high than the previous element is never merged into it (L71: elements 1
  and 2 of a turn are not merged) and is marked as a rise;
- a top fractal: a rise element followed by a down-step element (lower high and lower low). The segment's end is the
  end of the up pen leading into the rise element (the peak);
- no gap (the first pen of element 2 reaches back to element 1's high): the segment ends there (case 1);
- gap: the up pens after the peak form the second feature sequence, merged fully by inclusion (downwards, the new
  segment's direction); a bottom fractal in it before any up pen ends above the peak ends the segment (case 2); an
  up pen above the peak first cancels the turn and the segment goes on (L78: A + B + C is one segment).
The next segment starts at the pen after the peak, in the other direction. The first segment starts at the first pen
whose three pens overlap (L65). A segment is confirmed when every pen its end was decided on is confirmed; only then
does the streaming analyzer stop rescanning it.
"""

from __future__ import annotations

from collections.abc import Sequence

from desk.chan.model import Pen, Segment


class _SecondSequence:
    """The reverse feature sequence after a gap: full inclusion (downwards), looking for a bottom fractal."""

    __slots__ = ("down", "hi", "lo")

    def __init__(self) -> None:
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.down: list[bool] = []

    def add(self, lo: float, hi: float) -> bool:
        """Add an element; True when it completes a bottom fractal."""
        if not self.hi:
            self.lo.append(lo)
            self.hi.append(hi)
            self.down.append(False)
            return False
        lh, ll = self.hi[-1], self.lo[-1]
        if (hi <= lh and lo >= ll) or (hi >= lh and lo <= ll):
            self.hi[-1] = min(lh, hi)
            self.lo[-1] = min(ll, lo)
            return False
        if hi > lh and len(self.hi) >= 2 and self.down[-1]:
            return True
        self.lo.append(lo)
        self.hi.append(hi)
        self.down.append(hi < lh)
        return False


def _find_end(pens: Sequence[Pen], j: int, s: float) -> tuple[int, int, str] | None:
    """(peak pen, pen the decision was made on, "no_gap"|"gap") for the segment starting at pen ``j``, or None."""
    seq_lo: list[float] = []
    seq_hi: list[float] = []
    seq_pen: list[int] = []
    seq_rise: list[bool] = []
    seq_first_lo: list[float] = []
    second: _SecondSequence | None = None
    peak_high = 0.0
    peak_pen = 0
    for i in range(j + 1, len(pens)):
        p = pens[i]
        a = s * p.start.price
        b = s * p.end.price
        if (i - j) % 2 == 0:  # a pen in the segment's direction: a = its low, b = its high
            if second is not None:
                if b > peak_high:
                    second = None
                elif second.add(a, b):
                    return peak_pen, i, "gap"
            continue
        hi, lo = a, b  # a feature element
        if not seq_hi:
            seq_lo.append(lo)
            seq_hi.append(hi)
            seq_pen.append(i)
            seq_rise.append(False)
            seq_first_lo.append(lo)
            continue
        lh, ll = seq_hi[-1], seq_lo[-1]
        if hi > lh:
            rise = True
        elif lo >= ll or hi == lh:
            if lo > ll:
                seq_lo[-1] = lo
            continue
        else:
            rise = False
            if seq_rise[-1] and second is None:
                peak = seq_pen[-1] - 1
                if seq_hi[-2] >= seq_first_lo[-1]:
                    return peak, i, "no_gap"
                second = _SecondSequence()
                peak_high, peak_pen = lh, peak
                for u in range(peak + 2, i, 2):
                    q = pens[u]
                    if second.add(s * q.start.price, s * q.end.price):
                        return peak, i, "gap"
        seq_lo.append(lo)
        seq_hi.append(hi)
        seq_pen.append(i)
        seq_rise.append(rise)
        seq_first_lo.append(lo)
    return None


def _overlap3(pens: Sequence[Pen], j: int) -> bool:
    return max(pens[j].low, pens[j + 1].low, pens[j + 2].low) <= min(pens[j].high, pens[j + 1].high, pens[j + 2].high)


def scan(pens: Sequence[Pen], start: int | None = None, sign: float = 1.0) -> list[Segment]:
    """Segments from pen ``start`` (direction ``sign``: +1 up, -1 down) or, with None, from the first valid start.

    Pens before ``len(pens) - 1`` are confirmed (only the last pen can still change).
    """
    n = len(pens)
    out: list[Segment] = []
    if start is None:
        j = next((k for k in range(n - 2) if _overlap3(pens, k)), -1)
        if j < 0:
            return out
        s = 1.0 if pens[j].direction == "up" else -1.0
    else:
        j, s = start, sign
    last_sure = n - 2
    confirmed = True
    while j + 2 < n:
        found = _find_end(pens, j, s)
        if found is None:
            k = max(range(j + 2, n, 2), key=lambda u: (s * pens[u].end.price, -u))
            out.append(Segment(pens[j].start, pens[k].end, j, k, "open", False))
            break
        k, decided, case = found
        confirmed = confirmed and decided <= last_sure
        out.append(Segment(pens[j].start, pens[k].end, j, k, "gap" if case == "gap" else "no_gap", confirmed))
        j, s = k + 1, -s
    return out
