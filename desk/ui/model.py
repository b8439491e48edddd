"""What the screen shows, as plain data: every formatting and scaling decision of the TUI lives here.

Widgets only turn these lines into Textual strips, so all of this is testable without a terminal. A line is a
tuple of ``(text, role)`` cells; the role names a style (``"ask"``, ``"bid"``, ``"muted"`` ...) that the stylesheet
colours with theme variables. Lines are tuples so a widget can use them directly as cache keys for its strips.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from desk.domain.events import Level, Side, Trade
from desk.domain.instruments import Instrument
from desk.engine import MarketView

Cell = tuple[str, str]
"""(text, role). Roles are listed in ``ROLES``."""
Line = tuple[Cell, ...]

ROLES = (
    "title",
    "ask",
    "bid",
    "ask-bar",
    "bid-bar",
    "buy",
    "sell",
    "header",
    "label",
    "value",
    "muted",
    "accent",
    "good",
    "warn",
    "bad",
)

NS = 1_000_000_000
EIGHTHS = " ▏▎▍▌▋▊▉"
"""Partial blocks: index k draws k/8 of a cell, so a bar has 8 steps of resolution per column."""
FULL_BLOCK = "█"


def line_text(line: Line) -> str:
    return "".join(text for text, _ in line)


def fit(text: str, width: int, right: bool = True) -> str:
    """Pad or cut to exactly ``width`` cells (all desk text is single-width)."""
    if len(text) > width:
        return text[:width]
    return text.rjust(width) if right else text.ljust(width)


# --- numbers on the instrument's grid ------------------------------------------------------------------
class GridFormat:
    """Exact decimal strings for ticks and lots, memoised: the ladder formats the same prices every frame."""

    __slots__ = ("_prices", "_sizes", "instrument")

    _LIMIT = 4096

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self._prices: dict[int, str] = {}
        self._sizes: dict[int, str] = {}

    def price(self, ticks: int) -> str:
        text = self._prices.get(ticks)
        if text is None:
            if len(self._prices) >= self._LIMIT:
                self._prices.clear()
            text = self._prices[ticks] = self.instrument.price_str(ticks)
        return text

    def size(self, lots: int) -> str:
        text = self._sizes.get(lots)
        if text is None:
            if len(self._sizes) >= self._LIMIT:
                self._sizes.clear()
            text = self._sizes[lots] = self.instrument.size_str(lots)
        return text

    def half_ticks(self, twice_ticks: int) -> str:
        """A price given in half ticks (a mid), exact: one more decimal place when it falls between ticks."""
        inst = self.instrument
        if twice_ticks % 2 == 0:
            return self.price(twice_ticks // 2)
        value = Decimal(twice_ticks) * inst.tick_size / 2
        return f"{value:.{inst.price_decimals + 1}f}"

    def model_price(self, ticks: float) -> str:
        """A model price (microprice) in fractional ticks: one decimal place finer than the grid."""
        inst = self.instrument
        return f"{inst.price_float(ticks):.{inst.price_decimals + 1}f}"


# --- book statistics for the spread row -----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BookStats:
    spread_ticks: int
    spread_bps: float
    mid_twice_ticks: int  # bid + ask: the mid in half ticks, kept exact
    microprice_ticks: float
    imbalance: float  # (bid size - ask size) / (bid size + ask size) at the touch, in [-1, 1]


def book_stats(bids: Sequence[Level], asks: Sequence[Level]) -> BookStats | None:
    """Touch statistics from best-first levels; None when either side is empty."""
    if not bids or not asks:
        return None
    (bid, qb), (ask, qa) = bids[0], asks[0]
    twice_mid = bid + ask
    spread = ask - bid
    return BookStats(
        spread_ticks=spread,
        spread_bps=spread / (twice_mid / 2) * 1e4 if twice_mid > 0 else math.nan,
        mid_twice_ticks=twice_mid,
        microprice_ticks=(bid * qa + ask * qb) / (qa + qb),
        imbalance=(qb - qa) / (qb + qa),
    )


# --- ladder --------------------------------------------------------------------------------------------
def depth_bar(value: int, scale: int, width: int) -> str:
    """A left-aligned bar of ``value / scale`` of ``width`` cells, in eighths of a cell, exactly ``width`` long."""
    if width <= 0:
        return ""
    if scale <= 0 or value <= 0:
        return " " * width
    eighths = min(width * 8, round(value * width * 8 / scale))
    full, part = divmod(eighths, 8)
    bar = FULL_BLOCK * full + (EIGHTHS[part] if part else "")
    return bar.ljust(width)


@dataclass(frozen=True, slots=True)
class LadderColumns:
    price: int
    size: int
    cum: int
    bar: int
    own: int = 0  # our resting size at the level ("mine"); 0 when the desk does not trade

    @staticmethod
    def for_width(width: int, own: bool = False) -> LadderColumns:
        """Numbers get fixed columns (so they do not jitter); the depth bar takes whatever is left."""
        price, size, cum = 14, 12, 13
        mine = OWN_WIDTH if own else 0
        bar = max(0, width - price - size - cum - 3 - (mine + 1 if own else 0))
        return LadderColumns(price, size, cum, bar, mine)


OWN_WIDTH = 10
OWN_MARK = "◆"
"""Marks a level where we have resting orders, before our size there."""


def with_own(levels: Sequence[Level], own: Mapping[int, int], ask: bool) -> list[Level]:
    """``levels`` plus our resting prices that the public book does not show (size 0), best first.

    Paper orders do not enter the venue's book, so a quote inside the spread or between two public levels would
    otherwise have no row to be marked on.
    """
    if not own:
        return list(levels)
    shown = {price for price, _ in levels}
    extra = [(price, 0) for price in own if price not in shown]
    if not extra:
        return list(levels)
    return sorted([*levels, *extra], key=lambda level: level[0], reverse=not ask)


def ladder_lines(
    view: MarketView,
    depth: int,
    width: int,
    fmt: GridFormat,
    own: tuple[Mapping[int, int], Mapping[int, int]] | None = None,
) -> list[Line]:
    """Header, ``depth`` ask rows (best ask lowest), the spread row, ``depth`` bid rows (best bid highest).

    Missing levels are blank rows, so the spread row stays on the same screen line whatever the book holds.
    Bars show cumulative size from the touch on one scale for both sides, so the thinner side looks thinner.
    With ``own`` (our resting lots per price: bids, asks) a "mine" column marks the levels we rest at.
    """
    cols = LadderColumns.for_width(width, own is not None)
    own_bids, own_asks = own if own is not None else ({}, {})
    asks = with_own(view.asks[: depth + len(own_asks)], own_asks, ask=True)[:depth]
    bids = with_own(view.bids[: depth + len(own_bids)], own_bids, ask=False)[:depth]
    ask_cum = _cumulative(asks)
    bid_cum = _cumulative(bids)
    scale = max(ask_cum[-1] if ask_cum else 0, bid_cum[-1] if bid_cum else 0)

    header: Line = (
        (fit("price", cols.price), "header"),
        (" " + fit("mine", cols.own), "header") if cols.own else ("", "header"),
        (" " + fit("size", cols.size), "header"),
        (" " + fit("total", cols.cum), "header"),
        (" " + fit("depth", cols.bar, right=False), "header") if cols.bar else ("", "header"),
    )
    lines: list[Line] = [header]
    blank: Line = ((" " * width, "muted"),)
    lines.extend([blank] * (depth - len(asks)))
    for i in range(len(asks) - 1, -1, -1):
        lines.append(_level_line(asks[i], ask_cum[i], scale, cols, fmt, "ask", own_asks.get(asks[i][0], 0)))
    lines.append(spread_line(view.bids[:1], view.asks[:1], fmt))
    for i in range(len(bids)):
        lines.append(_level_line(bids[i], bid_cum[i], scale, cols, fmt, "bid", own_bids.get(bids[i][0], 0)))
    lines.extend([blank] * (depth - len(bids)))
    return lines


def _cumulative(levels: Sequence[Level]) -> list[int]:
    out: list[int] = []
    total = 0
    for _, size in levels:
        total += size
        out.append(total)
    return out


def _level_line(
    level: Level, cum: int, scale: int, cols: LadderColumns, fmt: GridFormat, side: str, mine: int = 0
) -> Line:
    price, size = level
    cells: list[Cell] = [(fit(fmt.price(price), cols.price), side)]
    if cols.own:
        mark = OWN_MARK + fmt.size(mine) if mine else ""
        cells.append((" " + fit(mark, cols.own), "accent"))
    cells += [
        (" " + fit(fmt.size(size) if size else "-", cols.size), "value"),
        (" " + fit(fmt.size(cum), cols.cum), "muted"),
    ]
    if cols.bar:
        cells.append((" " + depth_bar(cum, scale, cols.bar), side + "-bar"))
    return tuple(cells)


def spread_line(bids: Sequence[Level], asks: Sequence[Level], fmt: GridFormat) -> Line:
    stats = book_stats(bids, asks)
    if stats is None:
        return (("  no two-sided book", "warn"),)
    crossed = stats.spread_ticks <= 0
    return (
        ("  spread ", "label"),
        (f"{stats.spread_ticks}t {stats.spread_bps:.2f}bp", "bad" if crossed else "accent"),
        ("  mid ", "label"),
        (fmt.half_ticks(stats.mid_twice_ticks), "value"),
        ("  micro ", "label"),
        (fmt.model_price(stats.microprice_ticks), "value"),
        ("  imb ", "label"),
        (f"{stats.imbalance:+.2f}", "bid" if stats.imbalance > 0 else "ask" if stats.imbalance < 0 else "value"),
    )


# --- tape ----------------------------------------------------------------------------------------------
def clock_str(ts_ns: int) -> str:
    """HH:MM:SS.mmm in UTC (exchange time: the same on every desk, whatever the local zone)."""
    seconds, ns = divmod(ts_ns, NS)
    return time.strftime("%H:%M:%S", time.gmtime(seconds)) + f".{ns // 1_000_000:03d}"


TAPE_HEADER: Line = (
    (fit("time", 12, right=False), "header"),
    (" " + fit("side", 4, right=False), "header"),
    (" " + fit("price", 12), "header"),
    (" " + fit("size", 10), "header"),
)


def tape_row(trade: Trade, fmt: GridFormat) -> Line:
    buy = trade.aggressor is Side.BUY
    side = "buy" if buy else "sell"
    return (
        (clock_str(trade.ts_ns), "muted"),
        (" buy " if buy else " sell", side),
        (" " + fit(fmt.price(trade.price), 12), side),
        (" " + fit(fmt.size(trade.size), 10), "value"),
    )


def tape_lines(
    trades: Sequence[Trade], rows: int, fmt: GridFormat, memo: dict[Trade, Line] | None = None
) -> list[Line]:
    """Header and the newest ``rows`` trades, newest first (``trades`` is oldest first, as the engine keeps it).

    A trade's row never changes, so a caller redrawing every tick passes ``memo`` to format each trade once.
    """
    lines: list[Line] = [TAPE_HEADER]
    start = len(trades) - 1
    stop = max(-1, start - rows)
    for i in range(start, stop, -1):
        trade = trades[i]
        if memo is None:
            lines.append(tape_row(trade, fmt))
            continue
        row = memo.get(trade)
        if row is None:
            row = memo[trade] = tape_row(trade, fmt)
        lines.append(row)
    return lines


def title_line(title: str, width: int) -> Line:
    """A panel's title row, padded so its background spans the panel."""
    return ((fit(f" {title}", width, right=False), "title"),)


