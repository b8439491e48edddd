"""Order state machine, fill engine walks (hand-computed), partial fills, queue position, paper broker."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from desk.book import OrderBook
from desk.domain import BookDelta, BookSnapshot, Instrument, Side, Trade
from desk.execution.fees import FeeSchedule
from desk.execution.fills import FillEngine
from desk.execution.orders import InvalidTransition, Order, OrderStatus, OrderType, TimeInForce
from desk.execution.paper import PaperBroker

INST = Instrument("BTC-USD", Decimal("0.01"), Decimal("0.001"), Decimal("10"))


def make_broker(
    bids: list[tuple[int, int]], asks: list[tuple[int, int]], fees: FeeSchedule | None = None
) -> tuple[PaperBroker, OrderBook, list]:  # type: ignore[type-arg]
    book = OrderBook(INST)
    book.apply_snapshot(BookSnapshot("BTC-USD", "sim", 1, 0, tuple(bids), tuple(asks)))
    counter = itertools.count(1)
    engine = FillEngine(fees or FeeSchedule(Decimal("1"), Decimal("5")), lambda: f"f{next(counter)}")
    broker = PaperBroker({"BTC-USD": book}, engine, clock=lambda: 1_000, id_prefix="t")
    log: list = []  # type: ignore[type-arg]
    broker.order_listeners.append(lambda o, e: log.append(("order", e.status, e.reason)))
    broker.fill_listeners.append(lambda o, f: log.append(("fill", f.price, f.quantity, f.liquidity, f.fee)))
    return broker, book, log


def order(side: Side, qty: int, price: int | None = None, **kw: object) -> Order:
    kind = OrderType.MARKET if price is None else OrderType.LIMIT
    return Order(f"o{qty}{price}", "BTC-USD", side, kind, qty, price, **kw)  # type: ignore[arg-type]


def test_state_machine_forbids_invalid_transitions() -> None:
    o = order(Side.BUY, 1, 100)
    o.transition(OrderStatus.ACCEPTED, 1)
    o.transition(OrderStatus.PARTIALLY_FILLED, 2)
    o.transition(OrderStatus.FILLED, 3)
    with pytest.raises(InvalidTransition, match="filled -> cancelled"):
        o.transition(OrderStatus.CANCELLED, 4)
    fresh = order(Side.BUY, 1, 100)
    with pytest.raises(InvalidTransition):
        fresh.transition(OrderStatus.FILLED, 1)  # NEW must be accepted first


def test_market_buy_walks_levels_with_hand_computed_average_and_fees() -> None:
    # asks: 1000 lots @ 60000.00, 2000 @ 60000.50, 5000 @ 60001.00 (lots of 0.001 BTC)
    broker, _, log = make_broker([(5_999_900, 1000)], [(6_000_000, 1000), (6_000_050, 2000), (6_000_100, 5000)])
    o = broker.submit(order(Side.BUY, 3500))
    assert o.status is OrderStatus.FILLED
    fills = [entry for entry in log if entry[0] == "fill"]
    assert [(f[1], f[2]) for f in fills] == [(6_000_000, 1000), (6_000_050, 2000), (6_000_100, 500)]
    # average = (60000.00*1000 + 60000.50*2000 + 60001.00*500) / 3500 = 60000.428571...
    assert o.avg_price_ticks == pytest.approx((6_000_000 * 1000 + 6_000_050 * 2000 + 6_000_100 * 500) / 3500)
    # taker fee 5 bps on each level: 60000*1*0.0005 = 30, 60000.5*2*0.0005 = 60.0005, 60001*0.5*0.0005 = 15.00025
    assert [f[4] for f in fills] == [Decimal("30.00000000"), Decimal("60.00050000"), Decimal("15.00025000")]


def test_market_order_partially_fills_when_depth_runs_out_then_expires() -> None:
    broker, _, log = make_broker([(5_999_900, 1000)], [(6_000_000, 1000), (6_000_050, 500)])
    o = broker.submit(order(Side.BUY, 2000))
    assert o.filled == 1500 and o.status is OrderStatus.EXPIRED
    assert ("order", OrderStatus.PARTIALLY_FILLED, "") in log


def test_ioc_limit_stops_at_its_price() -> None:
    broker, _, _ = make_broker([(5_999_900, 1000)], [(6_000_000, 1000), (6_000_050, 2000)])
    o = broker.submit(order(Side.BUY, 2500, 6_000_000, tif=TimeInForce.IOC))
    assert o.filled == 1000 and o.status is OrderStatus.EXPIRED and o.reason == "IOC remainder"


def test_crossing_limit_takes_then_rests_the_remainder() -> None:
    broker, _, _ = make_broker([(5_999_900, 1000)], [(6_000_000, 1000), (6_000_050, 2000)])
    o = broker.submit(order(Side.BUY, 1500, 6_000_000))
    assert o.filled == 1000 and o.status is OrderStatus.PARTIALLY_FILLED
    assert broker.open_orders() == [o]


def test_rejections_name_the_reason() -> None:
    broker, _, _ = make_broker([(5_999_900, 1000)], [(6_000_000, 1000)])
    small = broker.submit(order(Side.BUY, 1, 5_999_000))  # 0.001 BTC * 59990 = 59.99 >= 10: fine
    assert small.status is OrderStatus.ACCEPTED
    tiny = broker.submit(Order("tiny", "BTC-USD", Side.BUY, OrderType.LIMIT, 1, 100))  # 1.00 * 0.001 = 0.001
    assert tiny.status is OrderStatus.REJECTED and "below the minimum 10" in tiny.reason
    post = broker.submit(order(Side.BUY, 5, 6_000_000, post_only=True))
    assert post.status is OrderStatus.REJECTED and "would take liquidity" in post.reason
    zero = broker.submit(Order("zero", "BTC-USD", Side.SELL, OrderType.MARKET, 0))
    assert zero.status is OrderStatus.REJECTED and "at least one lot" in zero.reason


def test_queue_position_model() -> None:
    broker, book, log = make_broker([(5_999_900, 3000)], [(6_000_000, 1000)])
    o = broker.submit(order(Side.BUY, 1000, 5_999_900))
    assert o.queue_ahead == 3000  # joins behind the displayed 3000 lots
    # Someone ahead cancels 500: the displayed level shrinks to 2500, so at most 2500 are ahead of us.
    delta = BookDelta("BTC-USD", "sim", 2, 2, 1, ((5_999_900, 2500),), ())
    book.apply_delta(delta)
    broker.on_event(delta)
    assert o.queue_ahead == 2500
    # Adds at our price join behind us: the queue ahead does not grow.
    delta = BookDelta("BTC-USD", "sim", 3, 3, 1, ((5_999_900, 4000),), ())
    book.apply_delta(delta)
    broker.on_event(delta)
    assert o.queue_ahead == 2500
    # A 2000-lot sell at our price eats the queue ahead only.
    broker.on_event(Trade("BTC-USD", "sim", 5, 5_999_900, 2000, Side.SELL, "x1"))
    assert o.filled == 0 and o.queue_ahead == 500
    # An 800-lot sell: 500 ahead, then 300 fill us (maker).
    broker.on_event(Trade("BTC-USD", "sim", 6, 5_999_900, 800, Side.SELL, "x2"))
    assert o.filled == 300 and o.status is OrderStatus.PARTIALLY_FILLED
    assert log[-1][0] == "fill" and log[-1][3] == "maker"
    # A buy-side trade at our price does not touch a resting bid.
    broker.on_event(Trade("BTC-USD", "sim", 7, 5_999_900, 800, Side.BUY, "x3"))
    assert o.filled == 300
    # A sell through our price fills the rest in full, at our price.
    broker.on_event(Trade("BTC-USD", "sim", 8, 5_999_800, 1, Side.SELL, "x4"))
    assert o.filled == 1000 and o.status is OrderStatus.FILLED
    assert broker.open_orders() == []
    # Maker fee 1 bp: 59999.00 * 0.7 * 0.0001 = 4.19993
    assert log[-1][4] == Decimal("4.19993000")


def test_cancel_and_replace() -> None:
    broker, _, log = make_broker([(5_999_900, 3000)], [(6_000_000, 1000)])
    o = broker.submit(order(Side.SELL, 100, 6_000_100))
    new = broker.replace(o.client_id, price=6_000_200)
    assert o.status is OrderStatus.CANCELLED and o.reason == "replaced"
    assert new is not None and new.status is OrderStatus.ACCEPTED and new.price == 6_000_200
    assert new.client_id != o.client_id
    assert broker.cancel_all() == 1
    assert not broker.cancel(new.client_id)  # already cancelled
    assert ("order", OrderStatus.CANCELLED, "cancel all") in log
