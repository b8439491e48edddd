"""Segments by the feature sequence (docs/chan.md §4) and MACD-area divergence (§5) on hand-built pens."""

from __future__ import annotations

import itertools
import math

from desk.chan.divergence import MacdTrack, pen_divergence
from desk.chan.model import Fractal, Pen
from desk.chan.segments import scan


def pens_through(points: list[float], confirmed_all: bool = False) -> list[Pen]:
    """Pens joining consecutive turning points; all but the last confirmed (as the analyzer reports them)."""
    fr = []
    for k, price in enumerate(points):
        up_next = k + 1 < len(points) and points[k + 1] > price
        up_prev = k > 0 and points[k - 1] < price
        kind = "bottom" if (up_next if k + 1 < len(points) else not up_prev) else "top"
        fr.append(Fractal(kind, 10 * k, 600 * k, price, 5 * k, price, price, price, price))  # type: ignore[arg-type]
    n = len(points) - 1
    return [Pen(fr[k], fr[k + 1], confirmed_all or k < n - 1) for k in range(n)]


def summary(points: list[float]) -> list[tuple[str, float, float, int, int, str, bool]]:
    return [
        (s.direction, s.start.price, s.end.price, s.first_pen, s.last_pen, s.end_case, s.confirmed)
        for s in scan(pens_through(points))
    ]


def test_case_1_no_gap_feature_fractal_ends_the_segment() -> None:
    # Up from 5. Feature elements (down pens): X1=[8,12], X2=[10,15] (rise), X3=[7,13] (lower high and low) -> top.
    # X1's high 12 >= X2's low 10: no gap -> the segment ends at 15, decided on pen 5, which is confirmed.
    segs = summary([5, 12, 8, 15, 10, 13, 7, 9])
    assert segs[0] == ("up", 5, 15, 0, 2, "no_gap", True)
    # The rest is the next (down) segment from 15, not ended yet: its extreme so far is 7.
    assert segs[1] == ("down", 15, 7, 3, 5, "open", False)


def test_case_1_decided_on_the_unconfirmed_last_pen_is_not_confirmed() -> None:
    assert summary([5, 12, 8, 15, 10, 13, 7])[0] == ("up", 5, 15, 0, 2, "no_gap", False)


def test_case_2_gap_needs_a_fractal_in_the_second_feature_sequence() -> None:
    # X1=[8,10], X2=[11,15]: 10 < 11 is a gap. X3=[9,12] makes the top. The second sequence is the up pens after
    # 15: [11,12], [9,10.5] (down-step), [9.5,11] (up-step) -> bottom fractal -> the segment ends at 15.
    pts = [5, 10, 8, 15, 11, 12, 9, 10.5, 9.5, 11, 10]
    assert summary(pts)[0] == ("up", 5, 15, 0, 2, "gap", True)
    # Without the up-step the second sequence has no fractal yet: the segment stays open at 15.
    assert summary(pts[:9])[0] == ("up", 5, 15, 0, 2, "open", False)


def test_case_2_new_high_first_continues_the_segment() -> None:
    # Same gap top at 15, but the next up pen reaches 16 before any bottom fractal: A + B + C is one segment. It
    # ends at 16 when X=[11.5,16] is followed by [10,14]; 12 >= 11.5 is no gap.
    segs = summary([5, 10, 8, 15, 11, 12, 9, 16, 11.5, 14, 10, 12])
    assert segs[0] == ("up", 5, 16, 0, 6, "no_gap", True)


def test_feature_elements_included_in_element_2_are_merged_before_the_fractal() -> None:
    # X2=[10,15]; [11,14] lies inside it -> merged (upwards: [11,15]), no fractal yet; [7,13] then makes the top.
    pts = [5, 12, 8, 15, 10, 14, 11, 13, 7, 9]
    assert summary(pts[:8])[0][5] == "open"
    assert summary(pts)[0] == ("up", 5, 15, 0, 2, "no_gap", True)


def test_elements_1_and_2_are_never_merged() -> None:
    # X1=[8,12]; X2=[7,15] contains X1 but has the higher high: kept apart (L71), so X3=[6,13] makes a top at 15.
    # Merged, [8,15] would have no element before it and no fractal.
    assert summary([5, 12, 8, 15, 7, 13, 6, 8])[0] == ("up", 5, 15, 0, 2, "no_gap", True)


def test_down_segment_mirrors_up() -> None:
    pts = [-p for p in [5, 12, 8, 15, 10, 13, 7, 9]]
    assert summary(pts)[0] == ("down", -5, -15, 0, 2, "no_gap", True)


def test_first_segment_starts_where_three_pens_overlap() -> None:
    # 10->20, 20->5, 5->8: 10 > 8, no common price. From pen 1: [5,20], [5,8], [6,8] overlap -> a down segment.
    segs = summary([10, 20, 5, 8, 6, 12, 7, 9])
    assert segs[0][0] == "down" and segs[0][3] == 1


def test_segments_chain_and_alternate() -> None:
    segs = scan(pens_through([5, 12, 8, 15, 10, 13, 7, 9, 4, 6, 5, 11, 8, 9]))
    for a, b in itertools.pairwise(segs):
        assert b.first_pen == a.last_pen + 1 and a.direction != b.direction and a.end == b.start
        assert (a.last_pen - a.first_pen) % 2 == 0 and a.last_pen - a.first_pen >= 2


# --- §5 divergence --------------------------------------------------------------------------------------------
def test_pen_area_divergence_by_hand() -> None:
    # Pens: up raw 0->4 (5 -> 10), down 4->6, up 6->10 (-> 11, a new high).
    a = Fractal("bottom", 0, 0, 5.0, 0, 6.0, 5.0, 7.0, 5.0)
    b = Fractal("top", 4, 4, 10.0, 4, 10.0, 9.0, 10.0, 8.0)
    c = Fractal("bottom", 6, 6, 8.0, 6, 9.0, 8.0, 9.5, 8.0)
    d = Fractal("top", 10, 10, 11.0, 10, 11.0, 10.0, 11.0, 9.0)
    pens = [Pen(a, b, True), Pen(b, c, True), Pen(c, d, False)]
    hist = [1.0, 2.0, 3.0, -1.0, 0.5, -1.0, -2.0, 0.5, 1.0, 0.5, 0.2]
    dif = [0.1, 0.5, 1.5, 0.2, -0.3, -0.8, -2.5, 0.0, 0.4, 0.9, 1.0]
    track = MacdTrack(0, dif, hist)
    div = pen_divergence(pens, 2, track, 1.0)
    assert div is not None
    assert math.isclose(div.earlier_area, 1 + 2 + 3 + 0.5)  # positive bars of raw 0..4
    assert math.isclose(div.later_area, 0.5 + 1 + 0.5 + 0.2)  # positive bars of raw 6..10
    assert (div.earlier_peak_hist, div.later_peak_hist) == (3.0, 1.0)
    assert (div.earlier_peak_dif, div.later_peak_dif) == (1.5, 2.5)  # |DIF| max over 6..10 includes -2.5 at 6
    assert div.direction == "up" and not div.confirmed
    # A ratio below 2.2/6.5 turns it off; a later end that is not a new high never compares.
    assert pen_divergence(pens, 2, track, 0.3) is None
    lower = Fractal("top", 10, 10, 9.5, 10, 9.5, 9.0, 9.5, 9.0)
    assert pen_divergence([pens[0], pens[1], Pen(c, lower, False)], 2, track, 1.0) is None
    # Inside the MACD warm-up nothing is compared.
    assert pen_divergence(pens, 2, MacdTrack(1, dif, hist), 1.0) is None
