"""Hand-built K-line sequences for every inclusion, fractal and pen rule in docs/chan.md (§1-§3).

Each expected value is worked out by hand from the rule, in the comment next to it.
"""

from __future__ import annotations

import numpy as np
import pytest

from desk.chan import OHLC, BarArrays, ChanAnalyzer, ChanConfig, ChanResult, analyze
from desk.chan.inclusion import process

NEW = ChanConfig(pen="new_3kline", strict_validation=True)
NEW_LOOSE = ChanConfig(pen="new_3kline", strict_validation=False)
TRAD = ChanConfig(pen="traditional", strict_validation=False)


def arrays(ranges: list[tuple[float, float]]) -> BarArrays:
    lo = np.array([r[0] for r in ranges], dtype=float)
    hi = np.array([r[1] for r in ranges], dtype=float)
    mid = (lo + hi) / 2
    return BarArrays(ts=np.arange(len(ranges)) * 60, open=mid, high=hi, low=lo, close=mid)


def both(ranges: list[tuple[float, float]], cfg: ChanConfig) -> ChanResult:
    """The batch result, after checking the streaming analyzer ends in the same state."""
    b = arrays(ranges)
    batch = analyze(b, cfg)
    an = ChanAnalyzer(cfg)
    for i in range(len(b)):
        state = an.update(OHLC(int(b.ts[i]), b.open[i], b.high[i], b.low[i], b.close[i]))
    if len(b):
        assert list(state.fractals) == list(batch.fractals)
        assert list(state.pens) == list(batch.pens)
        assert list(state.segments) == list(batch.segments)
    return batch


def merged(ranges: list[tuple[float, float]]) -> list[tuple[float, float, int, int]]:
    p = process([r[1] for r in ranges], [r[0] for r in ranges])
    return list(zip(p.low, p.high, p.lo_idx, p.hi_idx, strict=True))


# --- §1 inclusion ---------------------------------------------------------------------------------------------
def test_up_trend_merge_takes_higher_high_and_higher_low() -> None:
    # k1=[1,3] -> k2=[2,5] rises; k3=[3,4] inside k2 -> up merge [max L, max H] = [3,5]; low now from k3.
    assert merged([(1, 3), (2, 5), (3, 4)]) == [(1, 3, 0, 0), (3, 5, 2, 1)]


def test_down_trend_merge_takes_lower_high_and_lower_low() -> None:
    # k1=[4,8] -> k2=[2,6] falls; k3=[3,5] inside k2 -> down merge [min L, min H] = [2,5]; high now from k3.
    assert merged([(4, 8), (2, 6), (3, 5)]) == [(4, 8, 0, 0), (2, 5, 1, 2)]


def test_outer_bar_containing_the_last_is_merged_too() -> None:
    # Rising; k3=[1.5,6] contains k2=[2,5] -> up merge [max(2,1.5), max(5,6)] = [2,6]: high from k3, low stays k2.
    assert merged([(1, 3), (2, 5), (1.5, 6)]) == [(1, 3, 0, 0), (2, 6, 1, 2)]


def test_equal_high_counts_as_inclusion_and_the_later_bar_holds_the_tie() -> None:
    # k3=[3,5] has k2's high: closed intervals -> inclusion; up merge [3,5]; both highs are 5 -> later bar (2).
    assert merged([(1, 3), (2, 5), (3, 5)]) == [(1, 3, 0, 0), (3, 5, 2, 2)]
    # k3=[1,5] contains k2 with the same high: merged to [max(2,1), 5] = [2,5]; the high's holder is the later bar.
    assert merged([(1, 3), (2, 5), (1, 5)]) == [(1, 3, 0, 0), (2, 5, 1, 2)]


def test_chain_of_inclusions_compares_with_the_merged_bar_not_the_original() -> None:
    # Rising. k2=[2,6]; k3=[4,5] inside -> [4,6]; k4=[4.5,5.5] inside [4,6] -> [4.5,6].
    assert merged([(1, 3), (2, 6), (4, 5), (4.5, 5.5)]) == [(1, 3, 0, 0), (4.5, 6, 3, 1)]
    # Not transitive: k4=[3,5.5] lies inside the original k2=[2,6] but not inside the merged [4,6] -> a new bar.
    assert merged([(1, 3), (2, 6), (4, 5), (3, 5.5)]) == [(1, 3, 0, 0), (4, 6, 2, 1), (3, 5.5, 3, 3)]


def test_first_two_bars_merge_upwards() -> None:
    # No direction yet: up by convention. [1,5] then [2,4] inside -> [max 1,2 ; max 5,4] = [2,5].
    assert merged([(1, 5), (2, 4)]) == [(2, 5, 1, 0)]
    # A second bar containing the first: [2,4] then [1,5] -> [2,5], the high from bar 1, the low from bar 0.
    assert merged([(2, 4), (1, 5)]) == [(2, 5, 0, 1)]


