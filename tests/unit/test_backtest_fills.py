"""The bar-fill model inside the one fill engine, on hand-computed cases, through a real TradingDesk."""

from __future__ import annotations

from decimal import Decimal

import pytest

from desk.domain.events import Bar, Side
from desk.domain.instruments import Instrument
from desk.execution.fees import FeeSchedule
from desk.execution.fills import slippage_factors
from desk.execution.orders import OrderStatus
from desk.strategies.base import Strategy
from desk.trading import TradingDesk

NS = 1_000_000_000
SYM = "ABC-USD"
INST = Instrument(SYM, Decimal("0.01"), Decimal("0.001"))
T0 = 1_700_000_000 * NS


def bar(i: int, o: int, h: int, lo: int, c: int, tf: int = 60) -> Bar:
    return Bar(SYM, tf, T0 + i * tf * NS, o, h, lo, c, 1000, 0)


def make_desk(slippage: str = "0", taker: str = "10", maker: str = "2") -> TradingDesk:
    return TradingDesk(
        {SYM: INST},
        venue="backtest",
        fees=FeeSchedule(Decimal(maker), Decimal(taker)),
        id_prefix="t",
        slippage_bps=Decimal(slippage),
    )


def test_slippage_factors_are_exact_fractions() -> None:
    assert slippage_factors(Decimal("10")) == (1001, 999, 1000)
    assert slippage_factors(Decimal("0.5")) == (20001, 19999, 20000)
    assert slippage_factors(Decimal("0")) == (1, 1, 1)
    with pytest.raises(ValueError):
        slippage_factors(Decimal("-1"))


def test_market_order_fills_at_next_open_with_slippage_rounded_against_us() -> None:
    desk = make_desk(slippage="10")
    desk.engine.on_events([bar(0, 10_000, 10_050, 9_950, 10_000)])
    assert desk.clock() == T0 + 60 * NS  # a bar is known at its close
    buy = desk.manual_order(SYM, Side.BUY, "2", source="test")
    assert buy.status is OrderStatus.ACCEPTED and buy.filled == 0  # nothing trades at the decision close
    # next open 100.01: 10001 * 1.001 = 10011.001 ticks -> rounded up to 10012 (100.12)
    desk.engine.on_events([bar(1, 10_001, 10_100, 9_900, 10_050)])
    assert buy.status is OrderStatus.FILLED
    fill = desk.portfolio.position(SYM).quantity
    assert fill == 2000
    assert buy.filled_notional == 10_012 * 2000
    assert buy.fees == Decimal("0.20024")  # 100.12 * 2 * 10 bps, taker
    assert buy.updated_ns == T0 + 60 * NS  # stamped at the open of bar 1
    sell = desk.manual_order(SYM, Side.SELL, "2", source="test")
    # next open 100.01 again: 10001 * 0.999 = 9990.999 -> rounded down to 9990 (99.90)
    desk.engine.on_events([bar(2, 10_001, 10_020, 9_980, 10_000)])
    assert sell.status is OrderStatus.FILLED and sell.filled_notional == 9_990 * 2000
    assert desk.portfolio.position(SYM).quantity == 0
    # realised: (99.90 - 100.12) * 2 = -0.44; fees 0.20024 + 0.1998
    assert desk.portfolio.realized() == Decimal("-0.44")
    assert desk.portfolio.fees() == Decimal("0.20024") + Decimal("0.19980")


def test_resting_limit_fills_only_when_the_range_trades_through() -> None:
    desk = make_desk()
    desk.engine.on_events([bar(0, 10_000, 10_010, 9_990, 10_000)])
    order = desk.manual_order(SYM, Side.BUY, "1", "99.50", source="test")
    assert order.status is OrderStatus.ACCEPTED
    desk.engine.on_events([bar(1, 10_000, 10_010, 9_950, 9_990)])  # touches 99.50, does not go through
    assert order.status is OrderStatus.ACCEPTED
    desk.engine.on_events([bar(2, 9_990, 9_995, 9_949, 9_960)])  # trades through
    assert order.status is OrderStatus.FILLED
    assert order.filled_notional == 9_950 * 1000  # at its own price
    assert order.fees == Decimal("0.01990")  # 99.50 * 1 * 2 bps, maker
    assert order.updated_ns == T0 + 3 * 60 * NS  # range fills are stamped at the bar's close


def test_sell_limit_through_the_high() -> None:
    desk = make_desk()
    desk.engine.on_events([bar(0, 10_000, 10_010, 9_990, 10_000)])
    order = desk.manual_order(SYM, Side.SELL, "1", "100.20", source="test")
    desk.engine.on_events([bar(1, 10_000, 10_020, 9_990, 10_010)])
    assert order.status is OrderStatus.ACCEPTED
    desk.engine.on_events([bar(2, 10_010, 10_021, 10_000, 10_015)])
    assert order.status is OrderStatus.FILLED and order.filled_notional == 10_020 * 1000


