"""The one fill engine: the paper broker uses it live, the backtester uses it on history.

Models (documented in docs/execution.md):
- **Taking liquidity** (market orders, IOC, and the crossing part of a limit order): walk the opposite side of the
  current L2 book level by level from the touch, up to the limit price if any; the average price follows from
  the levels consumed; when depth runs out the order is partially filled. Taker fee.
- **Resting limit orders** (queue-position model): on placement the order joins the back of the queue at its
  price (``queue_ahead`` = size already displayed there). A book update at our price can only shrink the queue
  ahead (``min(queue_ahead, new size)``: cancels ahead of us; adds join behind). A trade AT our price first
  consumes the queue ahead, then fills us; a trade THROUGH our price (a sell below our bid, a buy above our ask)
  means every order at our price was taken, so we fill in full at our price. Maker fee.
- **Bars** (backtests on OHLCV, where no book exists: the symbol's book is not live and ``Bar`` events drive it):
  an order decided on bar t's close cannot trade at that close. A market order (and a limit order that is
  marketable against that close) fills at bar t+1's **open**, moved against us by ``slippage_bps`` and rounded
  to the tick away from us (buys up, sells down), in full, with the taker fee; a marketable limit fills there
  only if that price is within its limit, otherwise it rests (an IOC expires). A resting limit fills in full at
  its own price, with the maker fee, when a later bar trades **through** it (low < buy price, high > sell price);
  a bar that only touches the price does not fill it (the queue ahead is unknown on bars, so we assume it was
  not worked through). Open fills are stamped at the bar's start, range fills at its end.
Our paper orders are not in the venue's book, so the displayed liquidity is not reduced by our own taker fills:
two market orders in the same instant see the same levels (a known optimism of paper trading, kept small by
trading sizes well inside the displayed depth).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

from desk.book.l2 import OrderBook
from desk.domain.events import Bar, Side, Trade
from desk.domain.instruments import Instrument
from desk.execution.fees import FeeSchedule
from desk.execution.orders import Fill, Order, OrderType, TimeInForce

NS = 1_000_000_000

# Bound once: enum member access costs ~0.13 us on Python 3.11 (see desk.execution.orders), and every order and
# fill reads several.
_LIMIT = OrderType.LIMIT
_MARKET = OrderType.MARKET
_IOC = TimeInForce.IOC
_BUY = Side.BUY
_SELL = Side.SELL


def slippage_factors(slippage_bps: Decimal) -> tuple[int, int, int]:
    """``(buy_num, sell_num, den)``: the bar-fill price is ``ceil(open * buy_num / den)`` for a buy and
    ``floor(open * sell_num / den)`` for a sell. Exact integers, so the vectorised backtest can use the very same
    rounding on int64 arrays."""
    if slippage_bps < 0:
        raise ValueError(f"slippage {slippage_bps} bps must be >= 0")
    frac = Fraction(slippage_bps) / 10_000
    return frac.denominator + frac.numerator, frac.denominator - frac.numerator, frac.denominator


class FillEngine:
    def __init__(
        self, fees: FeeSchedule, next_fill_id: Callable[[], str], *, slippage_bps: Decimal = Decimal(0)
    ) -> None:
        self.fees = fees
        self._next_fill_id = next_fill_id
        self.slippage_bps = slippage_bps
        self._slip = slippage_factors(slippage_bps)

    # --- validation -----------------------------------------------------------------------------
    def rejection(
        self, order: Order, instrument: Instrument, book: OrderBook, last_price: int | None = None
    ) -> str | None:
        """Why this order cannot be accepted, or None. ``last_price`` (bar mode) stands in for both touches."""
        if order.quantity <= 0:
            return f"quantity {instrument.size_str(order.quantity)} must be at least one lot ({instrument.lot_size})"
        if order.type is _LIMIT:
            if order.price is None or order.price <= 0:
                return "limit order needs a positive price"
            reference = order.price
        else:
            if order.price is not None:
                return "market order must not carry a price"
            touch = last_price if last_price is not None else book.best_ask if order.is_buy else book.best_bid
            if touch is None:
                return f"no {'asks' if order.is_buy else 'bids'} in the {order.symbol} book to trade against"
            reference = touch
        minimum = instrument.min_notional
        if minimum or reference < 0:  # the exact Decimal notional only when it can fall below the minimum
            notional = instrument.notional(reference, order.quantity)
            if notional < minimum:
                return f"notional {notional:f} below the minimum {minimum} for {order.symbol}"
        if order.post_only:
            if order.type is not _LIMIT:
                return "post-only needs a limit order"
            opposite = last_price if last_price is not None else book.best_ask if order.is_buy else book.best_bid
            if opposite is not None and (order.price >= opposite if order.is_buy else order.price <= opposite):  # type: ignore[operator]
                return f"post-only {order.side} at {instrument.price_str(order.price or 0)} would take liquidity"
        return None

    # --- taking liquidity -----------------------------------------------------------------------
    def take(self, order: Order, instrument: Instrument, book: OrderBook, ts_ns: int) -> list[Fill]:
        """Walk the book for ``order.remaining`` (up to the limit price); one fill per level consumed."""
        fills: list[Fill] = []
        limit = order.price if order.type is _LIMIT else None
        levels = book.top(1 << 30)[1] if order.is_buy else book.top(1 << 30)[0]
        remaining = order.remaining
        for price, size in levels:
            if remaining <= 0:
                break
            if limit is not None and (price > limit if order.is_buy else price < limit):
                break
            take = size if size < remaining else remaining
            remaining -= take
            fills.append(self._fill(order, instrument, price, take, maker=False, ts_ns=ts_ns))
        return fills

    def crosses(self, order: Order, book: OrderBook) -> bool:
        if order.type is _MARKET:
            return True
        opposite = book.best_ask if order.is_buy else book.best_bid
        assert order.price is not None
        return opposite is not None and (order.price >= opposite if order.is_buy else order.price <= opposite)

    # --- resting orders -------------------------------------------------------------------------
    @staticmethod
    def join_queue(order: Order, book: OrderBook) -> None:
        side = book.bids if order.is_buy else book.asks
        order.queue_ahead = side.get(order.price or 0, 0)

    @staticmethod
    def on_level(order: Order, new_size: int) -> None:
        """The displayed size at our price changed: the queue ahead of us can only shrink."""
        if new_size < order.queue_ahead:
            order.queue_ahead = new_size

    def on_trade(self, order: Order, instrument: Instrument, trade: Trade) -> Fill | None:
        """A public trade may fill our resting order (see the module docstring for the model)."""
        assert order.price is not None
        price = order.price
        if order.is_buy:
            if trade.aggressor is not _SELL or trade.price > price:
                return None
            through = trade.price < price
        else:
            if trade.aggressor is not _BUY or trade.price < price:
                return None
            through = trade.price > price
        if through:
            lots = order.remaining
        else:
            available = trade.size - order.queue_ahead
            if available <= 0:
                order.queue_ahead -= trade.size
                return None
            order.queue_ahead = 0
            lots = min(order.remaining, available)
        return self._fill(order, instrument, price, lots, maker=True, ts_ns=trade.ts_ns)

    # --- bars -------------------------------------------------------------------------------------
    @staticmethod
    def marketable_on_bars(order: Order, last_price: int) -> bool:
        """Would this order take liquidity at the close it was decided on? Then it trades at the next open."""
        if order.type is _MARKET:
            return True
        assert order.price is not None
        return order.price >= last_price if order.is_buy else order.price <= last_price

    def open_price(self, side: Side, open_ticks: int) -> int:
        """The next open moved against us by the slippage, rounded to the tick away from us."""
        buy_num, sell_num, den = self._slip
        if side is _BUY:
            return -((-open_ticks * buy_num) // den)
        return (open_ticks * sell_num) // den

    def fill_at_open(self, order: Order, instrument: Instrument, bar: Bar) -> Fill | None:
        """A marketable order at ``bar``'s open (taker); None when a limit's price is not reached there."""
        price = self.open_price(order.side, bar.open)
        if order.type is _LIMIT:
            assert order.price is not None
            if price > order.price if order.is_buy else price < order.price:
                return None
        return self._fill(order, instrument, price, order.remaining, maker=False, ts_ns=bar.start_ns)

    def fill_in_range(self, order: Order, instrument: Instrument, bar: Bar) -> Fill | None:
        """A resting limit the bar traded through fills in full at its price (maker)."""
        assert order.price is not None
        through = bar.low < order.price if order.is_buy else bar.high > order.price
        if not through:
            return None
        end_ns = bar.start_ns + bar.timeframe_s * NS
        return self._fill(order, instrument, order.price, order.remaining, maker=True, ts_ns=end_ns)

    def _fill(self, order: Order, instrument: Instrument, price: int, lots: int, *, maker: bool, ts_ns: int) -> Fill:
        return Fill(
            fill_id=self._next_fill_id(),
            order_id=order.client_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            quantity=lots,
            fee=self.fees.fee(instrument, price, lots, maker),
            liquidity="maker" if maker else "taker",
            ts_ns=ts_ns,
            strategy=order.strategy,
        )


def expires_unfilled(order: Order) -> bool:
    """Market and IOC orders never rest: whatever the walk did not fill expires."""
    return order.type is _MARKET or order.tif is _IOC
