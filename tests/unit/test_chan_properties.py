"""Property tests on random bar sequences: structural invariants, streaming == batch, and confirmed means final."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.chan import OHLC, BarArrays, ChanAnalyzer, ChanConfig, ChanResult, analyze
from desk.chan.inclusion import process
from desk.domain.events import Bar
from desk.domain.instruments import Instrument


@st.composite
def bar_series(draw: st.DrawFn, max_size: int = 160) -> list[tuple[int, int]]:
    """(low, high) integer bars from a random walk: ties and inclusions are frequent on a coarse grid."""
    n = draw(st.integers(0, max_size))
    steps = draw(st.lists(st.integers(-4, 4), min_size=n, max_size=n))
    widths = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    out = []
    level = 100
    for step, width in zip(steps, widths, strict=True):
        level += step
        out.append((level - width // 2, level - width // 2 + width))
    return out


configs = st.builds(
    ChanConfig,
    pen=st.sampled_from(["new_3kline", "traditional"]),
    strict_validation=st.booleans(),
    min_klines_between_turns=st.integers(0, 5),
    macd=st.sampled_from(["standard", "scalping"]),
)


def to_arrays(bars: list[tuple[int, int]]) -> BarArrays:
    lo = np.array([b[0] for b in bars], dtype=float)
    hi = np.array([b[1] for b in bars], dtype=float)
    return BarArrays(ts=np.arange(len(bars)), open=lo, high=hi, low=lo, close=(lo + hi) / 2)


def reference_inclusion(bars: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Second implementation, written from the rule text: direction recomputed from the last two processed bars."""
    out: list[list[int]] = []
    for lo, hi in bars:
        if out and ((lo >= out[-1][0] and hi <= out[-1][1]) or (lo <= out[-1][0] and hi >= out[-1][1])):
            up = len(out) < 2 or out[-1][1] > out[-2][1]
            pick = max if up else min
            out[-1] = [pick(out[-1][0], lo), pick(out[-1][1], hi)]
        else:
            out.append([lo, hi])
    return [(a, b) for a, b in out]


@settings(max_examples=150, deadline=None)
@given(bar_series())
def test_inclusion_matches_the_reference_and_leaves_no_inclusion(bars: list[tuple[int, int]]) -> None:
    p = process([float(b[1]) for b in bars], [float(b[0]) for b in bars])
    assert list(zip(p.low, p.high, strict=True)) == reference_inclusion(bars)
    for k in range(1, len(p)):
        up = p.high[k] > p.high[k - 1]
        assert (p.low[k] > p.low[k - 1]) == up and p.high[k] != p.high[k - 1]
    for k in range(len(p)):
        last = p.first[k + 1] - 1 if k + 1 < len(p) else len(bars) - 1
        assert p.first[k] <= p.hi_idx[k] <= last and p.first[k] <= p.lo_idx[k] <= last
        assert bars[p.hi_idx[k]][1] == p.high[k] and bars[p.lo_idx[k]][0] == p.low[k]


def check_structure(r: ChanResult, bars: list[tuple[int, int]], cfg: ChanConfig) -> None:
    kinds = [f.kind for f in r.fractals]
    assert all(a != b for a, b in itertools.pairwise(kinds))
    pens = list(r.pens)
    for p in pens:
        top, bot = (p.start, p.end) if p.direction == "down" else (p.end, p.start)
        assert bars[top.index][1] == top.price and bars[bot.index][0] == bot.price  # ends are the raw extremes
        assert top.high > bot.high and top.low > bot.low
        assert p.end.pidx - p.start.pidx >= (3 if cfg.pen == "new_3kline" else 4)
        assert p.end.index - p.start.index - 1 >= cfg.min_klines_between_turns
        if cfg.strict_validation:  # no overlap: each extreme lies beyond the other fractal's whole zone
            assert top.price > bot.zone_high and bot.price < top.zone_low
    for a, b in itertools.pairwise(pens):
        assert a.direction != b.direction and a.end == b.start
    flags = [p.confirmed for p in pens]
    assert flags == sorted(flags, reverse=True) and (not pens or not pens[-1].confirmed)
    segs = list(r.segments)
    for s in segs:
        assert s.last_pen - s.first_pen >= 2 and (s.last_pen - s.first_pen) % 2 == 0
        assert s.start == pens[s.first_pen].start and s.end == pens[s.last_pen].end
        assert s.direction == pens[s.first_pen].direction
    for a, b in itertools.pairwise(segs):
        assert b.first_pen == a.last_pen + 1 and a.direction != b.direction
    seg_flags = [s.confirmed for s in segs]
    assert seg_flags == sorted(seg_flags, reverse=True)


