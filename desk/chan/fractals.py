"""Top and bottom fractals on processed bars (L62): vectorised for batch, one at a time for streaming.

Top at processed bar i: its high is strictly above both neighbours' highs and its low strictly above both
neighbours' lows; bottom is the mirror. After inclusion processing neighbours never tie, so tops and bottoms
alternate. A fractal at i is known as soon as bar i + 1 exists: later raw bars merged into bar i + 1 move it
further the same way (a top's right neighbour only merges downwards), so the kind never changes; only the zone
(min low / max high over the three bars) can still move until bar i + 2 starts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from desk.chan.inclusion import Processed
from desk.chan.model import Fractal


def make(p: Processed, i: int, ts: Sequence[int]) -> Fractal | None:
    """The fractal with middle processed bar ``i`` (needs bars i - 1 and i + 1), or None."""
    h, lo = p.high, p.low
    hm, lm = h[i], lo[i]
    if hm > h[i - 1] and hm > h[i + 1] and lm > lo[i - 1] and lm > lo[i + 1]:
        raw = p.hi_idx[i]
        return Fractal("top", raw, int(ts[raw]), hm, i, hm, lm, hm, min(lo[i - 1], lm, lo[i + 1]))
    if hm < h[i - 1] and hm < h[i + 1] and lm < lo[i - 1] and lm < lo[i + 1]:
        raw = p.lo_idx[i]
        return Fractal("bottom", raw, int(ts[raw]), lm, i, hm, lm, max(h[i - 1], hm, h[i + 1]), lm)
    return None


def detect(p: Processed, ts: Sequence[int]) -> list[Fractal]:
    """All fractals, in order, with the same values ``make`` gives."""
    n = len(p)
    if n < 3:
        return []
    h = np.asarray(p.high, dtype=np.float64)
    lo = np.asarray(p.low, dtype=np.float64)
    hm, lm = h[1:-1], lo[1:-1]
    hl, hr, ll, lr = h[:-2], h[2:], lo[:-2], lo[2:]
    top = (hm > hl) & (hm > hr) & (lm > ll) & (lm > lr)
    bot = (hm < hl) & (hm < hr) & (lm < ll) & (lm < lr)
    zone_low = np.minimum(np.minimum(ll, lm), lr)
    zone_high = np.maximum(np.maximum(hl, hm), hr)
    out: list[Fractal] = []
    hi_idx, lo_idx = p.hi_idx, p.lo_idx
    idx = np.flatnonzero(top | bot)
    is_top = top[idx].tolist()
    hs, ls = hm[idx].tolist(), lm[idx].tolist()
    zl, zh = zone_low[idx].tolist(), zone_high[idx].tolist()
    for k, t, hv, lv, zlo, zhi in zip(idx.tolist(), is_top, hs, ls, zl, zh, strict=True):
        i = k + 1
        if t:
            raw = hi_idx[i]
            out.append(Fractal("top", raw, int(ts[raw]), hv, i, hv, lv, hv, zlo))
        else:
            raw = lo_idx[i]
            out.append(Fractal("bottom", raw, int(ts[raw]), lv, i, hv, lv, zhi, lv))
    return out
