"""The trading side of the TUI through Textual's Pilot: strategy keys, the parameter form, manual orders with
confirmation, own orders on the ladder, the kill switch, breaker reset and liquidation, the risk panel and the
VaR worker, alerts, the control socket, journal recovery, and ``desk run`` without ``--headless``.

Market data comes from the seeded simulator pushed by hand (``ManualFeed``) and the UI tick is called directly,
so nothing waits on wall-clock time; the VaR worker is awaited (``Worker.wait``), never slept on.
"""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Select

from desk.config import RiskSettings, Settings
from desk.control import send_command
from desk.domain.events import Side
from desk.errors import RuntimeFailure, UserError
from desk.execution.orders import OrderStatus
from desk.feeds.sim import NS, SimulatedMarket
from desk.risk.breaker import BreakerState
from desk.strategies.base import StrategyState
from desk.ui.app import DeskApp, build_app
from desk.ui.model import OWN_MARK, line_text
from desk.ui.screens.add_strategy import AddStrategyScreen
from desk.ui.screens.confirm import ConfirmScreen
from desk.ui.screens.order_entry import OrderEntryScreen
from desk.ui.screens.params import ParamsScreen
from desk.ui.trading_model import money
from desk.ui.widgets.ladder import Ladder
from desk.ui.widgets.orders import OrdersTable
from desk.ui.widgets.positions import PositionsPanel
from desk.ui.widgets.risk import RiskPanel
from desk.ui.widgets.strategies import StrategiesTable

from .conftest import DeskPair, ManualFeed, advance, fixed_clock, opening_events, trading_desk

SIZE = (160, 50)
MM = "market_maker:BTC-USD"


def make_app(pair: DeskPair, market: SimulatedMarket, settings: Settings | None = None) -> tuple[DeskApp, ManualFeed]:
    feed = ManualFeed(market.instruments)
    desk, monitor = pair
    app = build_app(settings or Settings(), feed=feed, desk=desk, monitor=monitor, clock=fixed_clock, freeze_gc=False)
    return app, feed


async def tick(pilot: Pilot[None]) -> None:
    pilot.app.update_view()  # type: ignore[attr-defined]
    await pilot.pause()


def table_cells(table: StrategiesTable | OrdersTable) -> dict[str, tuple[str, ...]]:
    return dict(table.rows_shown)


def panel_text(widget: RiskPanel | PositionsPanel | Ladder) -> list[str]:
    return [line_text(line) for line in widget.lines]


async def add_via_screen(pilot: Pilot[None], app: DeskApp, name: str) -> None:
    await pilot.press("a")
    screen = app.screen
    assert isinstance(screen, AddStrategyScreen)
    options = screen.query_one(OptionList)
    options.highlighted = screen.names.index(name)
    await pilot.press("enter")
    await pilot.pause()


# --- strategies ------------------------------------------------------------------------------------------------
async def test_add_start_pause_stop_a_strategy_from_keys(warm_desk: DeskPair, market: SimulatedMarket) -> None:
    app, _ = make_app(warm_desk, market)
    desk = warm_desk[0]
    async with app.run_test(size=SIZE) as pilot:
        await tick(pilot)
        await add_via_screen(pilot, app, "market_maker")
        assert not isinstance(app.screen, AddStrategyScreen)
        table = app.query_one(StrategiesTable)
        assert table_cells(table)[MM][:3] == ("market_maker", "BTC-USD", "stopped")
        for key, state in (("g", "running"), ("p", "paused"), ("g", "running"), ("x", "stopped")):
            await pilot.press(key)
            assert desk.runner.instances[MM].state.value == state, key
            assert table_cells(table)[MM][2] == state, key


