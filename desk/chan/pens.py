"""Pens (笔) from fractals: the validity rules and the one state machine batch and streaming share.

Rules (docs/chan.md, section 3). A pen joins an earlier fractal ``a`` to a later opposite fractal ``b`` when:
1. the top's middle bar is above the bottom's: top.high > bottom.high and top.low > bottom.low (L77);
2. ``new_3kline``: the fractals share no processed bar (b.pidx - a.pidx >= 3);
   ``traditional``: at least one processed bar lies outside both fractals (b.pidx - a.pidx >= 4);
3. at least ``min_klines_between_turns`` raw bars lie strictly between the two extreme raw bars (L81; implied by
   ``traditional`` for values up to 3);
4. ``strict_validation``: the top's high is above the highs of all three bars of the bottom fractal and the bottom's
   low below the lows of all three bars of the top fractal.

The machine: before the first pen, keep candidate fractals (a new fractal drops earlier ones of its kind that it
beats); a fractal that forms a valid pen with some opposite candidate starts the first pen from the most extreme
such candidate (ties: the earliest). Afterwards a fractal of the last pen's end kind that is strictly more extreme
extends the last pen (if the extended pen is valid); an opposite fractal that forms a valid pen with the last end
confirms the last pen and starts a new one; anything else is ignored. Only the last pen ever changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from desk.chan.config import ChanConfig
from desk.chan.model import Fractal, Pen


@dataclass(frozen=True, slots=True)
class PenRules:
    min_pidx_gap: int
    min_raw_between: int
    strict: bool

    @classmethod
    def from_config(cls, c: ChanConfig) -> PenRules:
        return cls(3 if c.pen == "new_3kline" else 4, c.min_klines_between_turns, c.strict_validation)

    def valid(self, a: Fractal, b: Fractal) -> bool:
        """Can ``a`` (earlier) and ``b`` (later, opposite kind) be the two ends of a pen?"""
        top, bot = (a, b) if a.kind == "top" else (b, a)
        if not (top.high > bot.high and top.low > bot.low):
            return False
        if b.pidx - a.pidx < self.min_pidx_gap or b.index - a.index - 1 < self.min_raw_between:
            return False
        return not self.strict or (top.high > bot.zone_high and bot.low < top.zone_low)


def beats(f: Fractal, g: Fractal) -> bool:
    """``f`` is strictly more extreme than ``g`` (same kind)."""
    return f.price > g.price if f.kind == "top" else f.price < g.price


Step = tuple[Pen | None, Pen | None, tuple[Fractal, ...]]


class PenBuilder:
    """Feed fractals in order; ``done`` holds the confirmed pens, ``last`` the unconfirmed one."""

    __slots__ = ("cands", "done", "last", "rules")

    def __init__(self, rules: PenRules) -> None:
        self.rules = rules
        self.done: list[Pen] = []
        self.last: Pen | None = None
        self.cands: tuple[Fractal, ...] = ()

    def step(self, f: Fractal, sure: bool = True) -> Step:
        """What feeding ``f`` would do: (pen it confirms, new last pen, new candidates). Pure.

        ``sure=False`` previews a fractal whose bars can still change: the pen it would close stays unconfirmed.
        """
        last = self.last
        valid = self.rules.valid
        if last is None:
            best: Fractal | None = None
            for c in self.cands:
                if c.kind != f.kind and valid(c, f) and (best is None or beats(c, best)):
                    best = c
            if best is not None:
                return None, Pen(best, f, False), ()
            keep = tuple(c for c in self.cands if c.kind != f.kind or not beats(f, c))
            return None, None, (*keep, f)
        end = last.end
        if f.kind == end.kind:
            if beats(f, end) and valid(last.start, f):
                return None, Pen(last.start, f, False), ()
            return None, last, ()
        if valid(end, f):
            return replace(last, confirmed=sure), Pen(end, f, False), ()
        return None, last, ()

    def feed(self, f: Fractal) -> bool:
        """Apply ``f``; True when the pens changed."""
        confirmed, last, cands = self.step(f)
        changed = confirmed is not None or last is not self.last
        if confirmed is not None:
            self.done.append(confirmed)
        self.last = last
        self.cands = cands
        return changed
