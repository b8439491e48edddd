"""Messages the desk's screens post: notifications and intent, named in the past tense.

Market data never travels as messages (a message per update collapses at 10k updates/s); these are for rare,
user-driven events that other panels (orders, strategies, risk) will want to follow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from desk.risk.monitor import RiskReport


class SymbolSwitched(Message):
    """The desk now shows ``symbol``; panels that follow the selected symbol listen for this."""

    def __init__(self, symbol: str, previous: str | None) -> None:
        super().__init__()
        self.symbol = symbol
        self.previous = previous


class RiskReportComputed(Message):
    """The VaR worker finished a run (posted from its thread); the risk panel redraws when it is applied."""

    def __init__(self, report: RiskReport) -> None:
        super().__init__()
        self.report = report