async def test_adding_a_running_strategy_again_shows_the_reason_in_the_form(
    warm_desk: DeskPair, market: SimulatedMarket
) -> None:
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await add_via_screen(pilot, app, "market_maker")
        await pilot.press("g")
        await add_via_screen(pilot, app, "market_maker")
        assert isinstance(app.screen, AddStrategyScreen)  # refused: the form stays open with the reason
        assert "already running" in str(app.screen.query_one("#form-error").content)  # type: ignore[attr-defined]
        await pilot.press("escape")
        assert not isinstance(app.screen, AddStrategyScreen)


async def test_param_editor_rejects_a_bad_value_with_the_reason_and_applies_a_good_one(
    warm_desk: DeskPair, market: SimulatedMarket
) -> None:
    desk, _ = warm_desk
    desk.add_strategy("market_maker", "BTC-USD")
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await tick(pilot)
        await pilot.press("e")
        screen = app.screen
        assert isinstance(screen, ParamsScreen)
        names = [p.name for p in screen.params]
        assert names == ["spread_bps", "quote_size", "max_inventory", "refresh_interval", "inventory_skew_bps"]
        assert screen.field("spread_bps").value == "10.0"
        screen.field("spread_bps").value = "0.01"  # below min=0.1
        screen.field("refresh_interval").value = "soon"
        screen.field("spread_bps").focus()
        await pilot.press("enter")
        assert app.screen is screen  # nothing applied, the form stays
        assert screen.error("spread_bps") == "parameter market_maker.spread_bps = '0.01': expected a number >= 0.1"
        assert "refresh_interval = 'soon': expected a number in [0.05, 3600]" in screen.error("refresh_interval")
        assert desk.runner.instances[MM].params["spread_bps"] == 10.0
        screen.field("spread_bps").value = "25"
        screen.field("refresh_interval").value = "2"
        await pilot.press("enter")
        assert not isinstance(app.screen, ParamsScreen)
        assert desk.runner.instances[MM].params["spread_bps"] == 25.0
        assert desk.runner.instances[MM].params["refresh_interval"] == 2.0


# --- orders ----------------------------------------------------------------------------------------------------
async def test_manual_market_order_asks_for_confirmation_then_fills_and_shows_the_position(
    warm_desk: DeskPair, market: SimulatedMarket
) -> None:
    desk, _ = warm_desk
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await tick(pilot)
        await pilot.press("o")
        form = app.screen
        assert isinstance(form, OrderEntryScreen)
        form.query_one("#type", Select).value = "market"
        await pilot.pause()
        assert form.query_one("#price", Input).disabled
        # Off the lot grid: the reason is shown and nothing is sent.
        form.query_one("#qty", Input).value = "0.000000001"
        await pilot.press("enter")
        assert app.screen is form
        assert "not a multiple of lot size" in str(form.query_one("#form-error").content)
        form.query_one("#qty", Input).value = "0.01"
        await pilot.press("enter")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == "Send BUY 0.01 BTC-USD at market?"
        await pilot.press("n")  # back to the form, nothing sent
        assert app.screen is form and not desk.broker.orders
        await pilot.press("enter")
        await pilot.press("y")
        assert not isinstance(app.screen, (ConfirmScreen, OrderEntryScreen))
        (order,) = desk.broker.orders.values()
        assert order.status is OrderStatus.FILLED and order.strategy == "manual"
        inst = desk.instruments["BTC-USD"]
        assert desk.portfolio.position("BTC-USD").quantity == inst.size_to_lots("0.01")
        await tick(pilot)
        rows = [line.split() for line in panel_text(app.query_one(PositionsPanel))]
        btc = next(row for row in rows if row and row[0] == "BTC-USD")
        assert Decimal(btc[1]) == Decimal("0.01")
        assert Decimal(btc[2]) == desk.portfolio.position("BTC-USD").avg_price()
        assert table_cells(app.query_one(OrdersTable))[order.client_id] == (
            "BTC-USD",
            "buy",
            inst.size_str(order.quantity),
            f"{inst.price_float(order.avg_price_ticks or 0):.{inst.price_decimals}f}",
            "filled",
        )


