"""The orders table: open orders first (newest first), then the latest finished ones; the row under the cursor
is the one the cancel key acts on. Rebuilt only after an order event."""

from __future__ import annotations

from desk.ui.session import TradingSession
from desk.ui.trading_model import ORDER_COLUMNS, order_row
from desk.ui.widgets.tables import SyncedTable

ORDER_ROWS = 40


class OrdersTable(SyncedTable):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(ORDER_COLUMNS, id=id)
        self._version = -1

    def show(self, session: TradingSession) -> None:
        if session.orders_version == self._version:
            return
        self._version = session.orders_version
        instruments = session.desk.instruments
        orders = session.recent_orders(ORDER_ROWS)
        self.sync([(o.client_id, order_row(o, instruments[o.symbol])) for o in orders])
