"""The TUI's pure formatting and scaling, checked against hand-worked examples (no terminal involved)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from desk.book.l2 import BookState
from desk.domain.events import Bar, Side, Trade
from desk.domain.instruments import Instrument
from desk.engine import MarketView
from desk.ui.model import (
    GridFormat,
    LadderColumns,
    RateMeter,
    StatusInfo,
    book_stats,
    braille_plot,
    chart_lines,
    chart_series,
    clock_str,
    depth_bar,
    fold,
    ladder_lines,
    line_text,
    status_line,
    tape_lines,
)

INST = Instrument("BTC-USD", Decimal("0.01"), Decimal("0.001"))
FMT = GridFormat(INST)


def view(bids=(), asks=(), trades=(), bars=()) -> MarketView:  # type: ignore[no-untyped-def]
    return MarketView(
        symbol="BTC-USD",
        venue="sim",
        seq=1,
        book_seq=1,
        ts_ns=0,
        state=BookState.LIVE,
        feed=None,
        bids=tuple(bids),
        asks=tuple(asks),
        trades=tuple(trades),
        bars=tuple(bars),
        instrument=INST,
    )


def trade(i: int, price: int, side: Side = Side.BUY) -> Trade:
    return Trade("BTC-USD", "sim", 1_000_000_000 * i, price, 5, side, str(i))


# --- numbers -----------------------------------------------------------------------------------------------
def test_grid_format_is_exact_including_half_tick_mids() -> None:
    assert FMT.price(6_000_012) == "60000.12"
    assert FMT.size(1234) == "1.234"
    assert FMT.half_ticks(12_001) == "60.005"  # (60.00 + 60.01) / 2
    assert FMT.half_ticks(12_000) == "60.00"
    assert FMT.model_price(6000.5) == "60.005"


def test_book_stats_hand_example() -> None:
    stats = book_stats([(100, 3)], [(104, 1)])
    assert stats is not None
    assert stats.spread_ticks == 4
    assert stats.mid_twice_ticks == 204
    assert abs(stats.spread_bps - 4 / 102 * 1e4) < 1e-9
    # Microprice leans to the thin side: (100*1 + 104*3) / 4 = 103.
    assert stats.microprice_ticks == 103
    assert stats.imbalance == 0.5  # (3 - 1) / (3 + 1)
    assert book_stats([], [(104, 1)]) is None


# --- ladder ------------------------------------------------------------------------------------------------
def test_depth_bar_in_eighths() -> None:
    assert depth_bar(3, 8, 4) == "█▌  "  # 3/8 of 4 cells = 1.5 cells = 12 eighths
    assert depth_bar(8, 8, 4) == "████"
    assert depth_bar(0, 8, 4) == "    "
    assert depth_bar(1, 1000, 4) == "    "  # rounds to nothing
    assert depth_bar(5, 0, 3) == "   "


@given(st.integers(0, 10_000), st.integers(1, 10_000), st.integers(0, 60))
def test_depth_bar_has_exact_width_and_never_overflows(value: int, scale: int, width: int) -> None:
    bar = depth_bar(min(value, scale), scale, width)
    assert len(bar) == width
    if value >= scale:
        assert bar == "█" * width


def test_ladder_lines_layout() -> None:
    lines = ladder_lines(view(bids=[(100, 2), (99, 1)], asks=[(101, 1), (103, 4)]), depth=3, width=60, fmt=FMT)
    texts = [line_text(line) for line in lines]
    assert len(lines) == 1 + 3 + 1 + 3
    assert texts[0].split() == ["price", "size", "total", "depth"]
    assert texts[1].strip() == "" and texts[7].strip() == ""  # missing levels pad away from the spread
    # Asks above the spread, highest first; bids below, best first; each row: price, size, cumulative size.
    assert texts[2].split()[:3] == ["1.03", "0.004", "0.005"]
    assert texts[3].split()[:3] == ["1.01", "0.001", "0.001"]
    assert texts[4].split()[:4] == ["spread", "1t", "99.50bp", "mid"]  # 1 / 100.5 * 1e4
    assert texts[5].split()[:3] == ["1.00", "0.002", "0.002"]
    assert texts[6].split()[:3] == ["0.99", "0.001", "0.003"]
    # Both sides on one scale (the deeper side's total, 5): bid 0.99 has 3/5 of 18 cells = 10.8 cells.
    assert LadderColumns.for_width(60).bar == 18
    assert texts[2].endswith(" " + "█" * 18)
    assert texts[6].endswith(" " + "█" * 10 + "▊" + " " * 7)
    assert lines[2][0][1] == "ask" and lines[5][0][1] == "bid"


def test_spread_line_flags_a_crossed_book_and_a_one_sided_book() -> None:
    crossed = ladder_lines(view(bids=[(102, 1)], asks=[(101, 1)]), depth=1, width=60, fmt=FMT)
    assert ("-1t -98.52bp", "bad") in crossed[2]  # -1 / 101.5 * 1e4
    one_sided = ladder_lines(view(bids=[(100, 1)]), depth=1, width=60, fmt=FMT)
    assert "no two-sided book" in line_text(one_sided[2])


# --- tape --------------------------------------------------------------------------------------------------
def test_tape_is_newest_first_and_bounded() -> None:
    trades = [trade(1, 100), trade(2, 101, Side.SELL), trade(3, 102)]
    lines = tape_lines(trades, rows=2, fmt=FMT)
    assert len(lines) == 3
    assert line_text(lines[1]).split() == ["00:00:03.000", "buy", "1.02", "0.005"]
    assert line_text(lines[2]).split() == ["00:00:02.000", "sell", "1.01", "0.005"]
    assert lines[2][1][1] == "sell" and lines[1][1][1] == "buy"


def test_clock_str_is_utc_with_milliseconds() -> None:
    assert clock_str(1_767_225_690_123_456_789) == "00:01:30.123"


# --- chart -------------------------------------------------------------------------------------------------
def test_fold_splits_into_even_runs() -> None:
    assert fold([1, 5, 2, 8, 3], 2) == [(1, 5), (2, 8)]  # runs [1, 5] and [2, 8, 3]
    assert fold([1, 5, 2], 10) == [(1, 1), (5, 5), (2, 2)]
    assert fold([], 4) == []
    # Every value lands in exactly one run: the overall extremes survive any folding.
    values = [3, 9, 1, 7, 7, 2, 8]
    for k in range(1, 9):
        spans = fold(values, k)
        assert len(spans) == min(k, len(values))
        assert min(lo for lo, _ in spans) == 1 and max(hi for _, hi in spans) == 9


def test_braille_plot_hand_examples() -> None:
    # Low point then high point in one cell: dot 7 (0x40) in the left column, the whole right column
    # (0x08|0x10|0x20|0x80) because the jump is joined vertically: 0xF8.
    assert braille_plot([(0, 0), (3, 3)], 1, 1, 0, 3) == [chr(0x28F8)]
    # Two cells high: the right column spans both cells; the low dot sits in the bottom cell.
    assert braille_plot([(0, 0), (7, 7)], 1, 2, 0, 7) == [chr(0x28B8), chr(0x28F8)]
    # A flat series draws in the middle; one point is right-aligned (newest at the right edge).
    assert braille_plot([(5, 5)], 1, 1, 5, 5) == [chr(0x2820)]
    assert braille_plot([(5, 5)], 2, 1, 5, 5) == [chr(0x2800) + chr(0x2820)]
    # A span lights every dot between its low and high.
    assert braille_plot([(0, 3)], 1, 1, 0, 3) == [chr(0x28B8)]


def test_chart_series_and_lines() -> None:
    bars = [Bar("BTC-USD", 1, i * 10**9, 100, 100, 100, close, 1, 1) for i, close in enumerate([100, 104, 102])]
    v = view(bars=bars, trades=[trade(9, 108)])
    series = chart_series(v)
    assert series == [100, 104, 102, 108]
    lines = chart_lines(series, width=30, height=5, fmt=FMT, label="1s bars")
    assert len(lines) == 5
    assert line_text(lines[0]).split() == ["last", "1.08", "+8.00%", "1s", "bars", "x4"]
    assert line_text(lines[1]).rstrip().endswith("1.08")  # high of the window on the top row
    assert line_text(lines[4]).rstrip().endswith("1.00")  # low on the bottom row
    assert chart_lines([], 30, 5, FMT, "1s bars")[0][0][0].strip().endswith("waiting for trades")


# --- status ------------------------------------------------------------------------------------------------
def test_rate_meter_over_a_window() -> None:
    now = [0.0]
    meter = RateMeter(lambda: now[0], window_s=1.0)
    assert meter.age() is None and meter.sample() is None
    now[0] = 0.5
    meter.add(100)
    assert meter.sample() is None  # not a full window yet
    now[0] = 1.0
    meter.add(100)
    assert meter.sample() == 200.0
    now[0] = 1.25
    assert meter.age() == 0.25
    now[0] = 2.25
    meter.add(50)
    assert meter.sample() == 50 / 1.25


def test_status_line_text() -> None:
    info = StatusInfo("sim", "ETH-USD", 1, 3, "live", 1234.4, 0.25, "live", 42, 1_767_225_690.0)
    text = line_text(status_line(info))
    words = ["sim", "ETH-USD", "2/3", "feed", "live", "msg/s", "1,234", "last", "0.25s"]
    health = ["gaps", "0", "resyncs", "0", "cksum", "0"]
    assert text.split() == [*words, "book", "live", "#42", *health, "00:01:30", "UTC"]
    troubled = StatusInfo(
        "kraken", "ETH-USD", 1, 3, "live", 10.0, 0.25, "live", 42, 0.0, gaps=2, resyncs=1, checksum_failures=3
    )
    cells = dict((text.strip(), role) for text, role in status_line(troubled))
    assert "gaps 2 resyncs 1 cksum 3" in line_text(status_line(troubled))
    assert cells["2"] == "warn" and cells["1"] == "warn" and cells["3"] == "bad"
    unknown = line_text(status_line(StatusInfo("sim", "ETH-USD", 0, 1, "-", None, None, "empty", 0, 0.0)))
    assert "msg/s -" in unknown and "last -" in unknown
