"""Local exchange doubles: an asyncio HTTP server and websocket servers on 127.0.0.1 (port 0).

The "exchange" is ground truth: a book driven by the deterministic simulated market, so after any injected
fault the client's book can be compared with what the venue really holds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from desk.book.l2 import OrderBook
from desk.domain.events import BookDelta, Trade
from desk.feeds.sim import DEFAULT_SYMBOLS, SimulatedMarket

Route = Callable[[dict[str, str]], Awaitable[tuple[int, dict[str, str], Any]]]
SYMBOL = "BTC-USD"
INSTRUMENT = DEFAULT_SYMBOLS[0].instrument  # tick 0.01, lot 0.00001


class HttpServer:
    """Just enough HTTP/1.1 for httpx: GET, JSON body, Connection: close."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._server: asyncio.Server | None = None
        self.url = ""

    async def start(self) -> HttpServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode()
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            target = request_line.split(" ")[1]
            parts = urlsplit(target)
            query = dict(parse_qsl(parts.query))
            self.requests.append((parts.path, query))
            route = self.routes.get(parts.path)
            if route is None:
                status, headers, body = 404, {}, {"error": "not found"}
            else:
                status, headers, body = await route(query)
            payload = json.dumps(body).encode()
            head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            writer.write((head + "Connection: close\r\n\r\n").encode() + payload)
            await writer.drain()
        finally:
            writer.close()


class Exchange:
    """The venue's true book for BTC-USD and the stream of changes to it (from the simulated market)."""

    def __init__(self, seed: int = 11, events: int = 240) -> None:
        market = SimulatedMarket([DEFAULT_SYMBOLS[0]], seed=seed, rate=200.0, depth=30)
        self.book = OrderBook(INSTRUMENT, "truth")
        self.book.apply_snapshot(market.snapshot(SYMBOL))
        self.stream: list[BookDelta | Trade] = [
            e for e in market.next_events(events) if isinstance(e, BookDelta | Trade)
        ][:events]
        self.pos = 0  # next stream index to happen

    @property
    def done(self) -> bool:
        return self.pos >= len(self.stream)

    def step(self) -> BookDelta | Trade:
        """The next change happens at the venue (whether or not a client hears of it)."""
        event = self.stream[self.pos]
        self.pos += 1
        if isinstance(event, BookDelta):
            self.book.apply_delta(event)
        return event

    def px(self, ticks: int) -> str:
        return INSTRUMENT.price_str(ticks)

    def qty(self, lots: int) -> str:
        return INSTRUMENT.size_str(lots)

    def levels(self, levels: tuple[tuple[int, int], ...]) -> list[list[str]]:
        return [[self.px(p), self.qty(s)] for p, s in levels]


def reference_binance(symbol: str = "BTCUSDT") -> dict[str, Any]:
    return {
        "symbols": [
            {
                "symbol": symbol,
                "filters": [
                    {"filterType": "PRICE_FILTER", "tickSize": str(INSTRUMENT.tick_size)},
                    {"filterType": "LOT_SIZE", "stepSize": str(INSTRUMENT.lot_size)},
                    {"filterType": "NOTIONAL", "minNotional": "5.00000000"},
                ],
            }
        ]
    }


def reference_coinbase(product: str = "BTC-USD") -> dict[str, Any]:
    return {
        "product_id": product,
        "price_increment": str(INSTRUMENT.tick_size),
        "base_increment": str(INSTRUMENT.lot_size),
        "quote_min_size": "1",
    }


def reference_kraken() -> dict[str, Any]:
    return {
        "error": [],
        "result": {
            "XXBTZUSD": {"altname": "XBTUSD", "wsname": "XBT/USD", "pair_decimals": 2, "lot_decimals": 5,
                         "tick_size": "0.01", "costmin": "0.5"},
        },
    }  # fmt: skip


def jnum(text: str) -> Any:
    """A JSON number in its shortest form, as Kraken v2 sends it (``0.05`` not ``0.05000``)."""
    d = Decimal(text).normalize()
    return float(d) if d != d.to_integral_value() else int(d)
