"""Every pre-trade limit, every breaker transition and the kill switch, on a desk fed by the simulated market."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from desk.config import RiskSettings
from desk.domain import BookDelta, Side
from desk.execution.orders import Order, OrderStatus, OrderType
from desk.feeds.sim import NS, SimulatedMarket
from desk.risk.breaker import BreakerState, CircuitBreaker
from desk.risk.limits import Limits
from desk.risk.monitor import RiskMonitor, compute_report
from desk.strategies.base import StrategyState
from desk.trading import TradingDesk

BASE = Limits.from_settings(RiskSettings())


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make(limits: Limits = BASE, seconds: float = 2.0) -> tuple[TradingDesk, RiskMonitor, SimulatedMarket, Clock]:
    market = SimulatedMarket(seed=21, rate=800)
    desk = TradingDesk(market.instruments, id_prefix="r", account_value=Decimal(10_000))
    clock = Clock()
    monitor = RiskMonitor(desk, limits, wall_clock=clock)
    desk.engine.on_events(market.snapshots())
    desk.engine.on_events(market.events_until(market.now_ns + int(seconds * NS)))
    return desk, monitor, market, clock


def buy(desk: TradingDesk, symbol: str, qty: str, price: str | None = None) -> Order:
    return desk.manual_order(symbol, Side.BUY, qty, price, source="test")


def test_order_size_and_value_limits() -> None:
    desk, _, _, _ = make(replace(BASE, max_order_notional=1_000.0))
    big = buy(desk, "BTC-USD", "0.6")
    assert big.status is OrderStatus.REJECTED and "exceeds max_order_qty 0.5" in big.reason
    pricey = buy(desk, "ETH-USD", "1")  # ~3000 > 1000
    assert pricey.status is OrderStatus.REJECTED and "exceeds max_order_notional 1,000.00" in pricey.reason
    ok = buy(desk, "SOL-USD", "1")
    assert ok.status is OrderStatus.FILLED


def test_position_quantity_value_gross_and_concentration() -> None:
    desk, _, _, _ = make(replace(BASE, max_position_qty={"SOL-USD": Decimal("5")}))
    assert buy(desk, "SOL-USD", "4").status is OrderStatus.FILLED
    over = buy(desk, "SOL-USD", "2")
    assert over.status is OrderStatus.REJECTED and "would exceed max_position_qty 5" in over.reason
    # Reducing is always allowed, even past a limit.
    assert desk.manual_order("SOL-USD", Side.SELL, "3", source="test").status is OrderStatus.FILLED

    desk, _, _, _ = make(replace(BASE, max_position_notional=400.0))
    assert "max_position_notional" in buy(desk, "SOL-USD", "3").reason  # ~450 > 400

    desk, _, _, _ = make(replace(BASE, max_gross_exposure=3_500.0))
    assert buy(desk, "ETH-USD", "1").status is OrderStatus.FILLED  # ~3000
    assert "max_gross_exposure" in buy(desk, "SOL-USD", "5").reason  # +750

    desk, _, _, _ = make(replace(BASE, max_concentration=0.2))
    assert "max_concentration" in buy(desk, "ETH-USD", "1").reason  # ~3000 of ~10000 equity = 30%


def test_order_rate_limit() -> None:
    desk, _, _, _ = make(replace(BASE, max_orders_per_minute=3))
    results = [buy(desk, "SOL-USD", "0.1").status for _ in range(4)]
    assert results[:3] == [OrderStatus.FILLED] * 3
    last = desk.broker.orders[list(desk.broker.orders)[-1]]
    assert results[3] is OrderStatus.REJECTED and "max_orders_per_minute 3" in last.reason


def test_feed_gate_rejects_stale_invalid_and_crossed_books() -> None:
    desk, monitor, market, clock = make()
    clock.t += 60  # a minute of wall time without any message
    monitor.evaluate(desk.clock())
    stale = buy(desk, "SOL-USD", "1")
    assert stale.status is OrderStatus.REJECTED and "feed is stale" in stale.reason
    desk.engine.on_events(market.events_until(market.now_ns + NS))  # messages flow again
    monitor.evaluate(desk.clock())
    assert buy(desk, "SOL-USD", "1").status is OrderStatus.FILLED
    book = desk.engine.books["SOL-USD"]
    ask = book.best_ask
    assert ask is not None
    crossing = BookDelta("SOL-USD", "sim", book.seq + 1, book.seq + 1, desk.clock(), ((ask + 5, 1000),), ())
    desk.engine.on_events([crossing])
    assert "crossed" in buy(desk, "SOL-USD", "1").reason
    book.invalidate("sequence gap: expected 5, got 9")
    assert "sequence gap" in buy(desk, "SOL-USD", "1").reason


def test_var_limit_uses_the_workers_covariance() -> None:
    desk, monitor, market, _ = make(replace(BASE, var_limit=50.0), seconds=1)
    for _ in range(60):  # a minute of one-second mids for the returns history
        desk.engine.on_events(market.events_until(market.now_ns + NS))
    report = monitor.compute_now()
    assert report.covariance is not None and report.observations >= 50
    small = buy(desk, "SOL-USD", "0.01")
    assert small.status is OrderStatus.FILLED
    big = buy(desk, "SOL-USD", "50")
    assert big.status is OrderStatus.REJECTED and "would exceed var_limit 50.00" in big.reason
    # The check is the parametric closed form on the covariance: recompute it independently.
    exposures = monitor.exposures()
    exposures[2] += 50 * desk.engine.books["SOL-USD"].mid()  # type: ignore[operator]
    sigma = float(np.sqrt(exposures @ report.covariance @ exposures))
    expected = 2.3263478740408408 * sigma * np.sqrt(86_400.0)
    assert monitor.var_after("SOL-USD", float(exposures[2])) == pytest.approx(expected, rel=1e-3)


def test_breaker_transitions_escalate_only_and_reset_manually() -> None:
    breaker = CircuitBreaker()
    seen: list[tuple[str, str]] = []
    breaker.listeners.append(lambda t: seen.append((t.previous.value, t.state.value)))
    assert breaker.escalate(BreakerState.REDUCE_ONLY, "drawdown near the limit", 1)
    assert not breaker.escalate(BreakerState.REDUCE_ONLY, "again", 2)
    assert breaker.escalate(BreakerState.HALTED, "daily loss", 3)
    assert not breaker.escalate(BreakerState.REDUCE_ONLY, "lower", 4)  # never de-escalates by itself
    assert breaker.reset("manual", 5)
    assert seen == [("normal", "reduce_only"), ("reduce_only", "halted"), ("halted", "normal")]


def test_daily_loss_drawdown_losing_streak_and_errors_trip_the_breaker() -> None:
    desk, monitor, _, _ = make(replace(BASE, daily_loss_limit=100.0))
    monitor.daily_pnl()  # opens the day at the current equity
    desk.portfolio.starting_value -= Decimal(85)  # an 85 loss: past 80% of the limit
    monitor.evaluate(desk.clock())
    assert monitor.breaker.state is BreakerState.REDUCE_ONLY
    assert buy(desk, "SOL-USD", "1").reason.startswith("circuit breaker REDUCE_ONLY")
    desk.portfolio.starting_value -= Decimal(20)
    monitor.evaluate(desk.clock())
    assert monitor.breaker.state is BreakerState.HALTED and "daily loss" in monitor.breaker.reason

    desk, monitor, _, _ = make(replace(BASE, max_drawdown=0.05))
    desk.portfolio.peak_equity = 10_600.0  # equity ~10000: 5.7% below the peak
    monitor.evaluate(desk.clock())
    assert monitor.breaker.state is BreakerState.HALTED and "drawdown" in monitor.breaker.reason

    desk, monitor, _, _ = make(replace(BASE, max_consecutive_losses=2))
    for _ in range(2):  # buy at the ask, sell at the bid: a small loss each round trip
        buy(desk, "SOL-USD", "1")
        desk.manual_order("SOL-USD", Side.SELL, "1", source="test")
    assert monitor.breaker.state is BreakerState.REDUCE_ONLY and "2 losing trades" in monitor.breaker.reason

    desk, monitor, _, _ = make(replace(BASE, max_strategy_errors=1))
    inst = desk.runner.add("market_maker", "BTC-USD")
    desk.runner.start(inst.key)
    desk.runner._set_state(inst, StrategyState.ERROR, "ValueError: x")  # as the runner does on an exception
    assert monitor.breaker.state is BreakerState.HALTED


def test_kill_switch_cancels_orders_and_stops_strategies_at_once(tmp_path: object) -> None:
    desk, monitor, market, _ = make()
    inst = desk.runner.add("market_maker", "BTC-USD", {"spread_bps": 40.0})
    desk.runner.start(inst.key)
    desk.engine.on_events(market.events_until(market.now_ns + 3 * NS))
    assert len(desk.open_orders()) == 2
    result = monitor.kill("test")
    assert result == {"cancelled": 2, "stopped": 1}
    assert desk.open_orders() == [] and inst.state is StrategyState.STOPPED
    assert monitor.breaker.state is BreakerState.HALTED
    assert "HALTED" in buy(desk, "SOL-USD", "1").reason
    # Liquidation is still possible while halted.
    desk2, monitor2, _, _ = make()
    buy(desk2, "SOL-USD", "2")
    monitor2.kill("test")
    orders = monitor2.liquidate("test")
    assert [o.status for o in orders] == [OrderStatus.FILLED]
    assert desk2.portfolio.position("SOL-USD").quantity == 0


def test_compute_report_all_methods_and_contributions_sum() -> None:
    desk, monitor, market, _ = make()
    buy(desk, "ETH-USD", "1")
    desk.manual_order("SOL-USD", Side.SELL, "5", source="test")
    for _ in range(110):
        desk.engine.on_events(market.events_until(market.now_ns + NS))
    inputs = monitor.var_inputs()
    report = compute_report(inputs, ("parametric", 0.99))
    methods = {(r["method"], r["confidence"]) for r in report.results}
    assert methods == {(m, c) for m in ("historical", "parametric", "mc") for c in (0.95, 0.99)}
    assert sum(report.contributions.values()) == pytest.approx(
        next(r["var"] for r in report.results if (r["method"], r["confidence"]) == ("parametric", 0.99))
    )
    assert all(r["es"] >= r["var"] for r in report.results)
    tiny = compute_report(replace(inputs, returns=inputs.returns[:5]), ("parametric", 0.99))
    assert tiny.results == () and "needs at least 20" in tiny.error


def test_limits_parse_errors() -> None:
    from desk.errors import UserError

    with pytest.raises(UserError, match="expected SYMBOL=QTY with a number"):
        Limits.from_settings(RiskSettings(max_position_qty=("BTC-USD=abc",)))
    assert Order  # keep import for typing of helpers
    assert OrderType.MARKET
