"""Historical klines from Binance's REST API, paginated, cached as parquet, resumable.

``GET {rest_url}/api/v3/klines?symbol=&interval=&startTime=&endTime=&limit=1000`` returns at most 1000 bars from
``startTime``; we walk forward from the last bar received. Pages are flushed every ``flush_pages`` pages to
``<cache>/<start>_<end>.parts/part-<first open time>.parquet``, so an interrupted download (Ctrl-C, network
failure) resumes from the last flushed bar when run again; when the range is complete the parts are merged
(deduplicated, sorted) into ``<cache>/<start>_<end>.parquet`` and removed. A complete file is reused without
touching the network.

Rate limits: HTTP 429/418 wait ``Retry-After`` seconds (Binance sends it), 5xx and transport errors back off
exponentially; after ``retries`` attempts the download stops with a runtime failure (progress kept). A 4xx with
Binance's ``{"code", "msg"}`` body (unknown symbol, bad interval) is the user's error.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desk.backtest.data import METADATA_KEY, NS
from desk.errors import RuntimeFailure, UserError

INTERVALS: dict[str, int] = {  # Binance interval -> seconds (1M is calendar-based: not supported)
    "1s": 1,
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "4h": 14_400,
    "6h": 21_600,
    "8h": 28_800,
    "12h": 43_200,
    "1d": 86_400,
    "3d": 259_200,
    "1w": 604_800,
}
PAGE_LIMIT = 1000
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class KlineRequest:
    venue_symbol: str  # BTCUSDT
    symbol: str  # desk symbol, BTC-USDT
    interval: str
    start_ms: int
    end_ms: int  # exclusive

    @property
    def interval_ms(self) -> int:
        return INTERVALS[self.interval] * 1000

    @property
    def total_bars(self) -> int:
        return max(0, math.ceil((self.end_ms - self.start_ms) / self.interval_ms))


def make_request(venue: str, symbol: str, interval: str, start_ns: int, end_ns: int) -> KlineRequest:
    if venue != "binance":
        raise UserError(f"--venue {venue!r}: expected binance (the only venue with kline download so far)")
    if interval not in INTERVALS:
        raise UserError(f"--interval {interval!r}: expected one of {', '.join(INTERVALS)}")
    if end_ns <= start_ns:
        raise UserError("--end must be after --start")
    raw = symbol.strip().upper()
    if not raw or not raw.replace("-", "").isalnum():
        raise UserError(f"--symbol {symbol!r}: expected a Binance symbol such as BTCUSDT (or BTC-USDT)")
    if "-" in raw:
        desk_symbol, venue_symbol = raw, raw.replace("-", "")
    else:
        from desk.backtest.data import _symbol_from_name

        venue_symbol = raw
        desk_symbol = _symbol_from_name(Path(raw))
        if "-" not in desk_symbol:
            desk_symbol = f"{raw}-USD"
    step = INTERVALS[interval] * NS
    start_ms = (start_ns - start_ns % step) // 1_000_000  # align to the interval grid
    end_ms = -(-end_ns // 1_000_000)
    return KlineRequest(venue_symbol, desk_symbol, interval, start_ms, end_ms)


def cache_path(cache_dir: Path, req: KlineRequest) -> Path:
    return cache_dir / "klines" / "binance" / req.venue_symbol / req.interval / f"{req.start_ms}_{req.end_ms}.parquet"


def _parts_dir(final: Path) -> Path:
    return final.with_name(final.stem + ".parts")


class Downloader:
    def __init__(
        self,
        rest_url: str,
        *,
        client: Any | None = None,
        retries: int = 6,
        backoff_s: float = 0.5,
        flush_pages: int = 10,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: float = 15.0,
    ) -> None:
        import httpx

        self.rest_url = rest_url.rstrip("/")
        self._own_client = client is None
        self.client = client or httpx.Client(timeout=timeout_s, headers={"User-Agent": "desk"})
        self.retries = retries
        self.backoff_s = backoff_s
        self.flush_pages = flush_pages
        self.sleep = sleep
        self.requests = 0

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def _get(self, params: dict[str, Any]) -> list[list[Any]]:
        import httpx

        url = f"{self.rest_url}/api/v3/klines"
        delay = self.backoff_s
        last = ""
        for _attempt in range(self.retries):
            self.requests += 1
            try:
                response = self.client.get(url, params=params)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
                self.sleep(delay)
                delay *= 2
                continue
            status = response.status_code
            if status in (418, 429):
                wait = _retry_after(response.headers.get("Retry-After"), delay)
                last = f"HTTP {status} (rate limited)"
                self.sleep(wait)
                delay *= 2
                continue
            if status >= 500:
                last = f"HTTP {status}"
                self.sleep(delay)
                delay *= 2
                continue
            if status >= 400:
                raise UserError(
                    f"binance rejected {params.get('symbol')} {params.get('interval')}: {_message(response)}"
                )
            try:
                body = response.json()
            except ValueError:
                raise RuntimeFailure(f"binance sent a non-JSON kline page from {url}") from None
            if not isinstance(body, list):
                raise RuntimeFailure(f"binance sent an unexpected kline page: {str(body)[:120]}")
            return body
        raise RuntimeFailure(
            f"kline download from {url} failed after {self.retries} attempts ({last}); run again to resume"
        )

    def download(self, req: KlineRequest, cache_dir: Path, progress: Progress | None = None) -> Path:
        import polars as pl

        final = cache_path(cache_dir, req)
        if final.exists():
            if progress is not None:
                progress(req.total_bars, req.total_bars)
            return final
        parts = _parts_dir(final)
        parts.mkdir(parents=True, exist_ok=True)
        cursor = req.start_ms
        have = 0
        existing = sorted(parts.glob("part-*.parquet"))
        if existing:
            done = pl.scan_parquet(existing).select(pl.col("open_time").max(), pl.len()).collect()
            last_open = done.item(0, 0)
            have = int(done.item(0, 1))
            if last_open is not None:
                cursor = int(last_open) + req.interval_ms
        buffer: list[list[Any]] = []
        pages = 0
        try:
            while cursor < req.end_ms:
                page = self._get(
                    {
                        "symbol": req.venue_symbol,
                        "interval": req.interval,
                        "startTime": cursor,
                        "endTime": req.end_ms - 1,
                        "limit": PAGE_LIMIT,
                    }
                )
                rows = [
                    r for r in page if isinstance(r, list) and len(r) >= 9 and req.start_ms <= int(r[0]) < req.end_ms
                ]
                if not rows:
                    break
                buffer.extend(rows)
                have += len(rows)
                pages += 1
                cursor = int(rows[-1][0]) + req.interval_ms
                if progress is not None:
                    progress(min(have, req.total_bars), req.total_bars)
                if pages % self.flush_pages == 0:
                    _flush(buffer, parts)
                    buffer = []
                if len(page) < PAGE_LIMIT:
                    break
        finally:
            _flush(buffer, parts)  # whatever arrived is kept for the next attempt, even on Ctrl-C
        files = sorted(parts.glob("part-*.parquet"))
        if not files:
            raise UserError(
                f"binance returned no {req.interval} klines for {req.venue_symbol} in the requested range: "
                "expected a range where the symbol traded"
            )
        frame = pl.scan_parquet(files).unique("open_time", keep="first").sort("open_time").collect()
        meta = {
            "symbol": req.symbol,
            "venue": "binance",
            "venue_symbol": req.venue_symbol,
            "interval": req.interval,
            "timeframe_s": INTERVALS[req.interval],
        }
        tmp = final.with_name(final.name + ".tmp")
        frame.write_parquet(tmp, compression="zstd", metadata={METADATA_KEY: json.dumps(meta)})
        tmp.replace(final)
        for f in files:
            f.unlink()
        parts.rmdir()
        if progress is not None:
            progress(req.total_bars, req.total_bars)
        return final


def _flush(rows: list[list[Any]], parts: Path) -> None:
    if not rows:
        return
    import polars as pl

    frame = pl.DataFrame(
        {
            "open_time": [int(r[0]) for r in rows],
            "open": [float(r[1]) for r in rows],
            "high": [float(r[2]) for r in rows],
            "low": [float(r[3]) for r in rows],
            "close": [float(r[4]) for r in rows],
            "volume": [float(r[5]) for r in rows],
            "trades": [int(r[8]) for r in rows],
        },
        schema={
            "open_time": pl.Int64,
            "open": pl.Float64,
            "high": pl.Float64,
            "low": pl.Float64,
            "close": pl.Float64,
            "volume": pl.Float64,
            "trades": pl.Int64,
        },
    )
    path = parts / f"part-{int(rows[0][0]):015d}.parquet"
    tmp = path.with_name(path.name + ".tmp")
    frame.write_parquet(tmp)
    tmp.replace(path)


def _retry_after(header: str | None, default: float) -> float:
    try:
        return max(0.0, float(header)) if header else default
    except ValueError:
        return default


def _message(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and "msg" in body:
        return f"{body['msg']} (code {body.get('code')}, HTTP {response.status_code})"
    return f"HTTP {response.status_code}"


def parse_time(text: str, what: str) -> int:
    """``2024-01-01``, ``2024-01-01T12:00[:00][Z]`` (UTC) or epoch milliseconds -> ns."""
    raw = text.strip()
    if raw.isdigit():
        return int(raw) * 1_000_000
    from datetime import UTC, datetime

    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(
            f"{what} {text!r}: expected a date like 2024-01-31, 2024-01-31T12:00 (UTC) or epoch ms"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp()) * NS + value.microsecond * 1000
