"""What a venue module provides, and what the supervisor gives it back.

A venue adapter is protocol knowledge only: the URL, the subscribe messages, how to turn each wire frame into
``desk.domain`` events and when its book is no longer trustworthy. It never owns a socket, a retry loop or a
timer: the supervisor (desk/feeds/supervisor.py) does, and hands the adapter a ``Link`` for the lifetime of one
connection. That split is what lets every fault path be tested once, for all venues.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

from desk.book.l2 import OrderBook
from desk.domain.events import Event, FeedState
from desk.domain.instruments import Instrument
from desk.feeds.health import FeedHealth
from desk.feeds.ratelimit import VenueLimits
from desk.feeds.venues.numbers import GridParser
from desk.feeds.venues.rest import RestClient

ResyncKind = Literal["gap", "checksum", "crossed", "other"]


@dataclass(frozen=True, slots=True)
class VenueInstrument:
    """An instrument as one venue defines it: the desk grid plus the precisions the venue renders."""

    instrument: Instrument
    price_precision: int
    qty_precision: int

    @property
    def symbol(self) -> str:
        return self.instrument.symbol


class Link(Protocol):
    """The supervisor's side of one connection, as seen by an adapter."""

    health: FeedHealth
    rest: RestClient

    def emit(self, event: Event) -> None: ...

    def send(self, payload: Any) -> None:
        """Queue a JSON message; the supervisor sends it within the venue's message-rate limit."""

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a task for this connection (snapshot fetch); cancelled when the connection ends."""

    def set_state(self, symbol: str, state: FeedState, detail: str = "") -> None: ...

    def resync(self, symbol: str, reason: str, kind: ResyncKind) -> None:
        """The book for ``symbol`` is invalid: count it and tell the engine (RESYNCING); the adapter re-syncs."""

    def reconnect(self, reason: str) -> None:
        """Drop this connection and reconnect (e.g. the venue announced a shutdown)."""


class SymbolBook:
    """An adapter's own copy of one book: verifies continuity/checksum/crossing before events leave the venue."""

    __slots__ = ("book", "parse_price", "parse_size", "vi")

    def __init__(self, vi: VenueInstrument, venue: str) -> None:
        self.vi = vi
        self.book = OrderBook(vi.instrument, venue)
        self.parse_price = GridParser(vi.instrument.tick_size, "price")
        self.parse_size = GridParser(vi.instrument.lot_size, "size")


class VenueAdapter(ABC):
    """One venue's protocol. Subclasses set the class attributes and implement the four hooks."""

    venue: ClassVar[str]
    default_ws_url: ClassVar[str]
    default_rest_url: ClassVar[str]
    limits: ClassVar[VenueLimits]

    def __init__(
        self,
        instruments: Mapping[str, VenueInstrument],
        *,
        ws_url: str | None = None,
        rest_url: str | None = None,
        trades: bool = True,
    ) -> None:
        if not instruments:
            raise ValueError(f"{self.venue}: no instruments to subscribe")
        self.venue_instruments = dict(instruments)
        self.ws_url = ws_url or self.default_ws_url
        self.rest_url = rest_url or self.default_rest_url
        self.trades = trades
        self.books = {sym: SymbolBook(vi, self.venue) for sym, vi in instruments.items()}
        self.by_venue_symbol = {vi.instrument.venue_symbol: sym for sym, vi in instruments.items()}

    @property
    def instruments(self) -> dict[str, Instrument]:
        return {sym: vi.instrument for sym, vi in self.venue_instruments.items()}

    # --- connection hooks -----------------------------------------------------------------------
    def connect_url(self) -> str:
        return self.ws_url

    @abstractmethod
    def on_open(self, link: Link) -> None:
        """Connected: send subscriptions (through ``link.send``)."""

    @abstractmethod
    def on_message(self, raw: str | bytes, recv_ns: int, link: Link) -> None:
        """One frame. Raise ValueError/KeyError/TypeError for a malformed frame: the supervisor counts it."""

    def on_close(self) -> None:
        """Connection gone: every book is unknown until the next snapshot."""
        for sb in self.books.values():
            sb.book.clear()

    # --- reference data (instrument metadata over REST) -----------------------------------------
    @classmethod
    @abstractmethod
    def venue_symbol(cls, symbol: str) -> str:
        """Desk ``BASE-QUOTE`` -> this venue's symbol."""

    @classmethod
    @abstractmethod
    def reference_requests(cls, symbols: Sequence[str]) -> list[tuple[str, dict[str, str]]]:
        """(path, query) GETs whose JSON answers describe ``symbols``."""

    @classmethod
    @abstractmethod
    def parse_reference(cls, symbols: Sequence[str], responses: Sequence[Any]) -> dict[str, VenueInstrument]:
        """Instruments from the answers; raises ``desk.errors.UserError`` for a symbol the venue lacks."""
