"""What the trading panels show, as plain data: rows of the strategies and orders tables, the positions, equity
and risk panels' lines. Like ``desk.ui.model``, every formatting and scaling decision lives here so it is tested
without a terminal; widgets only paint. Lines are tuples of ``(text, role)`` cells (roles in ``model.ROLES``).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from desk.domain.instruments import Instrument
from desk.execution.orders import Order, OrderStatus, OrderType
from desk.portfolio import Portfolio, to_decimal
from desk.risk.monitor import LimitUse, RiskReport
from desk.strategies.runner import StrategyInstance
from desk.ui.model import EIGHTHS, FULL_BLOCK, Line, braille_plot, clock_str, fit, fold
from desk.ui.session import MIN_VAR_RETURNS

Row = tuple[str, ...]

# --- numbers --------------------------------------------------------------------------------------------------


def compact(value: float) -> str:
    """A short number for gauges: three significant digits, k/M/B above a thousand (``1280`` -> ``1.28k``)."""
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    size = abs(value)
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= threshold:
            return f"{value / threshold:.3g}{suffix}"
    # Positional, never exponent notation: a position of 2e-05 BTC reads as 0.00002.
    text = f"{value:.{max(0, 2 - math.floor(math.log10(size)))}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def money(value: float, width: int) -> str:
    """Quote-currency amount in at most ``width`` characters: cents when they fit, then whole units, then compact."""
    if abs(value) < 0.005:
        value = 0.0  # no "-0.00"
    for text in (f"{value:,.2f}", f"{value:,.0f}", compact(value)):
        if len(text) <= width:
            return text
    return compact(value)


def signed_money(value: float) -> str:
    return f"{value:+,.2f}"


# --- strategies table -----------------------------------------------------------------------------------------
# Column widths fit a 46-cell panel: the cells plus one cell of padding each side, and a scrollbar for orders.
STRATEGY_COLUMNS: tuple[tuple[str, int], ...] = (("strategy", 14), ("symbol", 7), ("state", 7), ("P&L", 9))


def strategy_row(inst: StrategyInstance, pnl: float) -> Row:
    return (inst.name, inst.symbol, inst.state.value, signed_money(pnl))


def strategy_rows(
    instances: Iterable[StrategyInstance], portfolio: Portfolio, mids: dict[str, float | None]
) -> list[tuple[str, Row]]:
    """(instance key, cells) in the order the strategies were added."""
    return [(inst.key, strategy_row(inst, portfolio.strategy_pnl(inst.key, mids))) for inst in instances]


# --- orders table ---------------------------------------------------------------------------------------------
ORDER_COLUMNS: tuple[tuple[str, int], ...] = (("symbol", 7), ("side", 4), ("qty", 8), ("price", 9), ("status", 6))

STATUS_SHORT = {
    OrderStatus.NEW: "new",
    OrderStatus.ACCEPTED: "open",
    OrderStatus.PARTIALLY_FILLED: "part",
    OrderStatus.FILLED: "filled",
    OrderStatus.CANCELLED: "cxl",
    OrderStatus.REJECTED: "rej",
    OrderStatus.EXPIRED: "exp",
}


def order_row(order: Order, inst: Instrument) -> Row:
    """Limit orders show their price; market orders their average fill price once filled."""
    if order.type is OrderType.LIMIT and order.price is not None:
        price = inst.price_str(order.price)
    elif order.avg_price_ticks is not None:
        price = f"{inst.price_float(order.avg_price_ticks):.{inst.price_decimals}f}"
    else:
        price = "market"
    return (order.symbol, order.side.value, inst.size_str(order.quantity), price, STATUS_SHORT[order.status])


# --- positions panel ------------------------------------------------------------------------------------------
_POS = (7, 8, 9, 9, 9)  # symbol, qty, avg, unrealised, realised


def position_lines(portfolio: Portfolio, mids: dict[str, float | None], width: int) -> list[Line]:
    """Header, one row per symbol traded this session (or recovered), then equity and fees."""
    sym_w, qty_w, avg_w, upl_w, rpl_w = _POS
    lines: list[Line] = [
        (
            (fit("symbol", sym_w, right=False), "header"),
            (" " + fit("qty", qty_w), "header"),
            (" " + fit("avg", avg_w), "header"),
            (" " + fit("unreal", upl_w), "header"),
            (" " + fit("real", rpl_w), "header"),
        )
    ]
    for symbol in sorted(portfolio.positions):
        pos = portfolio.positions[symbol]
        if not pos.quantity and not pos.fills:
            continue
        inst = pos.instrument
        avg = pos.avg_price()
        unreal = pos.unrealized(mids.get(symbol))
        real = float(to_decimal(pos.realized))
        qty_role = "buy" if pos.quantity > 0 else "sell" if pos.quantity < 0 else "muted"
        lines.append(
            (
                (fit(symbol, sym_w, right=False), "value"),
                (" " + fit(inst.size_str(pos.quantity), qty_w), qty_role),
                (" " + fit("-" if avg is None else f"{avg:.{inst.price_decimals}f}", avg_w), "value"),
                (" " + fit(money(unreal, upl_w), upl_w), _pnl_role(unreal)),
                (" " + fit(money(real, rpl_w), rpl_w), _pnl_role(real)),
            )
        )
    if len(lines) == 1:
        lines.append((("no positions", "muted"),))
    equity = portfolio.equity(mids)
    lines.append(
        (
            ("equity ", "label"),
            (f"{equity:,.2f}", "value"),
            ("  fees ", "label"),
            (f"{portfolio.fees():,.2f}", "value"),
            ("  gross ", "label"),
            (compact(portfolio.gross_exposure(mids)), "value"),
        )
    )
    return [_clip(line, width) for line in lines]


def _pnl_role(value: float) -> str:
    return "good" if value > 0 else "bad" if value < 0 else "muted"


def _clip(line: Line, width: int) -> Line:
    """Cut a line to ``width`` cells (LineWidget crops too; cutting here keeps cached lines small)."""
    out: list[tuple[str, str]] = []
    used = 0
    for text, role in line:
        if used >= width:
            break
        out.append((text[: width - used], role))
        used += len(text)
    return tuple(out)


# --- equity sparkline -----------------------------------------------------------------------------------------
def equity_lines(
    curve: Sequence[tuple[int, float]], start: float, max_dd: float, width: int, height: int
) -> list[Line]:
    """A summary row (last equity, change since the session's starting value, max drawdown) and ``height - 1``
    braille rows of the sampled equity curve."""
    if height < 1 or width < 8:
        return []
    if not curve:
        return [((" waiting for the first equity sample", "muted"),)]
    values = [equity for _, equity in curve]
    last = values[-1]
    change = (last - start) / start * 100 if start else 0.0
    role = _pnl_role(last - start)
    title: Line = (
        (" ", "label"),
        (f"{last:,.2f}", role),
        (f" {change:+.2f}%", role),
        ("  max dd ", "label"),
        (f"{max_dd:.2%}", "warn" if max_dd > 0 else "value"),
        (f"  x{len(values)}", "muted"),
    )
    lo, hi = min(values), max(values)
    rows = braille_plot(fold(values, width * 2), width, height - 1, lo, hi) if height > 1 else []
    return [title, *[((text, "accent"),) for text in rows]]


# --- risk panel -----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RiskView:
    """Everything the risk panel shows, gathered on the UI tick."""

    breaker: str
    breaker_reason: str
    report: RiskReport | None
    uses: tuple[LimitUse, ...]
    rejections: tuple[tuple[int, str], ...]  # (event time ns, text), oldest first
    stale: tuple[str, ...]
    method: str  # headline method and confidence (the pre-trade VaR check and the contributions use these)
    confidence: float
    horizon: str  # as configured, e.g. "1d"
    interval_s: float  # how often the worker runs
    returns: int = 0  # mid returns gathered so far (shown until the first report)


METHOD_LABEL = {"historical": "hist", "parametric": "param", "mc": "mc"}
_BREAKER_ROLE = {"normal": "good", "reduce_only": "warn", "halted": "bad"}
GAUGE_WARN = 0.8
"""Gauges turn from green to yellow at 80% of a limit and to red at 100%."""


def level_role(fraction: float) -> str:
    if fraction >= 1.0:
        return "bad"
    if fraction >= GAUGE_WARN:
        return "warn"
    return "good"


def gauge(fraction: float, width: int) -> str:
    """A bar of ``min(fraction, 1)`` of ``width`` cells in eighths, exactly ``width`` long."""
    if width <= 0:
        return ""
    eighths = round(min(max(fraction, 0.0), 1.0) * width * 8)
    full, part = divmod(eighths, 8)
    return (FULL_BLOCK * full + (EIGHTHS[part] if part else "")).ljust(width)


_SHORT_NAMES = (
    ("position value ", "value "),
    ("position ", "qty "),
    ("concentration ", "conc "),
    ("orders per minute", "orders/min"),
    ("consecutive losses", "loss streak"),
)
_FRACTION_LIMITS = ("concentration", "drawdown")


def limit_label(name: str) -> str:
    for long, short in _SHORT_NAMES:
        if name.startswith(long):
            return short + name[len(long) :]
    return name


def limit_amounts(use: LimitUse) -> str:
    if use.name.startswith(_FRACTION_LIMITS):
        return f"{use.value:.1%}/{use.limit:.0%}"
    return f"{compact(use.value)}/{compact(use.limit)}"


def percent(fraction: float) -> str:
    return ">999%" if fraction > 9.99 else f"{fraction:.0%}"


def gauge_line(use: LimitUse, width: int) -> Line:
    """``name  value/limit  bar  pct``: the bar and the percentage coloured by level."""
    name_w, amount_w, pct_w = 15, 13, 5
    bar_w = max(0, width - name_w - amount_w - pct_w - 3)
    name: tuple[str, str] = (fit(limit_label(use.name), name_w, right=False), "label")
    if use.detail:  # no value to measure yet (VaR before the worker has enough history)
        note = f"{use.detail}, limit {compact(use.limit)}"
        return (name, (" " + fit(note, width - name_w - 1, right=False), "muted"))
    cells: list[tuple[str, str]] = [name, (" " + fit(limit_amounts(use), amount_w), "value")]
    role = level_role(use.fraction)
    cells.append((" " + gauge(use.fraction, bar_w), role))
    cells.append((" " + fit(percent(use.fraction), pct_w), role))
    return tuple(cells)


def var_table(view: RiskView, width: int) -> list[Line]:
    """VaR and ES per method (rows) and confidence (column pairs), then contributions and run notes."""
    width = max(width, 1)
    report = view.report
    if report is None:
        if view.returns < MIN_VAR_RETURNS:
            note = f"VaR {view.horizon}: {view.returns} of {MIN_VAR_RETURNS} returns needed so far"
        else:
            note = f"VaR {view.horizon}: first run within {view.interval_s:g} s"
        return [((chunk, "muted"),) for chunk in textwrap.wrap(note, width)]
    if not report.results:
        note = f"VaR {view.horizon}: {report.error or 'no result'}"
        return [((chunk, "warn"),) for chunk in textwrap.wrap(note, width)]
    confidences = sorted({r["confidence"] for r in report.results})
    label_w = 6
    col_w = max(5, (width - label_w) // (2 * len(confidences)) - 1)
    pair_w = 2 * (col_w + 1)
    head: list[tuple[str, str]] = [(fit(f"VaR {view.horizon}", label_w, right=False), "header")]
    sub: list[tuple[str, str]] = [(fit("", label_w), "header")]
    for conf in confidences:
        head.append((fit(f"{conf:.1%}".replace(".0%", "%"), pair_w), "header"))
        sub.append((" " + fit("VaR", col_w) + " " + fit("ES", col_w), "label"))
    lines: list[Line] = [tuple(head), tuple(sub)]
    by_key = {(r["method"], r["confidence"]): r for r in report.results}
    methods = [m for m in ("historical", "parametric", "mc") if any(k[0] == m for k in by_key)]
    for method in methods:
        headline = method == view.method
        cells: list[tuple[str, str]] = [
            (fit(METHOD_LABEL.get(method, method), label_w, right=False), "accent" if headline else "label")
        ]
        for conf in confidences:
            r = by_key.get((method, conf))
            if r is None:
                cells.append((" " + fit("-", col_w) + " " + fit("-", col_w), "muted"))
                continue
            cells.append((" " + fit(money(r["var"], col_w), col_w), "value"))
            cells.append((" " + fit(money(r["es"], col_w), col_w), "value"))
        lines.append(tuple(cells))
    lines.extend(_contribution_lines(view, report, width))
    notes: list[tuple[str, str]] = [(f"obs {report.observations}", "muted")]
    mc = by_key.get(("mc", view.confidence))
    if mc is not None and mc.get("stderr") is not None:
        notes.append((f"  mc se {money(mc['stderr'], 10)}", "muted"))
    notes.append((f"  {report.elapsed_s * 1000:.0f} ms", "muted"))
    lines.append(tuple(notes))
    lines.extend(((chunk, "warn"),) for chunk in textwrap.wrap(report.error, width))
    return lines


def _contribution_lines(view: RiskView, report: RiskReport, width: int) -> list[Line]:
    if not report.contributions:
        return []
    label = f"contrib {METHOD_LABEL.get(view.method, view.method)} {view.confidence:.1%}".replace(".0%", "%")
    lines: list[Line] = []
    cells: list[tuple[str, str]] = [(label, "label")]
    used = len(label)
    for name, value in report.contributions.items():
        item = f" {name} {money(value, 9)}"
        if used + len(item) > width:
            lines.append(tuple(cells))
            cells, used = [(" " * len(label), "label")], len(label)
        cells.append((item, "value"))
        used += len(item)
    lines.append(tuple(cells))
    return lines


def risk_lines(view: RiskView, width: int, rejections: int = 3) -> list[Line]:
    """Breaker, VaR/ES table with contributions, every limit's gauge, the last rejections."""
    width = max(width, 1)
    lines: list[Line] = [
        (
            ("breaker ", "label"),
            (view.breaker.upper(), _BREAKER_ROLE.get(view.breaker, "bad")),
            (f"  {view.breaker_reason}" if view.breaker_reason else "", "muted"),
        )
    ]
    if view.stale:
        lines.append((("stale feed: ", "label"), (", ".join(view.stale), "warn")))
    lines.extend(var_table(view, width))
    lines.append(((fit("limits", 15, right=False), "header"), (" " + fit("value/limit", 13), "header")))
    lines.extend(gauge_line(use, width) for use in view.uses)
    lines.append((("rejections", "header"),))
    recent = view.rejections[-rejections:] if rejections else ()
    if not recent:
        lines.append((("none", "muted"),))
    for ts_ns, text in reversed(recent):
        lines.append(((clock_str(ts_ns)[:8] + " ", "muted"), (text, "warn")))
    return [_clip(line, width) for line in lines]
