"""Pure data: instruments and the typed events every layer above the venue adapters speaks."""

from desk.domain.events import (
    Bar,
    BookDelta,
    BookSnapshot,
    Event,
    FeedState,
    FeedStatus,
    Level,
    Side,
    Trade,
)
from desk.domain.instruments import Instrument, OffGridError

__all__ = [
    "Bar",
    "BookDelta",
    "BookSnapshot",
    "Event",
    "FeedState",
    "FeedStatus",
    "Instrument",
    "Level",
    "OffGridError",
    "Side",
    "Trade",
]
