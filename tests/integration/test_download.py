"""``desk data download`` against a local Binance klines double: pagination, 429 back-off, resume, errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pytest

from desk.backtest.data import load_ohlcv
from desk.backtest.download import Downloader, make_request
from desk.errors import RuntimeFailure, UserError

NS = 1_000_000_000
START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MINUTE_MS = 60_000
BARS = 2_500  # three pages of 1000


def kline(i: int) -> list[Any]:
    close = 42_000 + (i * 37) % 500 + 0.01 * (i % 7)
    open_ = close - 3.5
    return [
        START_MS + i * MINUTE_MS,
        f"{open_:.8f}",
        f"{max(open_, close) + 10:.8f}",
        f"{min(open_, close) - 10:.8f}",
        f"{close:.8f}",
        f"{1 + i % 5:.8f}",
        START_MS + (i + 1) * MINUTE_MS - 1,
        "0",
        100 + i,
        "0",
        "0",
        "0",
    ]


class Venue:
    """Serves /api/v3/klines like Binance (startTime, endTime, limit); faults are injected per test."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.throttle_next = 0  # answer this many requests with HTTP 429 first
        self.fail_after: int | None = None  # answer 500 to every request after this many pages
        self.pages = 0
        self.missing = {700, 701}  # the venue has a hole: two bars never traded


def make_handler(venue: Venue) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query))
            venue.requests.append(query)
            if parts.path != "/api/v3/klines":
                return self._send(404, {"code": -1, "msg": "not found"})
            if query.get("symbol") != "BTCUSDT":
                return self._send(400, {"code": -1121, "msg": "Invalid symbol."})
            if venue.throttle_next > 0:
                venue.throttle_next -= 1
                return self._send(429, {"code": -1003, "msg": "Too many requests"}, {"Retry-After": "0"})
            if venue.fail_after is not None and venue.pages >= venue.fail_after:
                return self._send(500, {"code": -1000, "msg": "down"})
            start, end = int(query["startTime"]), int(query["endTime"])
            limit = int(query.get("limit", 500))
            rows = []
            for i in range((max(start, START_MS) - START_MS + MINUTE_MS - 1) // MINUTE_MS, BARS):
                t = START_MS + i * MINUTE_MS
                if t > end or len(rows) == limit:
                    break
                if i not in venue.missing:
                    rows.append(kline(i))
            venue.pages += 1
            return self._send(200, rows)

    return Handler


@pytest.fixture
def venue() -> Iterator[tuple[Venue, str]]:
    state = Venue()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def request(symbol: str = "BTCUSDT") -> Any:
    return make_request("binance", symbol, "1m", START_MS * 1_000_000, (START_MS + BARS * MINUTE_MS) * 1_000_000)


def test_paginated_download_is_cached_and_loads(venue: tuple[Venue, str], tmp_path: Path) -> None:
    state, url = venue
    state.throttle_next = 1
    sleeps: list[float] = []
    progress: list[tuple[int, int]] = []
    dl = Downloader(url, sleep=sleeps.append)
    path = dl.download(request(), tmp_path, lambda d, t: progress.append((d, t)))
    dl.close()
    assert sleeps == [0.0]  # the 429's Retry-After was honoured once
    assert [int(q["startTime"]) for q in state.requests[1:]] == [
        START_MS,
        START_MS + 1002 * MINUTE_MS,  # page 1 ends at bar 1001 (two bars are missing)
        START_MS + 2002 * MINUTE_MS,
    ]
    assert progress[-1] == (BARS, BARS)
    data = load_ohlcv(path)
    assert data.symbol == "BTC-USDT" and data.timeframe_s == 60 and len(data) == BARS - 2
    assert [(g.missing, g.after_ns) for g in data.gaps] == [(2, (START_MS + 699 * MINUTE_MS) * 1_000_000)]
    rows = [kline(i) for i in range(BARS) if i not in state.missing]
    assert np.array_equal(data.close, np.array([round(float(r[4]) * 100) for r in rows]))
    assert data.instrument.tick_size == data.instrument.tick_size.normalize()  # 0.01: inferred from the prices
    # A second request for the same range is served from the cache.
    before = len(state.requests)
    assert Downloader(url).download(request(), tmp_path) == path
    assert len(state.requests) == before


def test_interrupted_download_resumes_where_it_stopped(venue: tuple[Venue, str], tmp_path: Path) -> None:
    state, url = venue
    state.fail_after = 2
    dl = Downloader(url, sleep=lambda s: None, retries=2, flush_pages=1)
    with pytest.raises(RuntimeFailure, match="run again to resume"):
        dl.download(request(), tmp_path)
    parts = list((tmp_path / "klines" / "binance" / "BTCUSDT" / "1m").glob("*.parts/part-*.parquet"))
    assert len(parts) == 2
    state.fail_after = None
    state.requests.clear()
    path = Downloader(url, sleep=lambda s: None).download(request(), tmp_path)
    assert [int(q["startTime"]) for q in state.requests] == [START_MS + 2002 * MINUTE_MS]  # only the missing page
    assert len(load_ohlcv(path)) == BARS - 2
    assert not list(path.parent.glob("*.parts"))


def test_venue_errors_are_user_errors(venue: tuple[Venue, str], tmp_path: Path) -> None:
    _, url = venue
    with pytest.raises(UserError, match=r"Invalid symbol\. \(code -1121"):
        Downloader(url).download(request("DOGEXYZ"), tmp_path)
    with pytest.raises(UserError, match="expected binance"):
        make_request("kraken", "BTCUSDT", "1m", 0, 1)
    with pytest.raises(UserError, match="--interval '7m'"):
        make_request("binance", "BTCUSDT", "7m", 0, 1)


def test_cli_download_prints_the_path(venue: tuple[Venue, str], tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    _, url = venue
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env["DESK_HOME"] = str(tmp_path / "home")
    args = ["--symbol", "BTCUSDT", "--start", "2024-01-01", "--end", "2024-01-01T10:00", "--rest-url", url]
    result = subprocess.run(
        [sys.executable, "-m", "desk", "data", "download", *args, "--json"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    path = Path(json.loads(result.stdout)["path"])
    assert path.is_file() and str(path).startswith(str(tmp_path / "home"))
    assert len(load_ohlcv(path)) == 600  # the venue's hole (bars 700-701) is after this range
    backtest = subprocess.run(
        [sys.executable, "-m", "desk", "backtest", "--strategy", "ma_crossover", "--download", *args, "--json",
         "--param", "fast=5", "--param", "slow=20"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert backtest.returncode == 0, backtest.stderr
    assert json.loads(backtest.stdout)["bars"] == 600
