"""Strategy signals on crafted price series, through a minimal context that fills market orders at once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from desk.book import OrderBook
from desk.domain import Bar, BookSnapshot, Instrument, Side, Trade
from desk.errors import UserError
from desk.execution.orders import Order, OrderType
from desk.strategies.base import Strategy
from desk.strategies.bollinger_squeeze import BollingerSqueeze
from desk.strategies.ma_crossover import MACrossover
from desk.strategies.market_maker import MarketMaker
from desk.strategies.mean_reversion import MeanReversion
from desk.strategies.params import parse_assignments, resolve_params
from desk.strategies.registry import available, load
from desk.strategies.rsi_reversion import RSIReversion

INST = Instrument("BTC-USD", Decimal("0.01"), Decimal("0.00001"), Decimal("1"))


class FakeContext:
    """Market orders fill immediately at the last close; limit orders are recorded."""

    def __init__(self, params: dict[str, object], account: float = 10_000.0) -> None:
        self.params = params
        self.symbol = "BTC-USD"
        self.instrument = INST
        self.now_ns = 0
        self.pos = 0
        self.orders: list[tuple[str, int, int | None]] = []
        self.account = Decimal(str(account))
        self.book = OrderBook(INST)
        self.open: list[Order] = []
        self.logs: list[str] = []

    def position(self) -> int:
        return self.pos

    def avg_entry_ticks(self) -> float | None:
        return None

    def account_value(self) -> Decimal:
        return self.account

    def open_orders(self) -> list[Order]:
        return self.open

    def market(self, side: Side, lots: int, tag: str = "") -> Order:
        self.pos += lots if side is Side.BUY else -lots
        self.orders.append((side.value, lots, None))
        return Order(str(len(self.orders)), "BTC-USD", side, OrderType.MARKET, lots)

    def limit(self, side: Side, lots: int, price: int, **kw: object) -> Order:
        self.orders.append((side.value, lots, price))
        order = Order(str(len(self.orders)), "BTC-USD", side, OrderType.LIMIT, lots, price)
        order.status = order.status.ACCEPTED
        self.open.append(order)
        return order

    def cancel(self, client_id: str) -> bool:
        return True

    def cancel_all(self) -> int:
        return 0

    def replace(self, client_id: str, *, price: int | None = None, lots: int | None = None) -> Order | None:
        self.orders.append(("replace", lots or 0, price))
        order = Order(f"r{len(self.orders)}", "BTC-USD", Side.BUY, OrderType.LIMIT, lots or 1, price)
        order.status = order.status.ACCEPTED
        return order

    def log(self, message: str) -> None:
        self.logs.append(message)


def make(cls: type[Strategy], **given: object) -> tuple[Strategy, FakeContext]:
    ctx = FakeContext(resolve_params(cls.params, given, cls.name))
    return cls(ctx), ctx  # type: ignore[arg-type]


def bar(close: float, i: int = 0) -> Bar:
    t = INST.round_price_to_ticks(close)
    return Bar("BTC-USD", 60, i * 60_000_000_000, t, t, t, t, 100, 1)


def feed(strategy: Strategy, closes: list[float]) -> None:
    for i, c in enumerate(closes):
        strategy.on_bar(bar(c, i))


def test_mean_reversion_enters_on_z_exits_at_mean_and_sizes_by_risk() -> None:
    s, ctx = make(MeanReversion, lookback_period=5, entry_std_dev=1.5, exit_std_dev=0.5)
    feed(s, [100.0, 100.0, 100.0, 100.0, 100.0])  # zero std: no signal
    assert ctx.orders == []
    # Window [100,100,100,100,90]: mean 98, std 4 -> z = -2 <= -1.5: enter long.
    s.on_bar(bar(90.0, 5))
    # Size: risk 1% of 10000 = 100; loss per unit at stop 90*0.02 = 1.8 -> 55.5 units;
    # cap 10% of 10000 / 90 = 11.111 units -> capped: 11.11111 BTC in 0.00001 lots = 1111111 lots.
    assert ctx.orders == [("buy", 1_111_111, None)]
    # Window [100,100,100,90,98]: mean 97.6, std 3.77 -> z = 0.106: exit.
    s.on_bar(bar(98.0, 6))
    assert ctx.orders[-1] == ("sell", 1_111_111, None) and ctx.pos == 0


def test_mean_reversion_risk_budget_binds_before_the_cap() -> None:
    s, ctx = make(MeanReversion, lookback_period=5, entry_std_dev=1.5, max_position_size=1.0)
    feed(s, [100.0, 100.0, 100.0, 100.0, 90.0])
    # by risk: 100 / (90*0.02) = 55.555 units; by cap 10000/90 = 111.1 -> 55.55555 BTC = 5555555 lots
    assert ctx.orders == [("buy", 5_555_555, None)]


def test_mean_reversion_stop_loss_on_trades() -> None:
    s, ctx = make(MeanReversion, lookback_period=5, entry_std_dev=1.5)
    feed(s, [100.0, 100.0, 100.0, 100.0, 90.0])
    assert ctx.pos > 0
    s.on_trade(Trade("BTC-USD", "sim", 1, INST.round_price_to_ticks(88.3), 1, Side.SELL, "t"))  # -1.9%: holds
    assert len(ctx.orders) == 1
    s.on_trade(Trade("BTC-USD", "sim", 2, INST.round_price_to_ticks(88.19), 1, Side.SELL, "t"))  # -2.01%: stop
    assert ctx.pos == 0 and "stop" in ctx.logs[0]


def test_mean_reversion_shorts_upper_extremes_unless_disabled() -> None:
    s, ctx = make(MeanReversion, lookback_period=5, entry_std_dev=1.5)
    feed(s, [100.0, 100.0, 100.0, 100.0, 110.0])
    assert ctx.orders[0][0] == "sell"
    s2, ctx2 = make(MeanReversion, lookback_period=5, entry_std_dev=1.5, allow_short=False)
    feed(s2, [100.0, 100.0, 100.0, 100.0, 110.0])
    assert ctx2.orders == []


def test_ma_crossover_acts_on_crosses_only() -> None:
    s, ctx = make(MACrossover, fast=2, slow=4, position_size=0.5)
    feed(s, [10.0, 10.0, 10.0, 9.0])  # fast 9.5 < slow 9.75: initial state, no trade
    assert ctx.orders == []
    s.on_bar(bar(12.0, 4))  # window [10,10,9,12]: fast 10.5 > slow 10.25: cross up -> buy 5000/12
    assert ctx.orders == [("buy", INST.round_size_to_lots(5000 / 12), None)]
    s.on_bar(bar(13.0, 5))  # still above: nothing
    assert len(ctx.orders) == 1
    s.on_bar(bar(5.0, 6))  # [9,12,13,5]: fast 9 < slow 9.75: cross down -> flat
    assert ctx.pos == 0 and len(ctx.orders) == 2


def test_rsi_reversion_buys_oversold_and_exits_at_midline() -> None:
    s, ctx = make(RSIReversion, period=3, oversold=30, exit_level=50)
    closes = [10.0, 11.0, 12.0, 13.0, 12.0, 11.0, 10.0, 9.0]  # a run of losses drives RSI towards 0
    feed(s, closes)
    assert ctx.orders and ctx.orders[0][0] == "buy"
    assert isinstance(s, RSIReversion) and s.rsi is not None and s.rsi < 30
    feed(s, [11.0, 13.0, 15.0])  # strong gains: RSI over 50 -> exit
    assert ctx.pos == 0


def test_bollinger_squeeze_breakout_and_exit() -> None:
    s, ctx = make(BollingerSqueeze, period=5, k=2.0, squeeze_threshold=0.01, breakout_window=3)
    feed(s, [100.0, 100.1, 99.9, 100.0, 100.05])  # bandwidth ~0.28%: squeeze
    assert ctx.orders == []
    s.on_bar(bar(103.0, 5))  # closes far above the upper band within the window: long
    assert ctx.orders[0][0] == "buy"
    s.on_bar(bar(100.0, 6))  # back to/below the middle band (~100.6): exit
    assert ctx.pos == 0


def test_market_maker_quotes_both_sides_and_skews_with_inventory() -> None:
    s, ctx = make(MarketMaker, spread_bps=10, quote_size=1000, max_inventory=5000, inventory_skew_bps=5)
    ctx.book.apply_snapshot(BookSnapshot("BTC-USD", "sim", 1, 0, ((5_999_000, 100_000),), ((6_001_000, 100_000),)))
    assert isinstance(s, MarketMaker)
    flat = s.desired()
    bid, lots = flat[Side.BUY]  # type: ignore[misc]
    ask, _ = flat[Side.SELL]  # type: ignore[misc]
    # mid 60000: bid floor(60000*(1-0.0005)/0.01) = 5997000, ask ceil(60000*1.0005/0.01) = 6003000
    assert (bid, ask) == (5_997_000, 6_003_000)
    assert lots == INST.round_size_to_lots(1000 / 60000)
    ctx.pos = INST.round_size_to_lots(4500 / 60000)  # long 4500 of 5000: both quotes shift down
    skewed = s.desired()
    assert skewed[Side.BUY] is None  # another 1000 would exceed the inventory cap
    assert skewed[Side.SELL] is not None and skewed[Side.SELL][0] < ask


def test_params_validation_messages() -> None:
    with pytest.raises(UserError, match=r"parameter mean_reversion.lookback_period = 'x': expected an integer in \[2"):
        resolve_params(MeanReversion.params, {"lookback_period": "x"}, "mean_reversion")
    with pytest.raises(UserError, match=r"= '1.5': expected a number in \[0, 1\]"):
        resolve_params(MeanReversion.params, {"max_position_size": "1.5"}, "mean_reversion")
    with pytest.raises(UserError, match="unknown parameter 'nope'"):
        resolve_params(MeanReversion.params, {"nope": 1}, "mean_reversion")
    with pytest.raises(UserError, match="expected NAME=VALUE"):
        parse_assignments(["novalue"])
    assert resolve_params(MeanReversion.params, {"allow_short": "false"})["allow_short"] is False


def test_registry_builtins_and_dotted_paths() -> None:
    assert {"mean_reversion", "ma_crossover", "rsi_reversion", "bollinger_squeeze", "market_maker"} <= set(available())
    assert load("desk.strategies.mean_reversion:MeanReversion") is MeanReversion
    with pytest.raises(UserError, match="unknown strategy 'nope'"):
        load("nope")
    with pytest.raises(UserError, match="is not a desk Strategy"):
        load("desk.domain:Instrument")
