"""The compiled depth step (desk._native.DepthStep) against its Python specification (depth_step.DepthStep):
the same frames into two identical books, and after every frame the same result and the same state (book levels,
sorted keys, sequence, timestamps, update count, health counters). Frames cover stale, contiguous and gapped
sequences, syncing symbols, removals of absent prices, crossing updates, odd and off-grid texts, and numbers too
large for the compiled fast path; the recorded Binance session (when present) runs through both too."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk import native
from desk.book.l2 import OrderBook
from desk.domain.events import BookDelta, BookSnapshot
from desk.domain.instruments import Instrument
from desk.feeds.health import FeedHealth
from desk.feeds.venues import binance
from desk.feeds.venues.base import VenueInstrument
from desk.feeds.venues.depth_step import DECLINED, MS, UNHANDLED, DepthStep, make_step
from desk.feeds.venues.numbers import GridParser, RawLevelParser
from tests.integration.fakes import RECORDINGS, FakeLink, recording

pytestmark = pytest.mark.skipif(native.DepthStep is None, reason="desk._native is not built (no C compiler)")

SYMBOL = "BTC-USDT"


class Side:
    """One desk (book, sync state, health) driven by one kind of step."""

    def __init__(self, price_step: str, size_step: str, compiled: bool) -> None:
        inst = Instrument(SYMBOL, Decimal(price_step), Decimal(size_step), venue_symbol="BTCUSDT")
        self.book = OrderBook(inst, "binance")
        self.state = binance._SyncState()
        self.state.live = True
        self.health = FeedHealth("binance", [SYMBOL])
        levels = RawLevelParser(GridParser(inst.tick_size, "price"), GridParser(inst.lot_size, "size"))
        h = self.health.symbols[SYMBOL]
        step, python = make_step(SYMBOL, "binance", self.book, self.state, h, levels, binance._DepthUpdate)
        if compiled:
            assert step is not python, "the compiled step should be in use for 10**-k grids"
        self.step = step if compiled else python
        self.python = python

    def feed(self, data: Any, recv_ns: int) -> tuple[str, Any]:
        """The adapter's handling of one frame (on_message + the DECLINED/UNHANDLED hand-back), as an outcome."""
        try:
            result = self.step(data, recv_ns)
            if result.__class__ is not BookDelta and result == DECLINED:
                result = self.python.rest(data, data.E * MS)
            elif result.__class__ is not BookDelta and result == UNHANDLED:
                result = self.python(data, recv_ns)
        except (ValueError, msgspec.MsgspecError) as exc:
            return "error", type(exc).__name__
        return "ok", result

    def snapshot(self) -> tuple[Any, ...]:
        b = self.book
        h = self.health.symbols[SYMBOL]
        return (
            b.bids, b.asks, b._bid_keys, b._ask_prices, b.seq, b.ts_ns, b.updates, b.live,
            h.messages, h.last_recv_ns, h.latency_sum_ns, h.latency_samples,
        )  # fmt: skip


def frame(first: int, last: int, event_ms: int, bids: list[list[str]], asks: list[list[str]]) -> Any:
    data = {"e": "depthUpdate", "E": event_ms, "s": "BTCUSDT", "U": first, "u": last, "b": bids, "a": asks}
    return binance._decode_depth(json.dumps({"stream": "btcusdt@depth@100ms", "data": data}).encode()).data


