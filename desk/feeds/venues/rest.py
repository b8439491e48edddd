"""REST access for venue adapters: rate-limited, and polite when the venue says "too many requests".

HTTP 429 (and Binance's 418, "you kept going after 429s and are now banned") carry ``Retry-After`` in seconds;
the shared bucket is blocked for that long so no other request from this process goes out early, then the
request is retried a bounded number of times.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from desk.feeds.ratelimit import TokenBucket

log = logging.getLogger("desk.feeds.rest")

BACKOFF_STATUSES = (418, 429)
DEFAULT_RETRY_AFTER_S = 1.0


class RestError(Exception):
    """A REST call failed for good (after retries, or a non-retryable status)."""


def retry_after_s(response: httpx.Response) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return DEFAULT_RETRY_AFTER_S


def _decode(response: httpx.Response, url: str) -> Any:
    if response.status_code >= 400:
        raise RestError(f"GET {url}: HTTP {response.status_code} {response.text[:200]!r}")
    try:
        return response.json()
    except ValueError as exc:
        raise RestError(f"GET {url}: response is not JSON") from exc


class RestClient:
    """Async JSON GETs against one venue base URL, sharing one weight bucket."""

    def __init__(
        self,
        base_url: str,
        bucket: TokenBucket,
        *,
        timeout_s: float = 10.0,
        max_retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.bucket = bucket
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self.requests = 0
        self.throttled = 0
        self.taps: list[Callable[[str, bytes, int], None]] = []
        """Called with (URL with query, raw body, receive time ns) for every response: the recorder's hook."""

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s, transport=self._transport)
        return self._client

    async def get_json(self, path: str, params: dict[str, str] | None = None, *, weight: float = 1.0) -> Any:
        url = f"{self.base_url}{path}"
        for attempt in range(self.max_retries + 1):
            await self.bucket.acquire(weight)
            self.requests += 1
            try:
                response = await self._http().get(url, params=params)
            except httpx.HTTPError as exc:
                raise RestError(f"GET {url}: {type(exc).__name__}: {exc}") from exc
            if self.taps:
                recv_ns = time.time_ns()
                for tap in self.taps:
                    tap(str(response.url), response.content, recv_ns)
            if response.status_code in BACKOFF_STATUSES and attempt < self.max_retries:
                wait = retry_after_s(response)
                self.throttled += 1
                self.bucket.block_for(wait)
                log.warning("GET %s: HTTP %s, backing off %.2fs", url, response.status_code, wait)
                continue
            return _decode(response, url)
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def get_json_sync(
    url: str,
    params: dict[str, str] | None = None,
    *,
    timeout_s: float = 10.0,
    max_retries: int = 3,
    transport: httpx.BaseTransport | None = None,
) -> Any:
    """Blocking GET for start-up reference data (instrument metadata), honouring Retry-After."""
    with httpx.Client(timeout=timeout_s, transport=transport) as client:
        for attempt in range(max_retries + 1):
            try:
                response = client.get(url, params=params)
            except httpx.HTTPError as exc:
                raise RestError(f"GET {url}: {type(exc).__name__}: {exc}") from exc
            if response.status_code in BACKOFF_STATUSES and attempt < max_retries:
                time.sleep(retry_after_s(response))
                continue
            return _decode(response, url)
    raise AssertionError("unreachable")  # pragma: no cover
