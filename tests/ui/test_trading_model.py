"""The trading panels' plain model against hand-worked examples: number formats, gauges and their colour levels,
the VaR table, order and position rows, the equity line, the ladder's own-order column, and TradingSession's
own-order levels and order list."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from desk.domain.events import Side
from desk.domain.instruments import Instrument
from desk.engine import Engine
from desk.execution.orders import Fill, Order, OrderStatus, OrderType
from desk.portfolio import Portfolio
from desk.risk.monitor import LimitUse, RiskReport
from desk.ui.gate import RedrawGate
from desk.ui.model import OWN_MARK, GridFormat, ladder_lines, line_text, with_own
from desk.ui.session import TradingSession
from desk.ui.trading_model import (
    RiskView,
    compact,
    equity_lines,
    gauge,
    gauge_line,
    level_role,
    limit_amounts,
    money,
    order_row,
    percent,
    position_lines,
    risk_lines,
    var_table,
)

from .conftest import DeskPair

INST = Instrument("ABC-USD", Decimal("0.5"), Decimal("0.1"))


def test_compact_and_money() -> None:
    assert [compact(x) for x in (0, 0.09, 0.1, 1, 602.27, 1280, 20_000, 2_500_000, -1500)] == [
        "0",
        "0.09",
        "0.1",
        "1",
        "602",
        "1.28k",
        "20k",
        "2.5M",
        "-1.5k",
    ]
    assert [compact(x) for x in (2e-05, 0.000123456, 1.5, -0.25)] == ["0.00002", "0.000123", "1.5", "-0.25"]
    assert money(1234.567, 9) == "1,234.57"
    assert money(-0.001, 9) == "0.00"
    assert money(123456.78, 9) == "123,457"  # cents do not fit in 9
    assert money(12_345_678.9, 9) == "12.3M"


def test_gauge_bars_and_colour_levels() -> None:
    assert gauge(0.5, 4) == "██  "
    assert gauge(0.3, 4) == "█▎  "  # 0.3 * 32 eighths = 9.6 -> 10 = one full cell and 2/8
    assert gauge(1.7, 3) == "███"  # over the limit: a full bar (the percentage tells how far)
    assert gauge(-1.0, 2) == "  "
    assert [level_role(f) for f in (0.0, 0.79, 0.8, 0.999, 1.0, 2.5)] == ["good", "good", "warn", "warn", "bad", "bad"]
    assert percent(0.5) == "50%" and percent(12.0) == ">999%"


def test_gauge_line_names_amounts_and_roles() -> None:
    line = gauge_line(LimitUse("position value BTC-USD", 16_000.0, 20_000.0), 46)
    # 46 = 15 name + 13 amounts + bar + 5 pct + 3 spaces: the bar is 10 cells; 0.8 * 80 eighths = 64 = 8 cells
    assert line_text(line).split() == ["value", "BTC-USD", "16k/20k", "█" * 8, "80%"]
    assert line[2] == (" " + "█" * 8 + "  ", "warn") and line[3] == ("   80%", "warn")
    assert len(line_text(line)) == 46
    assert limit_amounts(LimitUse("drawdown", 0.031, 0.10)) == "3.1%/10%"
    assert limit_amounts(LimitUse("concentration ETH-USD", 0.5, 1.0)) == "50.0%/100%"
    waiting = gauge_line(LimitUse("VaR", 0.0, 2000.0, "waiting for history"), 46)
    assert line_text(waiting).split() == ["VaR", "waiting", "for", "history,", "limit", "2k"]
    assert waiting[-1][1] == "muted" and len(line_text(waiting)) == 46


def test_gauge_line_bar_length_is_exact() -> None:
    line = gauge_line(LimitUse("gross exposure", 25_000.0, 50_000.0), 46)
    bar = line[2][0][1:]
    assert len(bar) == 10 and bar == "█████     " and line[2][1] == "good"


def _report(results: list[dict[str, float | str | None]], **kw: object) -> RiskReport:
    fields: dict[str, object] = {
        "ts_ns": 0,
        "symbols": ("BTC-USD", "ETH-USD"),
        "portfolio_value": 1000.0,
        "results": tuple(results),
        "contributions": {"BTC-USD": 60.5, "ETH-USD": 12.25},
        "covariance": np.eye(2),
        "observations": 90,
        "notes": (),
        "elapsed_s": 0.012,
    }
    fields.update(kw)
    return RiskReport(**fields)  # type: ignore[arg-type]


def _view(report: RiskReport | None, **kw: object) -> RiskView:
    fields: dict[str, object] = {
        "breaker": "normal",
        "breaker_reason": "",
        "report": report,
        "uses": (LimitUse("gross exposure", 100.0, 50_000.0),),
        "rejections": (),
        "stale": (),
        "method": "parametric",
        "confidence": 0.99,
        "horizon": "1d",
        "interval_s": 5.0,
    }
    fields.update(kw)
    return RiskView(**fields)  # type: ignore[arg-type]


def test_var_table_rows_per_method_columns_per_confidence() -> None:
    results = [
        {"method": "historical", "confidence": 0.95, "var": 50.0, "es": 61.0, "stderr": None},
        {"method": "historical", "confidence": 0.99, "var": 70.0, "es": 80.5, "stderr": None},
        {"method": "parametric", "confidence": 0.95, "var": 52.25, "es": 65.5, "stderr": None},
        {"method": "parametric", "confidence": 0.99, "var": 73.9, "es": 84.7, "stderr": None},
        {"method": "mc", "confidence": 0.99, "var": 74.0, "es": 85.0, "stderr": 0.25},
    ]
    lines = var_table(_view(_report(results)), 46)
    text = [line_text(line) for line in lines]
    assert text[0].split() == ["VaR", "1d", "95%", "99%"]
    assert text[1].split() == ["VaR", "ES", "VaR", "ES"]
    assert text[2].split() == ["hist", "50.00", "61.00", "70.00", "80.50"]
    assert text[3].split() == ["param", "52.25", "65.50", "73.90", "84.70"]
    assert text[4].split() == ["mc", "-", "-", "74.00", "85.00"]  # no 95% run for mc: dashes, not zeros
    assert lines[3][0][1] == "accent" and lines[2][0][1] == "label"  # the headline method stands out
    assert text[5] == "contrib param 99% BTC-USD 60.50 ETH-USD 12.25"
    assert text[6] == "obs 90  mc se 0.25  12 ms"
    assert all(len(t) <= 46 for t in text)


def test_var_table_before_a_run_and_with_too_little_history() -> None:
    assert line_text(var_table(_view(None, returns=12), 46)[0]) == "VaR 1d: 12 of 20 returns needed so far"
    assert line_text(var_table(_view(None, returns=20), 46)[0]) == "VaR 1d: first run within 5 s"
    short = _report([], error="12 returns so far; VaR needs at least 20")
    assert [line_text(line) for line in var_table(_view(short), 30)] == [
        "VaR 1d: 12 returns so far; VaR",  # exactly 30
        "needs at least 20",
    ]


def test_risk_lines_breaker_stale_and_rejections() -> None:
    view = _view(
        None,
        breaker="halted",
        breaker_reason="kill switch (tui)",
        stale=("SOL-USD",),
        rejections=((1_000_000_000, "o-1 buy BTC-USD: too big"), (61_000_000_000, "o-2 sell ETH-USD: halted")),
    )
    lines = risk_lines(view, 46, rejections=1)
    text = [line_text(line) for line in lines]
    assert text[0] == "breaker HALTED  kill switch (tui)" and lines[0][1][1] == "bad"
    assert text[1] == "stale feed: SOL-USD"
    assert text[-2:] == ["rejections", "00:01:01 o-2 sell ETH-USD: halted"]  # newest only, with its time


def test_order_rows() -> None:
    limit = Order("x-1", "ABC-USD", Side.SELL, OrderType.LIMIT, 25, 201)
    assert order_row(limit, INST) == ("ABC-USD", "sell", "2.5", "100.5", "new")
    market = Order("x-2", "ABC-USD", Side.BUY, OrderType.MARKET, 3, status=OrderStatus.FILLED)
    assert order_row(market, INST)[3] == "market"  # not filled yet: no price to show
    market.filled, market.filled_notional = 3, 200 * 1 + 201 * 2  # 1 lot at 100.0, 2 lots at 100.5
    assert order_row(market, INST) == ("ABC-USD", "buy", "0.3", "100.3", "filled")  # avg 200.67 ticks = 100.33


def test_position_lines_from_hand_worked_fills() -> None:
    portfolio = Portfolio({"ABC-USD": INST}, Decimal(1000))

    def fill(side: Side, ticks: int, lots: int) -> Fill:
        return Fill("f", "o", "ABC-USD", side, ticks, lots, Decimal("0.1"), "taker", 0, "manual")

    portfolio.apply_fill(fill(Side.BUY, 200, 20))  # 2.0 @ 100.0
    portfolio.apply_fill(fill(Side.SELL, 220, 10))  # 1.0 @ 110.0: realises (110 - 100) * 1 = 10
    lines = position_lines(portfolio, {"ABC-USD": 105.0}, 46)
    text = [line_text(line) for line in lines]
    assert text[0].split() == ["symbol", "qty", "avg", "unreal", "real"]
    # 1.0 left at avg 100.0, marked at 105: unrealised 5.00; equity = 1000 + 10 - 0.2 fees + 5 = 1014.80
    assert text[1].split() == ["ABC-USD", "1.0", "100.0", "5.00", "10.00"]
    assert lines[1][1][1] == "buy" and lines[1][3][1] == "good"
    assert text[2].split() == ["equity", "1,014.80", "fees", "0.20", "gross", "105"]


def test_equity_line_summary() -> None:
    lines = equity_lines([(0, 10_000.0), (1, 9_900.0), (2, 10_100.0)], 10_000.0, 0.01, 30, 4)
    assert line_text(lines[0]).split() == ["10,100.00", "+1.00%", "max", "dd", "1.00%", "x3"]
    assert len(lines) == 4 and all(len(line_text(line)) == 30 for line in lines[1:])
    assert line_text(equity_lines([], 10_000.0, 0.0, 30, 4)[0]).strip() == "waiting for the first equity sample"


def test_with_own_adds_our_prices_between_public_levels() -> None:
    bids = [(100, 5), (98, 7)]
    assert with_own(bids, {99: 3, 100: 1}, ask=False) == [(100, 5), (99, 0), (98, 7)]
    asks = [(101, 5), (104, 7)]
    assert with_own(asks, {103: 2}, ask=True) == [(101, 5), (103, 0), (104, 7)]
    assert with_own(asks, {}, ask=True) == asks


def test_ladder_marks_own_orders(warm_engine: Engine) -> None:
    view = warm_engine.view("BTC-USD", depth=5)
    fmt = GridFormat(view.instrument)
    bid = view.bids[1][0]
    lines = ladder_lines(view, 5, 66, fmt, ({bid: 1500}, {}))
    text = [line_text(line) for line in lines]
    assert text[0].split() == ["price", "mine", "size", "total", "depth"]
    row = next(t for t in text if t.split()[:1] == [fmt.price(bid)])
    assert row.split()[1] == OWN_MARK + fmt.size(1500)
    assert sum(OWN_MARK in t for t in text) == 1
    assert all(len(t) == 66 for t in text if t.strip() and "spread" not in t)
    # Without the desk's orders the column is not there at all (the market-only screen keeps its layout).
    assert line_text(ladder_lines(view, 5, 66, fmt)[0]).split() == ["price", "size", "total", "depth"]


def test_session_own_levels_and_recent_orders(warm_desk: DeskPair) -> None:
    desk, monitor = warm_desk
    session = TradingSession(desk, monitor)
    book = desk.engine.books["ETH-USD"]
    inst = book.instrument
    bids, asks = book.top(10)
    a = desk.manual_order("ETH-USD", Side.BUY, "1", inst.price_str(bids[5][0]))
    b = desk.manual_order("ETH-USD", Side.BUY, "0.5", inst.price_str(bids[5][0]))
    c = desk.manual_order("ETH-USD", Side.SELL, "2", inst.price_str(asks[7][0]))
    own = session.own_levels("ETH-USD")
    assert own.bids == {bids[5][0]: inst.size_to_lots("1.5")} and own.asks == {asks[7][0]: inst.size_to_lots("2")}
    assert session.own_levels("ETH-USD") is own  # cached until an order event
    desk.cancel_order(b.client_id)
    assert session.own_levels("ETH-USD").bids == {bids[5][0]: inst.size_to_lots("1")}
    assert session.own_levels("BTC-USD").bids == {}
    filled = desk.manual_order("ETH-USD", Side.BUY, "0.1")
    assert filled.status is OrderStatus.FILLED
    ids = [o.client_id for o in session.recent_orders(10)]
    assert ids[:2] == [c.client_id, a.client_id] or ids[:2] == [a.client_id, c.client_id]  # open first
    assert set(ids[2:]) == {b.client_id, filled.client_id}
    assert [o.client_id for o in session.recent_orders(1)] == ids[:1]


def test_redraw_gate() -> None:
    now = [0.0]
    gate = RedrawGate(1.0, lambda: now[0])
    assert gate.due("a")  # first call
    now[0] = 0.5
    assert not gate.due("a")  # same key, within the interval
    assert gate.due("b")  # a structural change: at once
    now[0] = 1.4
    assert not gate.due("b")
    now[0] = 1.6
    assert gate.due("b")  # the interval passed
    gate.reset()
    assert gate.due("b")
