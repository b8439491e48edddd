"""Messages the desk's screens post: notifications and intent, named in the past tense.

Market data never travels as messages (a message per update collapses at 10k updates/s); these are for rare,
user-driven events that other panels (orders, strategies, risk) will want to follow.
"""

from __future__ import annotations

from textual.message import Message


class SymbolSwitched(Message):
    """The desk now shows ``symbol``; panels that follow the selected symbol listen for this."""

    def __init__(self, symbol: str, previous: str | None) -> None:
        super().__init__()
        self.symbol = symbol
        self.previous = previous