def mostly(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``rare`` one time in 40: odd texts spoil their whole frame, so they must not crowd out the fast path."""
    return st.integers(0, 39).flatmap(lambda k: rare if k == 0 else common)


def price_text(low: int, high: int) -> st.SearchStrategy[str]:
    """Ticks on the 0.01 grid, crowded (inserts, updates, removals); bids and asks overlap a little (crossings)."""
    return mostly(
        st.one_of(
            st.integers(low, high).map(lambda t: f"{t / 100:.2f}"),
            st.integers(low, high).map(lambda t: f"{t / 100:.8f}"),  # venue-style padding
        ),
        st.sampled_from(["1.001", "-1.00", "1e2", " 1.00", "", "0.00", "99999999999999999999.00"]),  # odd / off-grid
    )


size_text = mostly(
    st.one_of(st.integers(0, 50).map(lambda q: f"{q / 1000:.3f}"), st.just("0.00000000")),
    st.sampled_from(["0.0005", "12", "1E-3"]),
)
bid_levels = st.lists(st.tuples(price_text(1, 160), size_text).map(list), max_size=6)
ask_levels = st.lists(st.tuples(price_text(145, 400), size_text).map(list), max_size=6)
frames = st.lists(
    st.tuples(
        st.sampled_from(["next", "next", "next", "stale", "gap", "overlap"]),
        st.integers(1, 3),  # updates in the frame
        bid_levels,
        ask_levels,
        mostly(st.sampled_from([1_700_000_000_000, 1_700_000_000_100]), st.just(10**17)).map(int),  # 10**17 ms
        # overflows int64 nanoseconds: the compiled step hands the frame back untouched
        mostly(st.just(True), st.just(False)),  # the symbol is live (else still syncing)
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(frames=frames)
def test_compiled_step_matches_the_python_step(frames: list[Any]) -> None:
    compiled = Side("0.01", "0.001", compiled=True)
    python = Side("0.01", "0.001", compiled=False)
    for side in (compiled, python):
        side.book.apply_snapshot(BookSnapshot(SYMBOL, "binance", 100, 1, ((150, 5),), ((250, 5),)))
    for kind, n, bids, asks, event_ms, live in frames:
        seq = python.book.seq
        first = {"next": seq + 1, "stale": seq - 3, "gap": seq + 2, "overlap": seq - 1}[kind]
        data = frame(first, max(first, 1) + n - 1, event_ms, bids, asks)
        for side in (compiled, python):
            side.state.live = live
            if not side.book.live:  # crossed: the adapter would resync from a snapshot
                side.book.apply_snapshot(BookSnapshot(SYMBOL, "binance", seq, 1, ((150, 5),), ((250, 5),)))
        recv = event_ms * MS + 3_000_000
        assert compiled.feed(data, recv) == python.feed(data, recv)
        assert compiled.snapshot() == python.snapshot()


def test_recorded_session_through_both_steps() -> None:
    file = "binance_spot_depth_2021-10-12.jsonl"
    if not (RECORDINGS / file).exists():
        pytest.skip("exchange recordings not available")
    rows = [r for r in recording(file) if r["kind"] == "ws_depth@100ms"]
    nkn = [r["msg"]["data"] for r in rows if r["msg"]["data"]["s"] == "NKNUSDT"]  # type: ignore[index]
    sides = [Side("0.00000001", "0.00000001", compiled=c) for c in (True, False)]
    for side in sides:
        side.book.apply_snapshot(BookSnapshot(SYMBOL, "binance", nkn[0]["U"] - 1, 1, (), ()))
    for d in nkn:
        d = dict(d, s="BTCUSDT")
        data = binance._decode_depth(json.dumps({"data": d}).encode()).data
        outcomes = [side.feed(data, d["E"] * MS + 5_000_000) for side in sides]
        assert outcomes[0] == outcomes[1]
        assert outcomes[0][0] == "ok" and isinstance(outcomes[0][1], BookDelta)
        assert sides[0].snapshot() == sides[1].snapshot()
    assert sides[0].book.updates > 300


def test_python_step_is_used_when_the_grid_is_not_a_power_of_ten() -> None:
    inst = Instrument(SYMBOL, Decimal("0.25"), Decimal("1"), venue_symbol="BTCUSDT")
    levels = RawLevelParser(GridParser(inst.tick_size, "price"), GridParser(inst.lot_size, "size"))
    health = FeedHealth("binance", [SYMBOL]).symbols[SYMBOL]
    step, python = make_step(SYMBOL, "binance", OrderBook(inst), binance._SyncState(), health, levels, dict)
    assert step is python and isinstance(python, DepthStep)


def test_adapter_frame_for_a_symbol_not_subscribed_is_malformed_and_changes_nothing() -> None:
    inst = Instrument(SYMBOL, Decimal("0.01"), Decimal("0.001"), venue_symbol="BTCUSDT")
    adapter = binance.BinanceAdapter({SYMBOL: VenueInstrument(inst, 2, 3)}, ws_url="ws://x", rest_url="http://x")
    link = FakeLink("binance", [SYMBOL])
    data = {"e": "depthUpdate", "E": 1, "s": "ETHUSDT", "U": 1, "u": 2, "b": [["1.00", "1.000"]], "a": []}
    with pytest.raises(KeyError):  # the supervisor counts it as malformed (MALFORMED includes KeyError)
        adapter.on_message(json.dumps({"stream": "ethusdt@depth@100ms", "data": data}), 5, link)
    assert adapter.books[SYMBOL].book.bids == {} and link.events == []
    assert link.health.symbols[SYMBOL].messages == 0
