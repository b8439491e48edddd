"""create_feed: the registry, instrument metadata over REST (local server) with the on-disk cache, user errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest

from desk.errors import UserError
from desk.feeds.venues import available_venues, create_feed
from desk.feeds.venues.reference import clear_memory_cache
from tests.integration.servers import reference_binance, reference_coinbase, reference_kraken

ROUTES: dict[str, tuple[int, Any]] = {
    "/api/v3/exchangeInfo?symbol=BTCUSDT": (200, reference_binance()),
    "/api/v3/exchangeInfo?symbol=NOPEUSDT": (400, {"code": -1121, "msg": "Invalid symbol."}),
    "/api/v3/brokerage/market/products/BTC-USD": (200, reference_coinbase()),
    "/0/public/AssetPairs": (200, reference_kraken()),
}


class _Handler(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        key = parts.path + (f"?{parts.query}" if parts.query else "")
        self.hits.append(key)
        status, body = ROUTES.get(key, (404, {"error": "not found"}))
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def rest_url() -> Iterator[str]:
    clear_memory_cache()
    _Handler.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    clear_memory_cache()


@pytest.mark.parametrize(("venue", "venue_symbol", "lot"), [
    ("binance", "BTCUSDT", "0.00001"), ("coinbase", "BTC-USD", "0.00001"), ("kraken", "BTC/USD", "0.00001"),
])  # fmt: skip
def test_create_feed_loads_instruments(rest_url: str, tmp_path: Path, venue: str, venue_symbol: str, lot: str) -> None:
    feed = create_feed(venue, ["btc-usd"], "ws://127.0.0.1:9", rest_url, cache_dir=tmp_path)
    inst = feed.instruments["BTC-USD"]
    assert (inst.venue_symbol, str(inst.tick_size), str(inst.lot_size)) == (venue_symbol, "0.01", lot)
    assert feed.venue == venue
    assert (tmp_path / f"instruments-{venue}.json").exists()
    # A second process would read the disk cache: no new request.
    clear_memory_cache()
    before = len(_Handler.hits)
    again = create_feed(venue, ["BTC-USD"], None, rest_url, cache_dir=tmp_path)
    assert again.instruments["BTC-USD"] == inst
    assert len(_Handler.hits) == before


def test_user_errors(rest_url: str, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown venue 'ftx'"):
        create_feed("ftx", ["BTC-USD"], None, rest_url, cache_dir=tmp_path)
    with pytest.raises(UserError, match=r"'NOPE-USD'.*not listed on binance"):
        create_feed("binance", ["NOPE-USD"], None, rest_url, cache_dir=tmp_path)
    with pytest.raises(UserError, match="not listed on kraken"):
        create_feed("kraken", ["ETH-EUR"], None, rest_url, cache_dir=tmp_path)
    with pytest.raises(UserError, match="BASE-QUOTE"):
        create_feed("coinbase", ["BTCUSD"], None, rest_url, cache_dir=tmp_path)
    with pytest.raises(UserError, match="depth 7"):
        create_feed("kraken", ["BTC-USD"], None, rest_url, cache_dir=tmp_path, depth=7)
    assert {"binance", "coinbase", "kraken"} <= set(available_venues())