def test_doji_inside_the_extreme_bar_follows_the_same_rule() -> None:
    # Rising; doji [4,4] inside k2=[2,5] -> up merge [4,5]: no special case for high == low.
    assert merged([(1, 3), (2, 5), (4, 4)]) == [(1, 3, 0, 0), (4, 5, 2, 1)]


def test_direction_comes_from_the_last_two_processed_bars() -> None:
    # [5,9] -> [3,7] falls; [4,6] inside -> down merge [3,6]; then [5,8] rises from [3,6]; [6,7] inside -> up [6,8].
    assert merged([(5, 9), (3, 7), (4, 6), (5, 8), (6, 7)]) == [(5, 9, 0, 0), (3, 6, 1, 2), (6, 8, 4, 3)]


# --- §2 fractals ----------------------------------------------------------------------------------------------
def test_top_and_bottom_on_processed_bars_at_the_extreme_raw_bar() -> None:
    # Raw bar 2 [3,4] is inside [2,5] (rising): merged, so the processed bars are [1,3] [3,5] [1.5,4] [0.5,2] [1,3].
    # Top at processed 1 (high 5 held by raw 1); bottom at processed 3 (low 0.5, raw 4).
    r = both([(1, 3), (2, 5), (3, 4), (1.5, 4), (0.5, 2), (1, 3)], NEW)
    assert [(f.kind, f.index, f.price, f.pidx) for f in r.fractals] == [("top", 1, 5.0, 1), ("bottom", 4, 0.5, 3)]
    assert r.fractals[0].ts == 60 and r.fractals[0].zone_low == 1.0  # min low of [1,3] [3,5] [1.5,4]
    assert r.fractals[1].zone_high == 4.0  # max high of [1.5,4] [0.5,2] [1,3]


def test_no_fractal_on_the_last_bar_and_none_from_merged_raw_bars() -> None:
    # Raw [1,3] [2,5] [3,4.5]: the third is inside the second -> one rising pair, no fractal.
    assert both([(1, 3), (2, 5), (3, 4.5)], NEW).fractals == ()
    # Top needs its right neighbour: [1,3] [2,5] alone -> nothing.
    assert both([(1, 3), (2, 5)], NEW).fractals == ()


# --- §3 pens --------------------------------------------------------------------------------------------------
# Top at processed 2 ([7,10], raw 2), bottom at processed 5 ([3,4]) with no inclusion: they share no processed bar
# but only 2 raw bars (3, 4) lie between the extremes.
BASE = [(5, 6), (6, 7), (7, 10), (6, 9), (5, 8), (3, 4), (4, 7), (5, 8)]
# The same with one extra raw bar [6.5,8.5] inside [6,9] (falling -> down merge [6,8.5]): now 3 raw bars between.
BASE_PLUS = [(5, 6), (6, 7), (7, 10), (6, 9), (6.5, 8.5), (5, 8), (3, 4), (4, 7), (5, 8)]


def test_new_pen_needs_three_raw_bars_between_the_extremes() -> None:
    assert both(BASE, NEW).pens == ()  # 2 raw bars between: rejected
    r = both(BASE_PLUS, NEW)
    assert [(p.direction, p.start.index, p.end.index, p.start.price, p.end.price) for p in r.pens] == [
        ("down", 2, 6, 10.0, 3.0)
    ]
    assert not r.pens[0].confirmed


def test_min_klines_between_turns_is_configurable() -> None:
    assert len(both(BASE, ChanConfig(min_klines_between_turns=2)).pens) == 1


def test_traditional_pen_needs_a_processed_bar_outside_both_fractals() -> None:
    # BASE_PLUS: processed indices 2 and 5 -> the fractals touch ([1,2,3] and [4,5,6]) -> traditional rejects.
    assert both(BASE_PLUS, TRAD).pens == ()
    # One more falling bar between them: processed 2 and 6 -> bar 4 is outside both -> a traditional pen.
    longer = [(5, 6), (6, 7), (7, 10), (6, 9), (5, 8), (4, 7), (3, 4), (4, 7), (5, 8)]
    assert [(p.start.pidx, p.end.pidx) for p in both(longer, TRAD).pens] == [(2, 6)]


def test_new_pen_rejects_fractals_sharing_a_processed_bar_even_with_enough_raw_bars() -> None:
    # Top [7,10] at processed 2; [5,8] at 3 absorbs [5.5,7.5] and [6,7] (down merges -> [5,7]); bottom [3,4] at
    # processed 4. Raw bars between the extremes: 3, 4, 5 (three) but the fractals share processed bar 3.
    seq = [(5, 6), (6, 7), (7, 10), (5, 8), (5.5, 7.5), (6, 7), (3, 4), (4, 7), (5, 8)]
    r = both(seq, NEW_LOOSE)
    assert [(f.kind, f.pidx) for f in r.fractals] == [("top", 2), ("bottom", 4)]
    assert r.pens == ()