# --- price chart ---------------------------------------------------------------------------------------
CHART_BARS = 300
"""How many 1 s bars the chart spans (five minutes); a narrow chart folds several bars into one dot column."""

# Braille cells are 2 dots wide and 4 high; bit for (column, row-from-top).
_BRAILLE_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))

_BRAILLE = [chr(0x2800 + bits) for bits in range(256)]

Span = tuple[float, float]
"""(low, high) of the values that fall in one dot column."""


def fold(values: Sequence[float], columns: int) -> list[Span]:
    """Values into at most ``columns`` (low, high) spans, oldest first, in equal runs of consecutive values.

    Run ``i`` covers values ``[i*n // k, (i+1)*n // k)`` for ``n`` values and ``k = min(n, columns)``, so the runs
    differ in length by at most one and every value lands in exactly one span.
    """
    n = len(values)
    k = min(n, columns)
    spans: list[Span] = []
    for i in range(k):
        run = values[i * n // k : (i + 1) * n // k]
        spans.append((min(run), max(run)))
    return spans


def braille_plot(spans: Sequence[Span], width: int, height: int, lo: float, hi: float) -> list[str]:
    """Plot one span per dot column (2 per cell; the newest at the right) as a connected braille line.

    A column lights the dots of its span; when it does not overlap the previous column's span, the dots between
    them are lit too, so a steep move reads as a line rather than scattered dots. A flat range (``hi == lo``)
    draws in the middle. Returns ``height`` strings of exactly ``width`` characters, top row first.
    """
    if width <= 0 or height <= 0:
        return []
    dots_h = height * 4
    cells = [[0] * width for _ in range(height)]
    shown = list(spans)[-width * 2 :]
    offset = width * 2 - len(shown)  # right-align: the newest column is the last dot column
    span = hi - lo

    def row(value: float) -> int:  # dot row counted from the top
        if span <= 0:
            return dots_h - 1 - (dots_h - 1) // 2
        level = round((value - lo) / span * (dots_h - 1))
        return dots_h - 1 - min(dots_h - 1, max(0, level))

    prev: tuple[int, int] | None = None
    for i, (low, high) in enumerate(shown):
        top, bottom = row(high), row(low)
        if prev is not None:
            prev_top, prev_bottom = prev
            if bottom < prev_top:  # entirely above the previous column: reach down to it
                bottom = prev_top
            elif top > prev_bottom:  # entirely below: reach up to it
                top = prev_bottom
        x = offset + i
        bits = _BRAILLE_BITS[x % 2]
        for dot_y in range(top, bottom + 1):
            cells[dot_y // 4][x // 2] |= bits[dot_y % 4]
        prev = (row(high), row(low))
    braille = _BRAILLE.__getitem__
    return ["".join(map(braille, line)) for line in cells]


def chart_series(view: MarketView, bars: int = CHART_BARS) -> list[int]:
    """Closes of the last ``bars`` closed 1 s bars, then the last trade price, so the line moves before a bar
    closes."""
    closed = view.bars[-bars:] if bars else ()
    series = [bar.close for bar in closed]
    if view.trades:
        series.append(view.trades[-1].price)
    return series


def chart_lines(series: Sequence[int], width: int, height: int, fmt: GridFormat, label: str) -> list[Line]:
    """A title line (last price, change over the window, points) and ``height - 1`` braille rows with the high
    and low of the window labelled on the right."""
    if height < 2 or width < 8:
        return []
    if not series:
        return [((f" {label}  waiting for trades", "muted"),)]
    lo, hi = min(series), max(series)
    label_w = max(len(fmt.price(hi)), len(fmt.price(lo))) + 1
    plot_w = max(1, width - label_w - 1)
    last, first = series[-1], series[0]
    change = (last - first) / first * 100 if first else 0.0
    role = "good" if last > first else "bad" if last < first else "value"
    title: Line = (
        (" last ", "label"),
        (fmt.price(last), role),
        (f" {change:+.2f}%", role),
        (f"  {label} x{len(series)}", "muted"),
    )
    rows = braille_plot(fold(series, plot_w * 2), plot_w, height - 1, lo, hi)
    lines: list[Line] = [title]
    last_row = len(rows) - 1
    for i, text in enumerate(rows):
        tag = fmt.price(hi) if i == 0 else fmt.price(lo) if i == last_row else ""
        lines.append(((text, "accent"), (" " + fit(tag, label_w, right=False), "muted")))
    return lines


# --- status bar ----------------------------------------------------------------------------------------
class RateMeter:
    """Messages per second over the last second or more, from the feed sink's running count.

    The sink only bumps an integer (it runs at wire rate); the rate is worked out on the UI tick from two
    samples at least ``window_s`` apart, so it costs nothing per message.
    """

    __slots__ = ("_clock", "_mark_count", "_mark_time", "count", "last_time", "rate", "window_s")

    def __init__(self, clock: Callable[[], float], window_s: float = 1.0) -> None:
        self._clock = clock
        self.window_s = window_s
        self.count = 0
        self.last_time: float | None = None
        self.rate: float | None = None
        self._mark_time = clock()
        self._mark_count = 0

    def add(self, n: int) -> None:
        self.count += n
        self.last_time = self._clock()

    def sample(self) -> float | None:
        now = self._clock()
        elapsed = now - self._mark_time
        if elapsed >= self.window_s:
            self.rate = (self.count - self._mark_count) / elapsed
            self._mark_time = now
            self._mark_count = self.count
        return self.rate

    def age(self) -> float | None:
        """Seconds since the last batch, or None before the first."""
        return None if self.last_time is None else max(0.0, self._clock() - self.last_time)


@dataclass(frozen=True, slots=True)
class StatusInfo:
    venue: str
    symbol: str
    symbol_index: int  # 0-based
    symbol_count: int
    feed_state: str
    rate: float | None
    age_s: float | None
    book_state: str
    book_seq: int
    wall_time: float  # seconds since the epoch
    # Feed health counters from the venue supervisor's FeedStatus (0 for a feed that does not count them).
    gaps: int = 0
    resyncs: int = 0
    checksum_failures: int = 0


_STATE_ROLE = {
    "-": "muted",
    "live": "good",
    "connecting": "warn",
    "syncing": "warn",
    "stale": "warn",
    "resyncing": "warn",
}


def status_line(info: StatusInfo) -> Line:
    rate = "-" if info.rate is None else f"{info.rate:,.0f}"
    age = "-" if info.age_s is None else f"{info.age_s:.2f}s"
    stamp = datetime.fromtimestamp(info.wall_time, UTC).strftime("%H:%M:%S UTC")
    return (
        (f" {info.venue} ", "header"),
        (f" {info.symbol} ", "accent"),
        (f"{info.symbol_index + 1}/{info.symbol_count}", "muted"),
        ("  feed ", "label"),
        (info.feed_state, _STATE_ROLE.get(info.feed_state, "bad")),
        ("  msg/s ", "label"),
        (rate, "value"),
        ("  last ", "label"),
        (age, "warn" if info.age_s is not None and info.age_s > 5 else "value"),
        ("  book ", "label"),
        (info.book_state, "good" if info.book_state == "live" else "bad"),
        (f" #{info.book_seq}", "muted"),
        ("  gaps ", "label"),
        (str(info.gaps), "warn" if info.gaps else "value"),
        (" resyncs ", "label"),
        (str(info.resyncs), "warn" if info.resyncs else "value"),
        (" cksum ", "label"),
        (str(info.checksum_failures), "bad" if info.checksum_failures else "value"),
        ("  ", "label"),
        (stamp, "value"),
    )