def test_marketable_limit_trades_at_open_within_its_price_else_rests() -> None:
    desk = make_desk()
    desk.engine.on_events([bar(0, 10_000, 10_010, 9_990, 10_000)])
    at_open = desk.manual_order(SYM, Side.BUY, "1", "100.05", source="test")  # >= close 100.00: marketable
    rests = desk.manual_order(SYM, Side.BUY, "1", "100.02", source="test")  # marketable, but the open is above
    desk.engine.on_events([bar(1, 10_004, 10_010, 10_003, 10_006)])
    assert at_open.status is OrderStatus.FILLED and at_open.filled_notional == 10_004 * 1000
    assert at_open.fees == Decimal("0.10004")  # taker 10 bps
    assert rests.status is OrderStatus.ACCEPTED  # open 100.04 > 100.02; low 100.03 never went through
    desk.engine.on_events([bar(2, 10_006, 10_008, 10_001, 10_002)])
    assert rests.status is OrderStatus.FILLED and rests.filled_notional == 10_002 * 1000
    assert rests.fees == Decimal("0.020004")  # 100.02 * 2 bps, maker: it rested


def test_ioc_limit_expires_when_the_open_is_beyond_it() -> None:
    desk = make_desk()
    desk.engine.on_events([bar(0, 10_000, 10_010, 9_990, 10_000)])
    from desk.execution.orders import Order, OrderType, TimeInForce

    order = Order("ioc-1", SYM, Side.BUY, OrderType.LIMIT, 1000, 10_001, tif=TimeInForce.IOC)
    desk.gateway.submit(order)
    desk.engine.on_events([bar(1, 10_005, 10_010, 9_000, 10_000)])  # opens above; later trades far below
    assert order.status is OrderStatus.EXPIRED and order.filled == 0


def test_post_only_crossing_the_last_close_is_rejected_and_min_notional_uses_it() -> None:
    inst = Instrument(SYM, Decimal("0.01"), Decimal("0.001"), Decimal("50"))
    desk = TradingDesk({SYM: inst}, id_prefix="t")
    desk.engine.on_events([bar(0, 10_000, 10_010, 9_990, 10_000)])
    from desk.execution.orders import Order, OrderType

    po = Order("po-1", SYM, Side.BUY, OrderType.LIMIT, 1000, 10_000, post_only=True)
    assert desk.gateway.submit(po).status is OrderStatus.REJECTED
    small = desk.manual_order(SYM, Side.BUY, "0.4", source="test")  # 0.4 * 100.00 = 40 < 50
    assert small.status is OrderStatus.REJECTED and "below the minimum" in small.reason


def test_cancelled_market_order_does_not_fill() -> None:
    desk = make_desk()
    desk.engine.on_events([bar(0, 10_000, 10_010, 9_990, 10_000)])
    order = desk.manual_order(SYM, Side.BUY, "1", source="test")
    assert desk.cancel_order(order.client_id, source="test")
    desk.engine.on_events([bar(1, 10_000, 10_010, 9_990, 10_000)])
    assert order.status is OrderStatus.CANCELLED and desk.fills_seen == 0


class _Recorder(Strategy):
    name = "bar_recorder"
    bar_seconds = 60

    def on_bar(self, bar: Bar) -> None:
        seen.append((bar.timeframe_s, bar.start_ns, self.ctx.now_ns))


seen: list[tuple[int, int, int]] = []


def test_bars_reach_only_strategies_of_their_timeframe_and_marks_value_positions() -> None:
    seen.clear()
    desk = make_desk(taker="0")
    inst = desk.runner.add(f"{__name__}:_Recorder", SYM, bar_seconds=60)
    desk.runner.start(inst.key)
    desk.engine.on_events([bar(0, 10_000, 10_010, 9_990, 10_000)])
    desk.engine.on_events([bar(0, 10_000, 10_010, 9_990, 10_000, tf=300)])  # another timeframe: not ours
    assert seen == [(60, T0, T0 + 60 * NS)]
    desk.manual_order(SYM, Side.BUY, "1", source="test")
    desk.engine.on_events([bar(1, 10_000, 10_100, 9_990, 10_080)])
    # long 1 from 100.00, marked at the last close 100.80
    assert desk.mids()[SYM] == pytest.approx(100.80)
    assert desk.portfolio.equity(desk.mids()) == pytest.approx(10_000 + 0.80)