async def test_own_orders_are_marked_on_the_ladder_and_cancel_removes_them(
    warm_desk: DeskPair, market: SimulatedMarket
) -> None:
    desk, _ = warm_desk
    book = desk.engine.books["BTC-USD"]
    inst = book.instrument
    bids, asks = book.top(20)
    public_prices = {price for price, _ in bids}
    # One order at a public level, one at a price between levels (the ladder shows it as a row of its own).
    at_level = bids[3][0]
    gap = next(p for p in range(bids[0][0] - 1, bids[5][0], -1) if p not in public_prices)
    first = desk.manual_order("BTC-USD", Side.BUY, "0.01", inst.price_str(at_level))
    desk.manual_order("BTC-USD", Side.BUY, "0.02", inst.price_str(at_level))
    desk.manual_order("BTC-USD", Side.BUY, "0.03", inst.price_str(gap))
    sell = desk.manual_order("BTC-USD", Side.SELL, "0.05", inst.price_str(asks[2][0]))
    assert all(o.status is OrderStatus.ACCEPTED for o in desk.broker.orders.values())
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await tick(pilot)
        rows = {line.split()[0]: line for line in panel_text(app.query_one(Ladder))[2:] if line.strip()}
        assert f"{OWN_MARK}0.03" in rows[inst.price_str(at_level)]  # 0.01 + 0.02 at one price
        assert f"{OWN_MARK}0.03" in rows[inst.price_str(gap)]
        assert rows[inst.price_str(gap)].split()[2] == "-"  # no public size there
        assert f"{OWN_MARK}0.05" in rows[inst.price_str(asks[2][0])]
        marked = [line for line in rows.values() if OWN_MARK in line]
        assert len(marked) == 3
        # Cancel the selected order (orders table, newest first): the sell goes, its mark too.
        orders = app.query_one(OrdersTable)
        assert orders.selected_key() == sell.client_id
        await pilot.press("d")
        assert desk.broker.orders[sell.client_id].status is OrderStatus.CANCELLED
        await tick(pilot)
        ladder_text = "\n".join(panel_text(app.query_one(Ladder)))
        assert f"{OWN_MARK}0.05" not in ladder_text and f"{OWN_MARK}0.03" in ladder_text
        assert first.status is OrderStatus.ACCEPTED


# --- risk ------------------------------------------------------------------------------------------------------
async def test_kill_switch_cancels_orders_and_stops_strategies_at_once(
    warm_desk: DeskPair, market: SimulatedMarket
) -> None:
    desk, monitor = warm_desk
    inst = desk.add_strategy("market_maker", "BTC-USD", {"spread_bps": 40.0})
    desk.start_strategy(inst.key)
    desk.add_strategy("mean_reversion", "ETH-USD")
    desk.start_strategy("mean_reversion:ETH-USD")
    advance(desk, market, 3)
    assert len(desk.open_orders()) >= 2  # the market maker quotes both sides
    book = desk.engine.books["BTC-USD"]
    desk.manual_order("BTC-USD", Side.BUY, "0.01", book.instrument.price_str(book.top(5)[0][4][0]))
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await tick(pilot)
        assert OWN_MARK in "\n".join(panel_text(app.query_one(Ladder)))
        await pilot.press("K")
        assert desk.open_orders() == []
        assert {i.state for i in desk.runner.instances.values()} == {StrategyState.STOPPED}
        assert monitor.breaker.state is BreakerState.HALTED
        await tick(pilot)
        assert OWN_MARK not in "\n".join(panel_text(app.query_one(Ladder)))
        statuses = {cells[4] for cells in table_cells(app.query_one(OrdersTable)).values()}
        assert "open" not in statuses and "cxl" in statuses
        assert {cells[2] for cells in table_cells(app.query_one(StrategiesTable)).values()} == {"stopped"}
        assert "breaker HALTED" in panel_text(app.query_one(RiskPanel))[1]


