"""The trading desk end to end on the simulated market: fills, journal, recovery, error isolation."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from desk.domain import Side
from desk.execution.orders import OrderStatus
from desk.feeds.sim import NS, SimulatedMarket
from desk.journal import JournalReader
from desk.journal.positions import positions_from_fills
from desk.journal.schema import SCHEMA_VERSION
from desk.strategies.base import Strategy, StrategyState
from desk.trading import TradingDesk


def run_desk(
    path: Path | None, seconds: float, *, market: SimulatedMarket | None = None, **strategy: object
) -> TradingDesk:
    market = market or SimulatedMarket(seed=4, rate=1500)
    desk = TradingDesk(market.instruments, journal_path=path, id_prefix="t")
    desk.engine.on_events(market.snapshots())
    if strategy:
        inst = desk.add_strategy(str(strategy.pop("name")), str(strategy.pop("symbol")), dict(strategy))
        desk.start_strategy(inst.key)
    end = market.now_ns + int(seconds * NS)
    while market.now_ns < end:
        desk.engine.on_events(market.events_until(market.now_ns + NS // 10))
    return desk


def test_market_maker_trades_and_journal_rebuilds_the_same_positions(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    desk = run_desk(
        path, 120, name="market_maker", symbol="SOL-USD", spread_bps=2.0, quote_size=300.0, refresh_interval=0.5
    )
    assert desk.fills_seen >= 5
    live_positions = {s: p.quantity for s, p in desk.portfolio.positions.items()}
    live_realized = desk.portfolio.realized()
    assert desk.journal is not None and desk.journal.flush()
    desk.close()

    reader = JournalReader(path)
    assert reader.rows("PRAGMA user_version")[0]["user_version"] == SCHEMA_VERSION
    fills = reader.fills()
    assert len(fills) == desk.fills_seen
    # Positions from the journal's decimal strings alone agree with the live portfolio.
    rows = {r["symbol"]: r for r in positions_from_fills(fills)}
    inst = desk.instruments["SOL-USD"]
    assert inst.size_to_lots(rows["SOL-USD"]["quantity"]) == live_positions["SOL-USD"]
    assert Decimal(rows["SOL-USD"]["realized_pnl"]) == live_realized
    # Every order's lifecycle was journaled, starting with accepted or rejected.
    events = reader.rows("SELECT order_id, status FROM order_events ORDER BY id")
    first = {}
    for e in events:
        first.setdefault(e["order_id"], e["status"])
    assert set(first.values()) <= {"accepted", "rejected"}
    assert reader.rows("SELECT count(*) AS n FROM audit")[0]["n"] >= 2  # strategy.add, strategy.start
    reader.close()

    again = TradingDesk(SimulatedMarket(seed=4).instruments, journal_path=path, id_prefix="u")
    counts = again.recover()
    assert counts["fills"] == len(fills)
    assert {s: p.quantity for s, p in again.portfolio.positions.items()} == live_positions
    assert again.portfolio.realized() == live_realized
    assert counts["strategies"] == 1  # still running when the desk went away: comes back paused
    again.close()


def test_running_strategy_and_open_orders_are_recovered_paused(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    desk = run_desk(path, 5, name="market_maker", symbol="BTC-USD", spread_bps=50.0, quote_size=500.0)
    open_ids = {o.client_id for o in desk.open_orders()}
    assert len(open_ids) == 2  # one quote each side, far from the touch
    desk.close()  # a crash: nothing stops the strategy
    again = TradingDesk(SimulatedMarket(seed=4).instruments, journal_path=path, id_prefix="u")
    counts = again.recover()
    assert counts["strategies"] == 1
    inst = again.runner.instances["market_maker:BTC-USD"]
    assert inst.state is StrategyState.PAUSED  # a human resumes it
    assert inst.params["spread_bps"] == 50.0
    # Pausing cancels its quotes, so the recovered orders are cancelled and journaled as such.
    assert {o.client_id for o in again.open_orders()} == set()
    assert all(again.broker.orders[i].status is OrderStatus.CANCELLED for i in open_ids)
    again.close()


class Exploding(Strategy):
    name = "exploding"

    def on_trade(self, trade: object) -> None:
        raise ZeroDivisionError("boom")


def test_a_failing_strategy_stops_alone(tmp_path: Path) -> None:
    market = SimulatedMarket(seed=4, rate=1500)
    desk = TradingDesk(market.instruments, journal_path=tmp_path / "j.db", id_prefix="t")
    desk.engine.on_events(market.snapshots())
    bad = desk.add_strategy(f"{__name__}:Exploding", "BTC-USD")
    good = desk.add_strategy("market_maker", "BTC-USD", {"spread_bps": 40.0})
    desk.start_strategy(bad.key)
    desk.start_strategy(good.key)
    desk.engine.on_events(market.events_until(market.now_ns + 5 * NS))
    assert bad.state is StrategyState.ERROR and "ZeroDivisionError: boom" in bad.error
    assert good.state is StrategyState.RUNNING
    desk.close()
    reader = JournalReader(tmp_path / "j.db")
    states = [r["state"] for r in reader.rows("SELECT state FROM strategy_runs WHERE key = ?", [bad.key])]
    reader.close()
    assert states[-1] == "error"


def test_manual_orders_validate_on_the_grid(tmp_path: Path) -> None:
    market = SimulatedMarket(seed=4, rate=1500)
    desk = TradingDesk(market.instruments, id_prefix="t")
    desk.engine.on_events(market.snapshots())
    order = desk.manual_order("ETH-USD", Side.BUY, "0.5000")
    assert order.status is OrderStatus.FILLED
    import pytest

    from desk.errors import UserError

    with pytest.raises(UserError, match=r"not a multiple of lot size 0\.0001"):
        desk.manual_order("ETH-USD", Side.BUY, "0.00005")
    with pytest.raises(UserError, match="unknown symbol 'XRP-USD'"):
        desk.manual_order("XRP-USD", Side.BUY, "1")


class BookWatcher(Strategy):
    name = "book_watcher"

    def on_start(self) -> None:
        self.books_seen = 0

    def on_book(self, book: object) -> None:
        self.books_seen += 1


def test_book_changes_reach_strategies_once_per_batch_and_wait_while_paused() -> None:
    market = SimulatedMarket(seed=4, rate=1500)
    desk = TradingDesk(market.instruments, id_prefix="t")
    inst = desk.runner.add(f"{__name__}:BookWatcher", "BTC-USD")
    desk.start_strategy(inst.key)
    watcher = inst.strategy
    assert isinstance(watcher, BookWatcher)
    desk.engine.on_events(market.snapshots())  # one batch: on_book once, however many books changed
    assert watcher.books_seen == 1
    desk.engine.on_events(())  # no book change since: nothing to see
    assert watcher.books_seen == 1
    desk.pause_strategy(inst.key)
    desk.engine.on_events(market.snapshots())  # seen while paused: kept for when it resumes
    assert watcher.books_seen == 1
    desk.engine.on_events(())
    assert watcher.books_seen == 1
    desk.start_strategy(inst.key)
    desk.engine.on_events(())  # the first batch after resuming delivers the pending change
    assert watcher.books_seen == 2
    desk.engine.on_events(())
    assert watcher.books_seen == 2
