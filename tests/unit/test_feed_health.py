"""FeedHealth counters against hand-computed values, with injected clocks (no real time)."""

from __future__ import annotations

import pytest

from desk.domain.events import FeedState
from desk.feeds.health import FeedHealth


def make(now: list[float], wall: list[int] | None = None) -> FeedHealth:
    wall = wall if wall is not None else [42]
    return FeedHealth("binance", ["BTC-USDT", "ETH-USDT"], clock=lambda: now[0], wall_ns=lambda: wall[0])


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
    assert health.symbols["BTC-USDT"].messages == 35


def test_latency_is_the_mean_of_receive_minus_exchange_time_over_the_refresh_window() -> None:
    now = [0.0]
    health = make(now)
    health.message("BTC-USDT", exchange_ts_ns=1_000_000_000, recv_ns=1_010_000_000)  # 10 ms
    health.message("BTC-USDT", exchange_ts_ns=2_000_000_000, recv_ns=2_030_000_000)  # 30 ms
    health.message("BTC-USDT", exchange_ts_ns=0, recv_ns=5)  # no exchange time: no sample
    assert health.status("BTC-USDT").latency_ms == 0.0  # under 0.5 s since construction: not refreshed yet
    now[0] = 1.0
    assert health.status("BTC-USDT").latency_ms == pytest.approx(20.0)  # (10 + 30) / 2
    health.message("BTC-USDT", exchange_ts_ns=3_000_000_000, recv_ns=3_004_000_000)  # 4 ms
    now[0] = 2.0
    assert health.status("BTC-USDT").latency_ms == pytest.approx(4.0)  # only the new window's sample
    now[0] = 3.0
    assert health.status("BTC-USDT").latency_ms == pytest.approx(4.0)  # no new sample: the last mean stays


def test_last_message_age_is_from_the_receive_stamp_and_unknown_symbols_are_ignored() -> None:
    now = [10.0]
    wall = [5_000_000_000]
    health = make(now, wall)
    health.message("BTC-USDT", recv_ns=4_000_000_000)
    health.message("NOT-LISTED")  # ignored
    wall[0] = 7_500_000_000
    status = health.status("BTC-USDT")
    assert status.last_msg_age_s == pytest.approx(3.5)
    assert health.status("ETH-USDT").last_msg_age_s == 0.0  # never heard from
    health.message("ETH-USDT")  # no receive stamp given: the wall clock now
    wall[0] = 8_000_000_000
    assert health.status("ETH-USDT").last_msg_age_s == pytest.approx(0.5)
    assert health.set_state("BTC-USDT", FeedState.LIVE) is True
    assert health.set_state("BTC-USDT", FeedState.LIVE) is False
    assert health.status("BTC-USDT").state is FeedState.LIVE and status.ts_ns == 7_500_000_000


def test_frames_are_counted_feed_wide_by_the_supervisor() -> None:
    now = [10.0]
    health = make(now)
    health.frame()
    now[0] = 11.0
    health.frame()
    assert health.messages == 2 and health.last_msg_mono == 11.0
    assert health.symbols["BTC-USDT"].messages == 0  # a frame is not a symbol message