def same(a: ChanResult, b: ChanResult) -> None:
    assert (a.bars, a.processed_bars) == (b.bars, b.processed_bars)
    for name in ("fractals", "pens", "segments", "pen_divergences", "segment_divergences"):
        assert list(getattr(a, name)) == list(getattr(b, name)), name


@settings(max_examples=120, deadline=None)
@given(bar_series(), configs)
def test_streaming_equals_batch_and_confirmed_is_final(bars: list[tuple[int, int]], cfg: ChanConfig) -> None:
    arrays = to_arrays(bars)
    an = ChanAnalyzer(cfg)
    seen_pens: list = []
    seen_segs: list = []
    seen_divs: list = []
    state = an.state
    for i in range(len(bars)):
        state = an.update(OHLC(i, arrays.open[i], arrays.high[i], arrays.low[i], arrays.close[i]))
        # Whatever was confirmed before is still there, unchanged, at the same position.
        pens, segs = list(state.pens), list(state.segments)
        divs = list(state.pen_divergences)
        assert pens[: len(seen_pens)] == seen_pens
        assert segs[: len(seen_segs)] == seen_segs
        assert divs[: len(seen_divs)] == seen_divs
        seen_pens = [p for p in pens if p.confirmed]
        seen_segs = [s for s in segs if s.confirmed]
        seen_divs = [d for d in divs if d.confirmed]
    batch = analyze(arrays, cfg)
    same(state, batch)
    check_structure(batch, bars, cfg)


@settings(max_examples=30, deadline=None)
@given(bar_series(max_size=80))
def test_domain_bars_in_ticks_give_the_same_result(bars: list[tuple[int, int]]) -> None:
    inst = Instrument(
        "BTC-USD", tick_size=__import__("decimal").Decimal("0.5"), lot_size=__import__("decimal").Decimal("1")
    )
    domain = [Bar("BTC-USD", 60, 60 * i, lo, hi, lo, (lo + hi) // 2, 1, 1) for i, (lo, hi) in enumerate(bars)]
    batch = analyze(domain, instrument=inst)
    an = ChanAnalyzer(instrument=inst)
    for b in domain:
        an.update(b)
    same(an.state, batch)
    if batch.pens:
        assert batch.pens[0].start.ts == 60 * batch.pens[0].start.index  # ts from the raw bar holding the extreme
        assert (
            batch.pens[0].start.price * 2
            == bars[batch.pens[0].start.index][0 if batch.pens[0].direction == "up" else 1]
        )


def test_long_walks_streaming_equals_batch_with_both_segment_end_cases() -> None:
    """Long series reach what short hypothesis examples rarely do: gap endings and segment divergences."""
    rng = np.random.default_rng(5)
    n = 6000
    level = 1000 + np.cumsum(rng.integers(-4, 5, n))
    width = rng.integers(0, 5, n)
    lo = (level - width // 2).astype(float)
    hi = lo + width
    arrays = BarArrays(ts=np.arange(n), open=lo, high=hi, low=lo, close=(lo + hi) / 2)
    bars = [(int(a), int(b)) for a, b in zip(lo, hi, strict=True)]
    for cfg in (ChanConfig(), ChanConfig(pen="traditional", strict_validation=False)):
        an = ChanAnalyzer(cfg)
        for i in range(n):
            an.update(OHLC(i, lo[i], hi[i], lo[i], arrays.close[i]))
        batch = analyze(arrays, cfg)
        same(an.state, batch)
        check_structure(batch, bars, cfg)
        cases = {s.end_case for s in batch.segments}
        assert {"gap", "no_gap"} <= cases
        assert batch.segment_divergences and batch.pen_divergences
