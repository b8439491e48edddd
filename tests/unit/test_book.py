"""The L2 book against a naive reference model (property tests) and hand-computed analytics."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk import native
from desk.book import BookState, OrderBook, SequenceGap, l2
from desk.domain import BookDelta, BookSnapshot, Instrument

INST = Instrument("BTC-USD", Decimal("0.01"), Decimal("0.001"), Decimal("1"))


def snap(bids: list[tuple[int, int]], asks: list[tuple[int, int]], seq: int = 10) -> BookSnapshot:
    return BookSnapshot("BTC-USD", "test", seq, 1, tuple(bids), tuple(asks))


def delta(first: int, last: int, bids=(), asks=()) -> BookDelta:  # type: ignore[no-untyped-def]
    return BookDelta("BTC-USD", "test", first, last, 2, tuple(bids), tuple(asks))


class NaiveBook:
    """Reference: full sort on every read, no caching."""

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}

    def apply(self, is_bid: bool, price: int, size: int) -> None:
        side = self.bids if is_bid else self.asks
        if size:
            side[price] = size
        else:
            side.pop(price, None)

    def top(self, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        return sorted(self.bids.items(), reverse=True)[:n], sorted(self.asks.items())[:n]


# apply_delta has two implementations of its level loops: the compiled one (desk/_native.c, when built) and the
# Python one. Every test that applies deltas runs both.
IMPLEMENTATIONS = ["compiled", "python"] if native.available() else ["python"]
both_paths = pytest.mark.parametrize("path", IMPLEMENTATIONS)


@contextmanager
def implementation(path: str) -> Iterator[None]:
    with mock.patch.object(l2, "_native_apply_sides", native.apply_sides if path == "compiled" else None):
        yield


level = st.tuples(st.integers(1, 60), st.integers(0, 5))  # small price range: many deletes hit the best level
update = st.tuples(st.booleans(), level)


@both_paths
@settings(max_examples=300, deadline=None)
@given(updates=st.lists(update, max_size=300), n=st.integers(1, 12))
def test_book_matches_naive_reference(path: str, updates: list[tuple[bool, tuple[int, int]]], n: int) -> None:
    with implementation(path):
        check_against_reference(updates, n)


def check_against_reference(updates: list[tuple[bool, tuple[int, int]]], n: int) -> None:
    book = OrderBook(INST)
    ref = NaiveBook()
    book.apply_snapshot(snap([], [], seq=0))
    seq = 0
    for is_bid, (price, size) in updates:
        seq += 1
        crossed = book.apply_delta(
            delta(seq, seq, bids=[(price, size)] if is_bid else [], asks=[] if is_bid else [(price, size)])
        )
        ref.apply(is_bid, price, size)
        rb, ra = ref.top(n)
        assert crossed == bool(rb and ra and rb[0][0] > ra[0][0])
        assert book.top(n) == (rb, ra)
        assert book.best_bid == (rb[0][0] if rb else None)
        assert book.best_ask == (ra[0][0] if ra else None)
    assert book.seq == seq


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 50), st.integers(1, 9)), min_size=1, max_size=20), st.integers(1, 80))
def test_walk_matches_hand_loop(asks: list[tuple[int, int]], lots: int) -> None:
    book = OrderBook(INST)
    book.apply_snapshot(snap([], asks))
    levels = sorted(dict(asks).items())
    remaining, notional = lots, 0
    for price, size in levels:
        take = min(size, remaining)
        notional += take * price
        remaining -= take
    assert book.walk(True, lots) == (lots - remaining, notional)


def test_analytics_hand_computed() -> None:
    book = OrderBook(INST)
    book.apply_snapshot(snap([(100, 3), (99, 5), (97, 2)], [(102, 1), (103, 4), (110, 10)]))
    assert (book.best_bid, book.best_ask) == (100, 102)
    assert book.spread_ticks() == 2
    assert book.mid_ticks() == 101
    assert book.mid() == pytest.approx(1.01)
    # microprice = (bid * ask_qty + ask * bid_qty) / (bid_qty + ask_qty) = (100*1 + 102*3) / 4 = 101.5
    assert book.microprice_ticks() == pytest.approx(101.5)
    # imbalance over 2 levels: bids 3+5=8, asks 1+4=5 -> 3/13
    assert book.imbalance(2) == pytest.approx(3 / 13)
    # within 200 bps of mid 101: [98.98, 103.02] -> bids 100, 99 (8); asks 102, 103 (5)
    assert book.depth_within_bps(200) == (8, 5)
    bids, asks = book.cumulative(2)
    assert bids == [(100, 3, 3), (99, 5, 8)]
    assert asks == [(102, 1, 1), (103, 4, 5)]
    # buy 3 lots: 1 @102 + 2 @103 -> avg (102 + 206) / 3
    assert book.avg_fill_price_ticks(True, 3) == pytest.approx(308 / 3)
    # sell 9 lots: 3 @100 + 5 @99 + 1 @97 = 300 + 495 + 97 = 892
    assert book.walk(False, 9) == (9, 892)
    assert book.avg_fill_price_ticks(False, 11) is None  # only 10 lots of bids
    assert not book.is_crossed and not book.is_locked


@both_paths
def test_crossed_and_locked_detection(path: str) -> None:
    book = OrderBook(INST)
    book.apply_snapshot(snap([(100, 1)], [(101, 1)]))
    with implementation(path):
        assert book.apply_delta(delta(11, 11, bids=[(101, 2)])) is False
        assert book.is_locked and not book.is_crossed
        assert book.apply_delta(delta(12, 12, bids=[(102, 2)])) is True
    assert book.is_crossed
    assert book.updates == 4  # 2 levels in the snapshot, one per delta


@both_paths
def test_sequence_gap_invalidates_and_duplicates_are_ignored(path: str) -> None:
    with implementation(path):
        check_sequence_gap()


def check_sequence_gap() -> None:
    book = OrderBook(INST)
    book.apply_snapshot(snap([(100, 1)], [(101, 1)], seq=10))
    book.apply_delta(delta(5, 10, bids=[(100, 9)]))  # already covered by the snapshot: ignored
    assert book.bids == {100: 1}
    book.apply_delta(delta(11, 12, bids=[(99, 1)]))
    assert book.seq == 12
    with pytest.raises(SequenceGap, match="expected 13, got 14"):
        book.apply_delta(delta(14, 14, bids=[(98, 1)]))
    assert book.state is BookState.INVALID and book.gaps == 1
    book.apply_delta(delta(15, 15, bids=[(97, 1)]))  # invalid books ignore deltas until a snapshot
    assert 97 not in book.bids
    book.apply_snapshot(snap([(90, 1)], [(95, 1)], seq=20))
    assert book.state is BookState.LIVE and book.best_bid == 90


def test_unsequenced_deltas_and_truncate() -> None:
    book = OrderBook(INST)
    book.apply_snapshot(snap([(100, 1), (99, 1), (98, 1)], [(101, 1), (102, 1), (103, 1)]))
    book.apply_delta(delta(0, 0, asks=[(101, 0)]))
    assert book.best_ask == 102
    book.truncate(2)
    assert book.sorted_bids() == [(100, 1), (99, 1)]
    assert book.sorted_asks() == [(102, 1), (103, 1)]
