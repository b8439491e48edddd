"""Coinbase Advanced Trade: ``level2`` + ``market_trades`` + ``heartbeats`` on one connection.

- One channel per subscribe message (the venue's rule); ``heartbeats`` keeps quiet channels from being closed
  after 60-90 s.
- ``l2_data`` events are ``snapshot`` then ``update``; ``new_quantity`` is the absolute size, ``"0"`` removes.
- Integrity: the envelope's ``sequence_num`` must grow by exactly one. Coinbase does not say whether it counts
  per product or per connection, and it sits on an envelope shared by every channel, so the adapter checks it
  per connection: any gap re-subscribes ``level2`` for every live product (a fresh snapshot each), which is
  correct under either reading. Smaller numbers are ignored (the venue documents them as out of order).
- Sequence normalisation: Coinbase has no per-book sequence, so each product's book gets its own counter
  (snapshot ``n``, then ``n+1, n+2, ...``), valid because the connection sequence vouches for continuity.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

from msgspec.json import decode

from desk.domain.events import BookDelta, BookSnapshot, FeedState, Level, Side, Trade
from desk.domain.instruments import Instrument
from desk.errors import UserError
from desk.feeds.ratelimit import VenueLimits
from desk.feeds.venues.base import Link, VenueAdapter, VenueInstrument
from desk.feeds.venues.numbers import parse_rfc3339_ns

BID_SIDES = frozenset(("bid", "buy"))
ASK_SIDES = frozenset(("offer", "ask", "sell"))


class CoinbaseAdapter(VenueAdapter):
    venue: ClassVar[str] = "coinbase"
    default_ws_url: ClassVar[str] = "wss://advanced-trade-ws.coinbase.com"
    default_rest_url: ClassVar[str] = "https://api.coinbase.com"
    # Advanced Trade: public REST 10 req/s; unauthenticated ws messages 8/s per IP; connections 8/s per IP.
    limits: ClassVar[VenueLimits] = VenueLimits(10, 1.0, 8.0, 8, 1.0)

    def __init__(
        self,
        instruments: dict[str, VenueInstrument],
        *,
        ws_url: str | None = None,
        rest_url: str | None = None,
        trades: bool = True,
    ) -> None:
        super().__init__(instruments, ws_url=ws_url, rest_url=rest_url, trades=trades)
        self.last_seq: int | None = None
        self.live: dict[str, bool] = dict.fromkeys(self.books, False)
        self.counter: dict[str, int] = dict.fromkeys(self.books, 0)
        self.resubscribes = 0

    def _products(self, symbols: Sequence[str] | None = None) -> list[str]:
        chosen = self.books if symbols is None else symbols
        return [self.venue_instruments[s].instrument.venue_symbol for s in chosen]

    def on_open(self, link: Link) -> None:
        self.last_seq = None
        self.live = dict.fromkeys(self.books, False)
        products = self._products()
        link.send({"type": "subscribe", "product_ids": products, "channel": "heartbeats"})
        link.send({"type": "subscribe", "product_ids": products, "channel": "level2"})
        if self.trades:
            link.send({"type": "subscribe", "product_ids": products, "channel": "market_trades"})

    def on_close(self) -> None:
        super().on_close()
        self.live = dict.fromkeys(self.books, False)
        self.last_seq = None

    def on_message(self, raw: str | bytes, recv_ns: int, link: Link) -> None:
        msg = decode(raw)
        if msg.get("type") == "error":
            raise ValueError(f"venue error: {msg.get('message', msg)}")
        seq = msg.get("sequence_num")
        if seq is not None:
            if self.last_seq is not None:
                if seq <= self.last_seq:
                    return  # documented: older numbers are out-of-order duplicates
                if seq > self.last_seq + 1:
                    self._resync_all(f"sequence gap: expected {self.last_seq + 1}, got {seq}", link)
            self.last_seq = seq
        channel = msg.get("channel")
        ts_ns = parse_rfc3339_ns(msg["timestamp"]) if "timestamp" in msg else recv_ns
        if channel == "l2_data":
            for event in msg["events"]:
                self._l2(event, ts_ns, recv_ns, link)
        elif channel == "market_trades":
            for event in msg["events"]:
                if event.get("type") == "update":  # the subscribe-time snapshot is history, not tape
                    self._trades(event["trades"], recv_ns, link)

    def _l2(self, event: dict[str, Any], ts_ns: int, recv_ns: int, link: Link) -> None:
        symbol = self.by_venue_symbol[event["product_id"]]
        sb = self.books[symbol]
        pp, ps = sb.parse_price, sb.parse_size
        bids: list[Level] = []
        asks: list[Level] = []
        for u in event["updates"]:
            side = u["side"]
            level = (pp(u["price_level"]), ps(u["new_quantity"]))
            if side in BID_SIDES:
                bids.append(level)
            elif side in ASK_SIDES:
                asks.append(level)
            else:
                raise ValueError(f"unknown side {side!r}")
        link.health.message(symbol, ts_ns, recv_ns)
        kind = event["type"]
        book = sb.book
        if kind == "snapshot":
            self.counter[symbol] += 1
            bids.sort(reverse=True)
            asks.sort()
            snapshot = BookSnapshot(symbol, self.venue, self.counter[symbol], ts_ns, tuple(bids), tuple(asks))
            book.apply_snapshot(snapshot)
            if book.is_crossed:
                self._resync(symbol, "crossed snapshot", "crossed", link)
                return
            self.live[symbol] = True
            link.emit(snapshot)
            link.set_state(symbol, FeedState.LIVE, "")
        elif kind == "update":
            if not self.live[symbol]:
                return  # waiting for the snapshot of a (re)subscription
            n = self.counter[symbol] + 1
            self.counter[symbol] = n
            delta = BookDelta(symbol, self.venue, n, n, ts_ns, tuple(bids), tuple(asks))
            book.apply_delta(delta)
            if book.is_crossed:
                self._resync(symbol, f"crossed book after update {n}", "crossed", link)
                return
            link.emit(delta)
        else:
            raise ValueError(f"unknown l2 event type {kind!r}")

    def _trades(self, trades: list[dict[str, Any]], recv_ns: int, link: Link) -> None:
        for t in trades:
            symbol = self.by_venue_symbol[t["product_id"]]
            sb = self.books[symbol]
            ts_ns = parse_rfc3339_ns(t["time"])
            maker = t["side"].upper()
            if maker not in ("BUY", "SELL"):
                raise ValueError(f"unknown trade side {t['side']!r}")
            link.health.message(symbol, ts_ns, recv_ns)
            link.emit(
                Trade(
                    symbol,
                    self.venue,
                    ts_ns,
                    sb.parse_price(t["price"]),
                    sb.parse_size(t["size"]),
                    Side.SELL if maker == "BUY" else Side.BUY,  # ``side`` is the maker's side
                    str(t["trade_id"]),
                )
            )

    def _resync(self, symbol: str, reason: str, kind: Any, link: Link) -> None:
        link.resync(symbol, reason, kind)
        self._resubscribe([symbol], link)

    def _resync_all(self, reason: str, link: Link) -> None:
        symbols = [s for s, live in self.live.items() if live]
        for symbol in symbols:
            link.resync(symbol, reason, "gap")
        if symbols:
            self._resubscribe(symbols, link)

    def _resubscribe(self, symbols: list[str], link: Link) -> None:
        for symbol in symbols:
            self.live[symbol] = False
            self.books[symbol].book.clear()
        self.resubscribes += 1
        products = self._products(symbols)
        link.send({"type": "unsubscribe", "product_ids": products, "channel": "level2"})
        link.send({"type": "subscribe", "product_ids": products, "channel": "level2"})

    # --- reference data ---------------------------------------------------------------------------
    @classmethod
    def venue_symbol(cls, symbol: str) -> str:
        base, _, quote = symbol.upper().partition("-")
        if not base or not quote:
            raise UserError(f"symbol {symbol!r} is not BASE-QUOTE (e.g. BTC-USD)")
        return f"{base}-{quote}"

    @classmethod
    def reference_requests(cls, symbols: Sequence[str]) -> list[tuple[str, dict[str, str]]]:
        return [(f"/api/v3/brokerage/market/products/{cls.venue_symbol(s)}", {}) for s in symbols]

    @classmethod
    def parse_reference(cls, symbols: Sequence[str], responses: Sequence[Any]) -> dict[str, VenueInstrument]:
        by_id = {r.get("product_id"): r for r in responses if isinstance(r, dict)}
        out: dict[str, VenueInstrument] = {}
        for symbol in symbols:
            vs = cls.venue_symbol(symbol)
            entry = by_id.get(vs)
            if entry is None:
                raise UserError(f"symbol {symbol!r} ({vs}) is not listed on coinbase")
            tick = Decimal(entry.get("price_increment") or entry["quote_increment"]).normalize()
            lot = Decimal(entry["base_increment"]).normalize()
            notional = Decimal(entry.get("quote_min_size") or "0")
            inst = Instrument(symbol.upper(), tick, lot, notional, venue_symbol=vs)
            out[symbol.upper()] = VenueInstrument(inst, inst.price_decimals, inst.size_decimals)
        return out
