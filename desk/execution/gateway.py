"""The single door every order goes through: pre-trade checks, then the broker.

Strategies, manual entry in the TUI and CLI commands all call ``OrderGateway.submit``; the risk engine adds its
checks with ``add_check``. A failed check rejects the order through the broker, so the rejection is reported,
shown and journaled exactly like a broker rejection.
"""

from __future__ import annotations

from collections.abc import Callable

from desk.execution.orders import Order
from desk.execution.paper import PaperBroker

PreTradeCheck = Callable[[Order], str | None]


class OrderGateway:
    def __init__(self, broker: PaperBroker) -> None:
        self.broker = broker
        self._checks: list[PreTradeCheck] = []

    def add_check(self, check: PreTradeCheck) -> None:
        self._checks.append(check)

    def submit(self, order: Order) -> Order:
        for check in self._checks:
            reason = check(order)
            if reason:
                return self.broker.reject(order, reason)
        return self.broker.submit(order)