async def test_ctrl_k_kills_even_with_a_form_open(warm_desk: DeskPair, market: SimulatedMarket) -> None:
    desk, monitor = warm_desk
    inst = desk.add_strategy("market_maker", "BTC-USD")
    desk.start_strategy(inst.key)
    advance(desk, market, 2)
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        assert isinstance(app.screen, OrderEntryScreen)
        await pilot.press("ctrl+k")
        assert desk.open_orders() == [] and desk.runner.instances[MM].state is StrategyState.STOPPED
        assert monitor.breaker.state is BreakerState.HALTED


async def test_breaker_reset_and_liquidation_ask_first(warm_desk: DeskPair, market: SimulatedMarket) -> None:
    desk, monitor = warm_desk
    desk.manual_order("ETH-USD", Side.BUY, "2")
    assert desk.portfolio.position("ETH-USD").quantity > 0
    monitor.kill("test")
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.detail == "now HALTED: kill switch (test)"
        assert monitor.breaker.state is BreakerState.HALTED  # nothing happens before the answer
        await pilot.press("n")
        assert monitor.breaker.state is BreakerState.HALTED
        await pilot.press("L")
        inst = desk.instruments["ETH-USD"]
        assert (
            isinstance(app.screen, ConfirmScreen)
            and app.screen.detail == f"ETH-USD {inst.size_str(inst.size_to_lots(2))}"
        )
        assert desk.portfolio.position("ETH-USD").quantity > 0
        await pilot.press("y")  # liquidation is allowed while HALTED
        assert desk.portfolio.position("ETH-USD").quantity == 0
        await pilot.press("R")
        await pilot.press("y")
        assert monitor.breaker.state is BreakerState.NORMAL


