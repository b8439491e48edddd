"""Kraken WebSocket v2: ``book`` with a CRC32 check on every message, and ``trade``.

- Numbers arrive as JSON numbers. They are decoded to their exact text (``parse_float=str``), never to binary
  floats, then onto the integer grid; the checksum renders the integer book back at the pair's precision
  (``pair_decimals``/``lot_decimals``), which is what Kraken hashes (desk/feeds/checksum.py).
- After every update the book is truncated to the subscribed depth (Kraken sends no ``qty: 0`` for levels that
  fall out of scope); the levels dropped that way are added to the emitted delta as removals, so the engine's
  book stays identical to the adapter's. Default depth 25 leaves headroom over the 10 hashed levels.
- No sequence numbers: deltas carry ``first_seq = 0`` and integrity rests on the checksum. A mismatch, or a
  crossed book, marks the book invalid and re-subscribes that symbol for a fresh snapshot.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

from desk.book.l2 import OrderBook
from desk.domain.events import BookDelta, BookSnapshot, FeedState, Level, Side, Trade
from desk.domain.instruments import Instrument
from desk.errors import UserError
from desk.feeds.checksum import book_checksum
from desk.feeds.ratelimit import VenueLimits
from desk.feeds.venues.base import Link, ResyncKind, SymbolBook, VenueAdapter, VenueInstrument
from desk.feeds.venues.numbers import parse_rfc3339_ns

DEPTHS = (10, 25, 100, 500, 1000)
ASSET_ALIASES = {"BTC": "XBT", "DOGE": "XDG"}  # AssetPairs' wsname still uses Kraken's legacy asset codes


def _scale(step: Decimal, decimals: int, what: str) -> int:
    scaled = step.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{what} step {step} has more decimals than the venue precision {decimals}")
    return int(scaled)


def _truncate(book: OrderBook, depth: int) -> tuple[list[Level], list[Level]]:
    """Drop levels beyond ``depth``; returns them as removals."""
    gone_bids: list[Level] = []
    gone_asks: list[Level] = []
    if len(book.bids) > depth:
        floor = heapq.nlargest(depth, book.bids)[-1]
        gone_bids = [(p, 0) for p in book.bids if p < floor]
    if len(book.asks) > depth:
        ceiling = heapq.nsmallest(depth, book.asks)[-1]
        gone_asks = [(p, 0) for p in book.asks if p > ceiling]
    for p, _ in gone_bids:
        book.set_level(True, p, 0)
    for p, _ in gone_asks:
        book.set_level(False, p, 0)
    return gone_bids, gone_asks


class KrakenAdapter(VenueAdapter):
    venue: ClassVar[str] = "kraken"
    default_ws_url: ClassVar[str] = "wss://ws.kraken.com/v2"
    default_rest_url: ClassVar[str] = "https://api.kraken.com"
    # Public REST ~1 request/s; ws and connection rates are not published precisely: conservative values.
    limits: ClassVar[VenueLimits] = VenueLimits(1, 1.0, 5.0, 150, 600.0)

    def __init__(
        self,
        instruments: dict[str, VenueInstrument],
        *,
        ws_url: str | None = None,
        rest_url: str | None = None,
        trades: bool = True,
        depth: int = 25,
    ) -> None:
        super().__init__(instruments, ws_url=ws_url, rest_url=rest_url, trades=trades)
        if depth not in DEPTHS:
            raise ValueError(f"depth {depth}: expected one of {DEPTHS}")
        self.depth = depth
        self.live: dict[str, bool] = dict.fromkeys(self.books, False)
        self.counter: dict[str, int] = dict.fromkeys(self.books, 0)
        self.scales = {
            sym: (
                _scale(vi.instrument.tick_size, vi.price_precision, "price"),
                _scale(vi.instrument.lot_size, vi.qty_precision, "size"),
            )
            for sym, vi in self.venue_instruments.items()
        }
        self.checksums_verified = 0

    def _subscribe(self, symbols: Sequence[str], method: str = "subscribe") -> dict[str, Any]:
        params: dict[str, Any] = {
            "channel": "book",
            "symbol": [self.venue_instruments[s].instrument.venue_symbol for s in symbols],
        }
        if method == "subscribe":
            params.update(depth=self.depth, snapshot=True)
        return {"method": method, "params": params}

    def on_open(self, link: Link) -> None:
        self.live = dict.fromkeys(self.books, False)
        symbols = list(self.books)
        link.send(self._subscribe(symbols))
        if self.trades:
            venue_symbols = [self.venue_instruments[s].instrument.venue_symbol for s in symbols]
            link.send(
                {"method": "subscribe", "params": {"channel": "trade", "symbol": venue_symbols, "snapshot": False}}
            )

    def on_close(self) -> None:
        super().on_close()
        self.live = dict.fromkeys(self.books, False)

    def on_message(self, raw: str | bytes, recv_ns: int, link: Link) -> None:
        msg = json.loads(raw, parse_float=str)
        if not isinstance(msg, dict):
            raise TypeError(f"expected a JSON object, got {type(msg).__name__}")
        channel = msg.get("channel")
        if channel == "book":
            kind = msg["type"]
            for data in msg["data"]:
                self._book(kind, data, recv_ns, link)
        elif channel == "trade":
            if msg.get("type") == "update":
                for t in msg["data"]:
                    self._trade(t, recv_ns, link)
        elif "method" in msg and msg.get("success") is False:
            raise ValueError(f"{msg['method']} failed: {msg.get('error', '')}")

    def _levels(self, sb: SymbolBook, levels: list[dict[str, Any]]) -> list[Level]:
        pp, ps = sb.parse_price, sb.parse_size
        return [(pp(str(lv["price"])), ps(str(lv["qty"]))) for lv in levels]

    def _book(self, kind: str, data: dict[str, Any], recv_ns: int, link: Link) -> None:
        symbol = self.by_venue_symbol[data["symbol"]]
        sb = self.books[symbol]
        bids = self._levels(sb, data.get("bids", []))
        asks = self._levels(sb, data.get("asks", []))
        published = int(data["checksum"])
        ts_ns = parse_rfc3339_ns(data["timestamp"]) if "timestamp" in data else recv_ns
        link.health.message(symbol, ts_ns if "timestamp" in data else 0, recv_ns)
        book = sb.book
        if kind == "snapshot":
            self.counter[symbol] += 1
            bids.sort(reverse=True)
            asks.sort()
            snapshot = BookSnapshot(symbol, self.venue, self.counter[symbol], ts_ns, tuple(bids), tuple(asks))
            book.apply_snapshot(snapshot)
            _truncate(book, self.depth)
            if not self._verify(symbol, published, link):
                return
            self.live[symbol] = True
            link.emit(
                BookSnapshot(symbol, self.venue, book.seq, ts_ns, tuple(book.sorted_bids()), tuple(book.sorted_asks()))
            )
            link.set_state(symbol, FeedState.LIVE, "")
        elif kind == "update":
            if not self.live[symbol]:
                return
            for p, q in bids:
                book.set_level(True, p, q)
            for p, q in asks:
                book.set_level(False, p, q)
            gone_bids, gone_asks = _truncate(book, self.depth)
            if not self._verify(symbol, published, link):
                return
            self.counter[symbol] += 1
            book.seq = self.counter[symbol]
            link.emit(
                BookDelta(symbol, self.venue, 0, book.seq, ts_ns, tuple(bids + gone_bids), tuple(asks + gone_asks))
            )
        else:
            raise ValueError(f"unknown book message type {kind!r}")

    def _verify(self, symbol: str, published: int, link: Link) -> bool:
        book = self.books[symbol].book
        vi = self.venue_instruments[symbol]
        ps, qs = self.scales[symbol]
        ours = book_checksum(
            book.bids,
            book.asks,
            price_scale=ps,
            price_decimals=vi.price_precision,
            qty_scale=qs,
            qty_decimals=vi.qty_precision,
        )
        if ours != published:
            self._resync(symbol, f"checksum mismatch: ours {ours}, venue {published}", "checksum", link)
            return False
        if book.is_crossed:
            self._resync(symbol, "crossed book", "crossed", link)
            return False
        self.checksums_verified += 1
        return True

    def _resync(self, symbol: str, reason: str, kind: ResyncKind, link: Link) -> None:
        link.resync(symbol, reason, kind)
        self.live[symbol] = False
        self.books[symbol].book.clear()
        link.send(self._subscribe([symbol], "unsubscribe"))
        link.send(self._subscribe([symbol]))

    def _trade(self, t: dict[str, Any], recv_ns: int, link: Link) -> None:
        symbol = self.by_venue_symbol[t["symbol"]]
        sb = self.books[symbol]
        side = t["side"]
        if side not in ("buy", "sell"):
            raise ValueError(f"unknown trade side {side!r}")
        ts_ns = parse_rfc3339_ns(t["timestamp"])
        link.health.message(symbol, ts_ns, recv_ns)
        link.emit(
            Trade(
                symbol,
                self.venue,
                ts_ns,
                sb.parse_price(str(t["price"])),
                sb.parse_size(str(t["qty"])),
                Side.BUY if side == "buy" else Side.SELL,  # Kraken's side is the taker's
                str(t["trade_id"]),
            )
        )

    # --- reference data ---------------------------------------------------------------------------
    @classmethod
    def venue_symbol(cls, symbol: str) -> str:
        base, _, quote = symbol.upper().partition("-")
        if not base or not quote:
            raise UserError(f"symbol {symbol!r} is not BASE-QUOTE (e.g. BTC-USD)")
        return f"{base}/{quote}"

    @classmethod
    def reference_requests(cls, symbols: Sequence[str]) -> list[tuple[str, dict[str, str]]]:
        return [("/0/public/AssetPairs", {})]

    @classmethod
    def parse_reference(cls, symbols: Sequence[str], responses: Sequence[Any]) -> dict[str, VenueInstrument]:
        pairs: dict[str, dict[str, Any]] = {}
        for response in responses:
            if response.get("error"):
                raise ValueError(f"kraken AssetPairs error: {response['error']}")
            for entry in response.get("result", {}).values():
                if "wsname" in entry:
                    pairs[entry["wsname"]] = entry
        out: dict[str, VenueInstrument] = {}
        for symbol in symbols:
            v2 = cls.venue_symbol(symbol)
            base, quote = v2.split("/")
            legacy = f"{ASSET_ALIASES.get(base, base)}/{ASSET_ALIASES.get(quote, quote)}"
            entry = pairs.get(v2) or pairs.get(legacy)
            if entry is None:
                raise UserError(f"symbol {symbol!r} ({v2}) is not listed on kraken")
            pd, ld = int(entry["pair_decimals"]), int(entry["lot_decimals"])
            tick = Decimal(entry.get("tick_size") or Decimal(1).scaleb(-pd)).normalize()
            lot = Decimal(1).scaleb(-ld)
            inst = Instrument(symbol.upper(), tick, lot, Decimal(entry.get("costmin") or "0"), venue_symbol=v2)
            out[symbol.upper()] = VenueInstrument(inst, pd, ld)
        return out
