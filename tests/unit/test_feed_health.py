"""FeedHealth counters against hand-computed values, with an injected clock (no real time)."""

from __future__ import annotations

import pytest

from desk.domain.events import FeedState
from desk.feeds.health import FeedHealth


def make(now: list[float]) -> FeedHealth:
    return FeedHealth("binance", ["BTC-USDT", "ETH-USDT"], clock=lambda: now[0], wall_ns=lambda: 42)


def test_rate_is_messages_since_the_last_refresh_over_elapsed_time() -> None:
    now = [100.0]
    health = make(now)
    for _ in range(30):
        health.message("BTC-USDT")
    now[0] = 102.0
    status = health.status("BTC-USDT")
    assert status.msgs_per_s == pytest.approx(15.0)  # 30 messages in 2 s
    for _ in range(5):
        health.message("BTC-USDT")
    now[0] = 102.25  # under 0.5 s since the refresh: the rate is kept, not recomputed from 5 messages
    assert health.status("BTC-USDT").msgs_per_s == pytest.approx(15.0)
    now[0] = 104.0
    assert health.status("BTC-USDT").msgs_per_s == pytest.approx(2.5)  # 5 messages in 2 s
    assert health.status("ETH-USDT").msgs_per_s == 0.0
    assert health.messages == 35 and health.symbols["BTC-USDT"].messages == 35


def test_latency_is_an_ema_of_receive_minus_exchange_time() -> None:
    now = [0.0]
    health = make(now)
    health.message("BTC-USDT", exchange_ts_ns=1_000_000_000, recv_ns=1_010_000_000)  # 10 ms: the first sample
    assert health.symbols["BTC-USDT"].latency_ms == pytest.approx(10.0)
    health.message("BTC-USDT", exchange_ts_ns=2_000_000_000, recv_ns=2_030_000_000)  # 30 ms
    assert health.symbols["BTC-USDT"].latency_ms == pytest.approx(10.0 + 0.1 * (30.0 - 10.0))
    health.message("BTC-USDT", exchange_ts_ns=0, recv_ns=5)  # no exchange time: no sample
    assert health.status("BTC-USDT").latency_ms == pytest.approx(12.0)


def test_last_message_age_and_unknown_symbols() -> None:
    now = [10.0]
    health = make(now)
    health.message("BTC-USDT")
    health.message("NOT-LISTED")  # counted feed-wide only
    health.message(None)
    now[0] = 13.5
    status = health.status("BTC-USDT")
    assert status.last_msg_age_s == pytest.approx(3.5)
    assert health.status("ETH-USDT").last_msg_age_s == 0.0  # never heard from
    assert health.messages == 3 and health.last_msg_mono == 10.0
    assert health.set_state("BTC-USDT", FeedState.LIVE) is True
    assert health.set_state("BTC-USDT", FeedState.LIVE) is False
    assert health.status("BTC-USDT").state is FeedState.LIVE and status.ts_ns == 42