async def test_risk_panel_shows_every_limit_and_refreshes_when_a_var_report_arrives(
    market: SimulatedMarket,
) -> None:
    # A position at 90% of its quantity limit: that gauge is yellow; the rest are green.
    settings = dataclasses.replace(Settings(), risk=RiskSettings(max_position_qty=("BTC-USD=0.1",)))
    desk, monitor = trading_desk(market, settings)
    desk.engine.on_events(opening_events(market))
    advance(desk, market, 40)
    assert desk.manual_order("BTC-USD", Side.BUY, "0.09").status is OrderStatus.FILLED
    app, _ = make_app((desk, monitor), market, settings)
    async with app.run_test(size=SIZE) as pilot:
        await tick(pilot)
        panel = app.query_one(RiskPanel)
        text = panel_text(panel)
        assert any("first run within 5 s" in line for line in text)
        uses = monitor.utilisation()
        gauges = {line_text(line)[:15].strip(): line for line in panel.lines if len(line) == 4}
        assert len(gauges) == sum(1 for u in uses if not u.detail)
        qty = gauges["qty BTC-USD"]
        assert line_text(qty).split()[2] == "0.09/0.1"
        assert qty[2][1] == qty[3][1] == "warn" and qty[3][0].strip() == "90%"
        assert gauges["gross exposure"][2][1] == "good"
        assert any(line.startswith("VaR") and "waiting for history" in line for line in text)

        worker = app.run_var()
        assert worker is not None
        assert app.run_var() is None  # a second start while one is running is skipped
        await worker.wait()  # the thread finished; its result arrives as a message on the loop
        for _ in range(50):  # the worker's message is handled on the loop: bounded wait, not a timer
            if app.var_runs:
                break
            await pilot.pause()
        assert app.var_runs >= 1 and monitor.report is not None
        report = monitor.report
        text = panel_text(panel)
        col_w = max(5, (panel.size.width - 6) // 4 - 1)  # two confidences: four number columns after the label
        methods = {
            line.split()[0]: line.split()[1:] for line in text if line.split()[:1] in (["hist"], ["param"], ["mc"])
        }
        assert set(methods) == {"hist", "param", "mc"}
        for method, label in (("historical", "hist"), ("parametric", "param"), ("mc", "mc")):
            shown = methods[label]
            expected: list[str] = []
            for conf in (0.95, 0.99):
                found = [r for r in report.results if r["method"] == method and r["confidence"] == conf]
                expected += [money(found[0][k], col_w) for k in ("var", "es")] if found else ["-", "-"]
            assert shown == expected
        assert report.results and all(r["var"] > 0 and r["es"] >= r["var"] for r in report.results)
        if report.error:  # e.g. too few returns for one method at 99%: said in the panel (wrapped), not hidden
            assert report.error in " ".join(line.strip() for line in text)
        contrib = next(line for line in text if line.startswith("contrib"))
        assert "BTC-USD" in contrib


async def test_alerts_become_notifications(warm_desk: DeskPair, market: SimulatedMarket) -> None:
    seen: list[Message] = []
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await pilot.pause()
        order = app.session.desk.manual_order("BTC-USD", Side.BUY, "0.6")  # over max_order_qty 0.5
        assert order.status is OrderStatus.REJECTED
        await pilot.pause()
    notes = [m.notification for m in seen if isinstance(m, Notify)]
    rejected = [n for n in notes if n.title == "rejected"]
    assert len(rejected) == 1 and "max_order_qty" in rejected[0].message
    assert rejected[0].severity == "warning"


# --- control socket, journal, CLI ----------------------------------------------------------------------------
async def test_control_socket_reaches_the_tui_desk_and_a_second_desk_is_refused(
    warm_desk: DeskPair, market: SimulatedMarket, tmp_path: Path
) -> None:
    sock = tmp_path / "control.sock"
    desk, monitor = warm_desk
    desk.add_strategy("market_maker", "BTC-USD")
    app = build_app(
        Settings(),
        feed=ManualFeed(market.instruments),
        desk=desk,
        monitor=monitor,
        control_socket=sock,
        clock=fixed_clock,
        freeze_gc=False,
    )
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(200):  # the server starts in a worker: wait until the socket exists (bounded)
            if sock.exists():
                break
            await pilot.pause(0.01)
        started = await asyncio.to_thread(send_command, sock, {"cmd": "strategy", "action": "start", "key": MM})
        assert started["ok"] and desk.runner.instances[MM].state is StrategyState.RUNNING
        halted = await asyncio.to_thread(send_command, sock, {"cmd": "halt"})
        assert halted["ok"] and halted["stopped"] == 1
        assert monitor.breaker.state is BreakerState.HALTED
        await tick(pilot)
        assert table_cells(app.query_one(StrategiesTable))[MM][2] == "stopped"
        with pytest.raises(RuntimeFailure, match="another desk is running"):
            await asyncio.to_thread(
                build_app, Settings(), feed=ManualFeed(market.instruments), control_socket=sock, freeze_gc=False
            )
    assert not sock.exists()


async def test_start_recovers_positions_orders_and_paused_strategies_from_the_journal(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    market = SimulatedMarket(seed=7, rate=400.0)
    first = build_app(
        Settings(), feed=ManualFeed(market.instruments), journal_path=journal, clock=fixed_clock, freeze_gc=False
    )
    desk = first.session.desk
    desk.engine.on_events(opening_events(market))
    advance(desk, market, 10)
    desk.add_strategy("market_maker", "BTC-USD", {"spread_bps": 40.0})
    desk.start_strategy(MM)
    desk.manual_order("ETH-USD", Side.BUY, "1")
    book = desk.engine.books["SOL-USD"]
    far_below = int((book.best_bid or 0) * 0.97)  # 3% under the touch: still resting 3 s later
    desk.manual_order("SOL-USD", Side.BUY, "2", book.instrument.price_str(far_below))
    advance(desk, market, 3)
    assert any(o.strategy == MM for o in desk.open_orders())
    # Manual orders come back resting; the strategy comes back paused, and pausing cancels its quotes.
    resting = {o.client_id for o in desk.open_orders() if o.strategy == "manual"}
    position = desk.portfolio.position("ETH-USD").quantity
    assert resting and position
    desk.close()  # the session ends without stopping the strategy, as a crash would

    seen: list[Message] = []
    app = build_app(
        Settings(), feed=ManualFeed(market.instruments), journal_path=journal, clock=fixed_clock, freeze_gc=False
    )
    again = app.session.desk
    assert again is not desk
    assert again.portfolio.position("ETH-USD").quantity == position
    assert {o.client_id for o in again.open_orders()} == resting
    assert again.runner.instances[MM].state is StrategyState.PAUSED
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await tick(pilot)
        assert table_cells(app.query_one(StrategiesTable))[MM][2] == "paused"
    notes = [m.notification.message for m in seen if isinstance(m, Notify)]
    assert any(n.startswith("recovered from the journal: ") and "1 strategies (paused)" in n for n in notes)


async def test_desk_run_without_headless_opens_the_tui_with_the_strategy_running(tmp_path: Path) -> None:
    from desk.commands.tui import prepare_tui

    settings = dataclasses.replace(Settings(), market=dataclasses.replace(Settings().market, symbols=("ETH-USD",)))
    app = prepare_tui(
        settings,
        strategies=["market_maker"],
        symbol="SOL-USD",
        params={"spread_bps": "30"},
        journal=tmp_path / "j.sqlite",
        control_socket=tmp_path / "c.sock",
    )
    inst = app.session.desk.runner.instances["market_maker:SOL-USD"]
    assert inst.state is StrategyState.RUNNING and inst.params["spread_bps"] == 30.0
    assert app.symbol == "SOL-USD" and app.symbols == ["ETH-USD", "SOL-USD"]
    app.session.desk.close()
    with pytest.raises(UserError, match="spread_bps = 'wide'"):
        prepare_tui(
            settings,
            strategies=["market_maker"],
            symbol="SOL-USD",
            params={"spread_bps": "wide"},
            journal=tmp_path / "k.sqlite",
            control_socket=tmp_path / "c.sock",
        )


def test_desk_run_tui_only_flags_need_headless(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {"DESK_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "desk", "run", "--strategy", "market_maker", "--symbol", "BTC-USD", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == ["desk: error: --json needs --headless: the TUI runs until you quit it"]


# --- redraw discipline -----------------------------------------------------------------------------------------
async def test_trading_panels_skip_work_when_nothing_changed(warm_desk: DeskPair, market: SimulatedMarket) -> None:
    desk, _ = warm_desk
    desk.add_strategy("market_maker", "BTC-USD")
    desk.manual_order("BTC-USD", Side.BUY, "0.01")
    app, feed = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await tick(pilot)
        strategies, orders = app.query_one(StrategiesTable), app.query_one(OrdersTable)
        positions, risk = app.query_one(PositionsPanel), app.query_one(RiskPanel)
        now = [0.0]
        for widget in (strategies, positions, risk):
            widget.gate.clock = lambda: now[0]
        before = (strategies.rebuilds, orders.rebuilds, positions.lines, risk.lines)
        for _ in range(5):  # the market moves, nothing of ours changes, less than a second passes
            feed.push(market.events_until(market.now_ns + NS // 10))
            now[0] += 0.05
            app.update_view()
        after = (strategies.rebuilds, orders.rebuilds, positions.lines, risk.lines)
        assert [a is b or a == b for a, b in zip(before, after, strict=True)] == [True] * 4
        assert positions.lines is before[2] and risk.lines is before[3]
        # A fill redraws the positions at once.
        desk.manual_order("BTC-USD", Side.BUY, "0.01")
        app.update_view()
        assert positions.lines is not before[2]
        assert orders.rebuilds == before[1] + 1