def test_strict_validation_rejects_a_pen_overlapping_its_start_fractal() -> None:
    # As BASE_PLUS but the top's left neighbour is [2.5,9]: the bottom's low 3 is not below the top fractal's
    # lowest low 2.5, so the pen overlaps its start fractal: strict rejects, loose accepts.
    seq = [(2, 3), (2.5, 9), (7, 10), (6, 9), (6.5, 8.5), (5, 8), (3, 4), (4, 7), (5, 8)]
    assert both(seq, NEW).pens == ()
    assert len(both(seq, NEW_LOOSE).pens) == 1


def test_strict_validation_rejects_a_pen_overlapping_its_end_fractal() -> None:
    # The bottom's right neighbour reaches 10.5, above the top's 10: strict rejects, loose accepts.
    seq = [*BASE_PLUS[:7], (4, 10.5), (5, 11)]
    assert both(seq, NEW).pens == ()
    assert len(both(seq, NEW_LOOSE).pens) == 1


def test_top_bar_must_lie_partly_above_the_bottom_bar() -> None:
    # L77 and its mirror: top.high > bottom.high and top.low > bottom.low (middle bars not nested). Adjacent
    # fractals on processed bars can not violate it, so check the rule on fractals directly: a top [7,10] against
    # a bottom whose bar [6.5,11] reaches above it, and against a normal bottom bar [6.5,9].
    from desk.chan.model import Fractal
    from desk.chan.pens import PenRules

    top = Fractal("top", 2, 0, 10.0, 2, 10.0, 7.0, 10.0, 6.0)
    nested = Fractal("bottom", 9, 0, 6.5, 6, 11.0, 6.5, 12.0, 6.5)
    lower = Fractal("bottom", 9, 0, 6.5, 6, 9.0, 6.5, 9.5, 6.5)
    inside = Fractal("bottom", 9, 0, 7.5, 6, 9.0, 7.5, 9.5, 7.5)  # low 7.5 above the top's low 7
    rules = PenRules(3, 3, strict=False)
    assert rules.valid(top, lower)
    assert not rules.valid(top, nested)
    assert not rules.valid(top, inside)


# Top T2 (10), bottom B6 (3), a small top T8 too close to B6, then a lower bottom B10 (2).
EXTEND = [(5, 6), (6, 7), (7, 10), (6, 9), (5, 8), (4, 7), (3, 4), (4, 5.5), (4.5, 6), (3.5, 5), (2, 3), (3, 4)]


def test_pen_extends_to_a_more_extreme_fractal_of_its_end_kind() -> None:
    r = both(EXTEND, NEW)
    assert [(f.kind, f.price) for f in r.fractals] == [("top", 10.0), ("bottom", 3.0), ("top", 6.0), ("bottom", 2.0)]
    assert [(p.start.price, p.end.price, p.end.index) for p in r.pens] == [(10.0, 2.0, 10)]
    # Before the lower bottom arrives, the pen ends at 3.
    assert [(p.start.price, p.end.price) for p in both(EXTEND[:9], NEW).pens] == [(10.0, 3.0)]


def test_equal_extreme_keeps_the_first_fractal() -> None:
    seq = [*EXTEND[:10], (3, 3.5), (3.2, 4)]  # the second bottom only equals 3
    r = both(seq, NEW)
    assert [(p.end.price, p.end.index) for p in r.pens] == [(3.0, 6)]


def test_next_pen_confirms_the_previous_only_once_its_fractal_is_final() -> None:
    # EXTEND, then a rise to a top far enough from B10: [3,4] [4,5] [5,6] [6,8] [5,7] ...
    rise = [(4, 5), (5, 6), (6, 8), (5, 7)]
    r = both([*EXTEND, *rise], NEW)
    assert [(p.direction, p.confirmed) for p in r.pens] == [("down", False), ("up", False)]
    r = both([*EXTEND, *rise, (4, 6)], NEW)  # the top's right neighbour is final now
    assert [(p.direction, p.start.price, p.end.price, p.confirmed) for p in r.pens] == [
        ("down", 10.0, 2.0, True),
        ("up", 2.0, 8.0, False),
    ]


def test_first_pen_starts_from_the_most_extreme_candidate() -> None:
    # Bottom 4 (processed 2), top 6 too close, lower bottom 3 (processed 5): the earlier bottom is dropped.
    # Then a top far from both: the pen starts at 3, not at 4.
    seq = [(5, 7), (4.5, 6), (4, 5), (5, 6), (4.5, 5.5), (3, 4), (4, 5), (5, 6), (6, 7), (7, 9), (6, 8), (5, 7)]
    r = both(seq, NEW)
    assert [(f.kind, f.price) for f in r.fractals][:3] == [("bottom", 4.0), ("top", 6.0), ("bottom", 3.0)]
    assert [(p.start.price, p.end.price) for p in r.pens] == [(3.0, 9.0)]


@pytest.mark.parametrize("cfg", [NEW, TRAD])
def test_empty_and_tiny_inputs(cfg: ChanConfig) -> None:
    for n in range(4):
        r = both([(1 + i, 2 + i) for i in range(n)], cfg)
        assert r.bars == n and r.pens == () and r.segments == ()
