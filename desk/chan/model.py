"""Immutable results of the Chan analysis: fractals, pens, segments, divergences.

Every index is the raw-bar index in the caller's input; ``pidx`` is the index among the inclusion-processed bars
(kept because the pen rules count processed bars). Prices are floats in the input's unit: the CLI turns them back
into decimal strings on the instrument's grid.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, overload

FractalKind = Literal["top", "bottom"]
Direction = Literal["up", "down"]
EndCase = Literal["no_gap", "gap", "open"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Fractal:
    """A top or bottom on the processed bars; ``index``/``ts``/``price`` locate the raw bar holding the extreme.

    ``high``/``low`` are the middle processed bar's range; ``zone_high``/``zone_low`` span all three bars (the
    strict pen check compares the far fractal against them).
    """

    kind: FractalKind
    index: int
    ts: int
    price: float
    pidx: int
    high: float
    low: float
    zone_high: float
    zone_low: float

    def point(self) -> dict[str, Any]:
        return {"index": self.index, "ts": self.ts, "price": self.price}


@dataclass(frozen=True, slots=True)
class Pen:
    """A stroke from one fractal to the opposite one. Only the last pen can be unconfirmed (it may still extend)."""

    start: Fractal
    end: Fractal
    confirmed: bool

    @property
    def direction(self) -> Direction:
        return "up" if self.start.kind == "bottom" else "down"

    @property
    def high(self) -> float:
        return max(self.start.price, self.end.price)

    @property
    def low(self) -> float:
        return min(self.start.price, self.end.price)


@dataclass(frozen=True, slots=True)
class Segment:
    """Pens ``first_pen..last_pen`` (inclusive, an odd count >= 3) ending where the feature sequence turned.

    ``end_case`` says how the end was decided: ``no_gap`` (feature-sequence fractal, Chan's case 1), ``gap``
    (case 2, confirmed by the second feature sequence) or ``open`` (not ended yet: the end is the current extreme).
    """

    start: Fractal
    end: Fractal
    first_pen: int
    last_pen: int
    end_case: EndCase
    confirmed: bool

    @property
    def direction(self) -> Direction:
        return "up" if self.start.kind == "bottom" else "down"


@dataclass(frozen=True, slots=True)
class Divergence:
    """MACD-area divergence: the later same-direction move goes further with less histogram area.

    ``level`` is "pen" or "segment"; ``earlier``/``later`` index into the result's pens or segments.
    """

    level: Literal["pen", "segment"]
    direction: Direction
    earlier: int
    later: int
    earlier_area: float
    later_area: float
    earlier_peak_hist: float
    later_peak_hist: float
    earlier_peak_dif: float
    later_peak_dif: float
    confirmed: bool


class SeqView(Sequence[T]):
    """A read-only snapshot of an append-only list plus a short tail, in O(1).

    The streaming analyzer's confirmed items only ever get appended, so the first ``n`` of them never change; a
    snapshot can share the list instead of copying it on every bar.
    """

    __slots__ = ("_base", "_n", "_tail")

    def __init__(self, base: Sequence[T], n: int, tail: tuple[T, ...] = ()) -> None:
        self._base = base
        self._n = n
        self._tail = tail

    def __len__(self) -> int:
        return self._n + len(self._tail)

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[T]: ...
    def __getitem__(self, i: int | slice) -> T | Sequence[T]:
        if isinstance(i, slice):
            return tuple(self[k] for k in range(*i.indices(len(self))))
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        return self._base[i] if i < self._n else self._tail[i - self._n]

    def __iter__(self) -> Iterator[T]:
        for k in range(self._n):
            yield self._base[k]
        yield from self._tail

    def __repr__(self) -> str:
        return f"SeqView(len={len(self)})"


@dataclass(frozen=True, slots=True)
class ChanResult:
    """One analysis snapshot; the streaming ``ChanAnalyzer.update`` returns the same type (alias ``ChanState``)."""

    bars: int
    processed_bars: int
    fractals: Sequence[Fractal]
    pens: Sequence[Pen]
    segments: Sequence[Segment]
    pen_divergences: Sequence[Divergence]
    segment_divergences: Sequence[Divergence]
    macd_preset: str

    @property
    def divergences(self) -> list[Divergence]:
        return [*self.pen_divergences, *self.segment_divergences]


ChanState = ChanResult
