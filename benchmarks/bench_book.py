"""L2 book throughput: desk's OrderBook vs sortedcontainers.SortedDict, same stream, same run.

Stream: 1M level updates from a deterministic generator (85% set, 15% delete, geometric distance from the
touch, a drifting mid), applied in deltas of 1-4 levels as venues send them, with a top-10 read of both sides
every 100 updates. Target (issue 2): desk >= 2x SortedDict (which does about 1.45M updates/s here).
"""

from __future__ import annotations

import time
from decimal import Decimal

import numpy as np
from sortedcontainers import SortedDict

from desk.book import OrderBook
from desk.domain import BookDelta, BookSnapshot, Instrument

N_UPDATES = 1_000_000
READ_EVERY = 100


def make_stream(seed: int = 1) -> list[BookDelta]:
    rng = np.random.default_rng(seed)
    n = N_UPDATES
    is_bid = rng.random(n) < 0.5
    distance = rng.geometric(0.08, n)
    delete = rng.random(n) < 0.15
    sizes = rng.integers(1, 1000, n)
    drift = np.cumsum(rng.choice([-1, 0, 0, 0, 1], n))
    mid = 1_000_000 + drift
    prices = np.where(is_bid, mid - distance, mid + distance)
    batch_sizes = rng.integers(1, 5, n)
    deltas: list[BookDelta] = []
    i = 0
    seq = 0
    while i < n:
        k = int(batch_sizes[i])
        bids = []
        asks = []
        for j in range(i, min(i + k, n)):
            level = (int(prices[j]), 0 if delete[j] else int(sizes[j]))
            (bids if is_bid[j] else asks).append(level)
        seq += 1
        deltas.append(BookDelta("BTC-USD", "bench", seq, seq, 0, tuple(bids), tuple(asks)))
        i += k
    return deltas


def run_desk(stream: list[BookDelta]) -> tuple[float, int]:
    book = OrderBook(Instrument("BTC-USD", Decimal("0.01"), Decimal("0.001")))
    book.apply_snapshot(BookSnapshot("BTC-USD", "bench", 0, 0, (), ()))
    checksum = 0
    since_read = 0
    start = time.perf_counter()
    for delta in stream:
        book.apply_delta(delta)
        since_read += len(delta.bids) + len(delta.asks)
        if since_read >= READ_EVERY:
            since_read = 0
            bids, _asks = book.top(10)
            checksum += bids[0][0] if bids else 0
    return time.perf_counter() - start, checksum


class SortedDictBook:
    """The reference: the same book API and checks as desk's OrderBook, with SortedDict as the container."""

    def __init__(self) -> None:
        self.bids: SortedDict = SortedDict()
        self.asks: SortedDict = SortedDict()
        self.seq = 0
        self.live = True
        self.updates = 0

    def apply_delta(self, delta: BookDelta) -> None:
        if not self.live:
            return
        if delta.first_seq and delta.first_seq != self.seq + 1:
            raise RuntimeError("gap")
        for side, levels in ((self.bids, delta.bids), (self.asks, delta.asks)):
            for price, size in levels:
                if size:
                    side[price] = size
                else:
                    side.pop(price, None)
        self.updates += len(delta.bids) + len(delta.asks)
        self.seq = delta.seq

    def top(self, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        bids, asks = self.bids, self.asks
        return (
            [(p, bids[p]) for p in bids.islice(start=max(0, len(bids) - n), reverse=True)],
            [(p, asks[p]) for p in asks.islice(stop=n)],
        )


def run_sorteddict(stream: list[BookDelta]) -> tuple[float, int]:
    book = SortedDictBook()
    checksum = 0
    since_read = 0
    start = time.perf_counter()
    for delta in stream:
        book.apply_delta(delta)
        since_read += len(delta.bids) + len(delta.asks)
        if since_read >= READ_EVERY:
            since_read = 0
            bids, _asks = book.top(10)
            checksum += bids[0][0] if bids else 0
    return time.perf_counter() - start, checksum


def run_sorteddict_inline(stream: list[BookDelta]) -> float:
    """SortedDict with the loop inlined and no checks at all: the floor of what a SortedDict book can do."""
    bids: SortedDict = SortedDict()
    asks: SortedDict = SortedDict()
    since_read = 0
    start = time.perf_counter()
    for delta in stream:
        for price, size in delta.bids:
            if size:
                bids[price] = size
            else:
                bids.pop(price, None)
        for price, size in delta.asks:
            if size:
                asks[price] = size
            else:
                asks.pop(price, None)
        since_read += len(delta.bids) + len(delta.asks)
        if since_read >= READ_EVERY:
            since_read = 0
            _b = [(p, bids[p]) for p in bids.islice(start=max(0, len(bids) - 10), reverse=True)]
            _a = [(p, asks[p]) for p in asks.islice(stop=10)]
    return time.perf_counter() - start


def run_harness_only(stream: list[BookDelta]) -> float:
    """The loop both books share (iterate, count, read cadence) with no book at all."""
    since_read = 0
    start = time.perf_counter()
    for delta in stream:
        since_read += len(delta.bids) + len(delta.asks)
        if since_read >= READ_EVERY:
            since_read = 0
    return time.perf_counter() - start


def main() -> None:
    stream = make_stream()
    updates = sum(len(d.bids) + len(d.asks) for d in stream)
    results: dict[str, list[float]] = {"desk": [], "sorteddict": [], "inline": []}
    for _ in range(3):
        t_desk, c_desk = run_desk(stream)
        t_ref, c_ref = run_sorteddict(stream)
        assert c_desk == c_ref, "the two books disagree on the best bid"
        results["desk"].append(t_desk)
        results["sorteddict"].append(t_ref)
        results["inline"].append(run_sorteddict_inline(stream))
        results.setdefault("harness", []).append(run_harness_only(stream))
    desk_rate = updates / min(results["desk"])
    ref_rate = updates / min(results["sorteddict"])
    inline_rate = updates / min(results["inline"])
    print(f"stream: {updates:,} level updates in {len(stream):,} deltas, top-10 read every {READ_EVERY} updates")
    print(f"desk OrderBook                 : {desk_rate / 1e6:6.2f} M updates/s (best of 3)")
    print(f"SortedDict book, same API      : {ref_rate / 1e6:6.2f} M updates/s (best of 3)")
    print(f"SortedDict inlined, no checks  : {inline_rate / 1e6:6.2f} M updates/s (floor, for context)")
    ratio = desk_rate / ref_rate
    print(f"ratio desk/SortedDict (same API): {ratio:.2f}x (target >= 2x): {'PASS' if ratio >= 2 else 'MISS'}")
    print(f"ratio desk/SortedDict (inlined) : {desk_rate / inline_rate:.2f}x")
    harness = min(results["harness"])
    own_desk = min(results["desk"]) - harness
    own_ref = min(results["sorteddict"]) - harness
    print(
        f"book's own cost (minus the shared {harness * 1e3:.0f} ms loop): "
        f"desk {own_desk * 1e9 / updates:.0f} ns/update, "
        f"SortedDict {own_ref * 1e9 / updates:.0f} ns/update: {own_ref / own_desk:.2f}x"
    )


if __name__ == "__main__":
    main()
