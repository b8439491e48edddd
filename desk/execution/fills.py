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
Our paper orders are not in the venue's book, so the displayed liquidity is not reduced by our own taker fills:
two market orders in the same instant see the same levels (a known optimism of paper trading, kept small by
trading sizes well inside the displayed depth).
"""

from __future__ import annotations

from collections.abc import Callable

from desk.book.l2 import OrderBook
from desk.domain.events import Side, Trade
from desk.domain.instruments import Instrument
from desk.execution.fees import FeeSchedule
from desk.execution.orders import Fill, Order, OrderType, TimeInForce


class FillEngine:
    def __init__(self, fees: FeeSchedule, next_fill_id: Callable[[], str]) -> None:
        self.fees = fees
        self._next_fill_id = next_fill_id

    # --- validation -----------------------------------------------------------------------------
    def rejection(self, order: Order, instrument: Instrument, book: OrderBook) -> str | None:
        """Why this order cannot be accepted, or None."""
        if order.quantity <= 0:
            return f"quantity {instrument.size_str(order.quantity)} must be at least one lot ({instrument.lot_size})"
        if order.type is OrderType.LIMIT:
            if order.price is None or order.price <= 0:
                return "limit order needs a positive price"
            reference = order.price
        else:
            if order.price is not None:
                return "market order must not carry a price"
            touch = book.best_ask if order.is_buy else book.best_bid
            if touch is None:
                return f"no {'asks' if order.is_buy else 'bids'} in the {order.symbol} book to trade against"
            reference = touch
        notional = instrument.notional(reference, order.quantity)
        if notional < instrument.min_notional:
            return f"notional {notional:f} below the minimum {instrument.min_notional} for {order.symbol}"
        if order.post_only:
            if order.type is not OrderType.LIMIT:
                return "post-only needs a limit order"
            opposite = book.best_ask if order.is_buy else book.best_bid
            if opposite is not None and (order.price >= opposite if order.is_buy else order.price <= opposite):  # type: ignore[operator]
                return f"post-only {order.side} at {instrument.price_str(order.price or 0)} would take liquidity"
        return None

    # --- taking liquidity -----------------------------------------------------------------------
    def take(self, order: Order, instrument: Instrument, book: OrderBook, ts_ns: int) -> list[Fill]:
        """Walk the book for ``order.remaining`` (up to the limit price); one fill per level consumed."""
        fills: list[Fill] = []
        limit = order.price if order.type is OrderType.LIMIT else None
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
        if order.type is OrderType.MARKET:
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
            if trade.aggressor is not Side.SELL or trade.price > price:
                return None
            through = trade.price < price
        else:
            if trade.aggressor is not Side.BUY or trade.price < price:
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
    return order.type is OrderType.MARKET or order.tif is TimeInForce.IOC
