"""The recorded Binance session (REST snapshot + @depth@100ms, four symbols) syncs by the documented procedure
with no gap, and the adapter's book agrees with an independent replay of the same frames."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from desk import native
from desk.book import l2
from desk.book.l2 import BookState, OrderBook
from desk.domain.events import BookDelta, BookSnapshot, Side, Trade
from desk.domain.instruments import Instrument
from desk.feeds.venues.base import VenueInstrument
from desk.feeds.venues.binance import BinanceAdapter
from tests.integration.fakes import RECORDINGS, FakeLink, recording

FILE = "binance_spot_depth_2021-10-12.jsonl"
SYMBOLS = {"NKNUSDT": "NKN-USDT", "BLZETH": "BLZ-ETH", "LRCBTC": "LRC-BTC", "RUNEEUR": "RUNE-EUR"}


def _instruments() -> dict[str, VenueInstrument]:
    # 8-decimal grid: exactly what the recorded strings carry (the exchangeInfo of 2021 is not recorded).
    out = {}
    for vs, sym in SYMBOLS.items():
        inst = Instrument(sym, Decimal("0.00000001"), Decimal("0.00000001"), venue_symbol=vs)
        out[sym] = VenueInstrument(inst, 8, 8)
    return out


def _reference_books(lines: list[dict[str, object]]) -> dict[str, dict[str, dict[Decimal, Decimal]]]:
    """A second, deliberately naive implementation: Decimal dicts and the legacy first-event rule."""
    books: dict[str, dict[str, dict[Decimal, Decimal]]] = {}
    last: dict[str, int] = {}
    pending: dict[str, list[dict[str, object]]] = {}
    for line in lines:
        msg: dict[str, object] = line["msg"]  # type: ignore[assignment]
        if line["kind"] == "rest_snapshot":
            vs = str(line["symbol"])
            books[vs] = {
                "b": {Decimal(p): Decimal(q) for p, q in msg["bids"]},  # type: ignore[attr-defined]
                "a": {Decimal(p): Decimal(q) for p, q in msg["asks"]},  # type: ignore[attr-defined]
            }
            last[vs] = int(msg["lastUpdateId"])  # type: ignore[call-overload]
            queue, pending[vs] = pending.get(vs, []), []
            for data in queue:
                _ref_apply(books, last, vs, data)
        elif line["kind"] == "ws_depth@100ms":
            data = msg["data"]  # type: ignore[index]
            vs = data["s"]
            if vs in books:
                _ref_apply(books, last, vs, data)
            else:
                pending.setdefault(vs, []).append(data)
    return books


def _ref_apply(books: dict, last: dict, vs: str, data: dict) -> None:  # type: ignore[type-arg]
    if data["u"] <= last[vs]:
        return
    assert data["U"] <= last[vs] + 1, f"reference gap on {vs}"
    for side, key in (("b", "b"), ("a", "a")):
        for p, q in data[key]:
            if Decimal(q) == 0:
                books[vs][side].pop(Decimal(p), None)
            else:
                books[vs][side][Decimal(p)] = Decimal(q)
    last[vs] = data["u"]


@pytest.fixture
def lines() -> list[dict[str, object]]:
    if not (RECORDINGS / FILE).exists():
        pytest.skip("exchange recordings not available")
    return recording(FILE)


@pytest.fixture(params=["compiled", "python"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The adapter with desk._native (when built) and without it (the pure-Python fallback)."""
    if request.param == "python":
        monkeypatch.setattr(native, "DepthStep", None)
        monkeypatch.setattr(native, "parse_depth", None)
        monkeypatch.setattr(l2, "_native_apply_sides", None)
    elif not native.available():
        pytest.skip("desk._native is not built")
    return str(request.param)


async def test_recorded_session_syncs_without_gap(lines: list[dict[str, object]], path: str) -> None:
    adapter = BinanceAdapter(_instruments(), ws_url="ws://unused", rest_url="http://unused")
    link = FakeLink("binance", list(SYMBOLS.values()))
    for line in lines:
        if line["kind"] == "rest_snapshot":
            link.rest.add("/api/v3/depth", line["msg"])
            await link.run_spawned()  # the snapshot arrives where it was recorded
        elif line["kind"] in ("ws_depth@100ms", "ws_aggTrade"):
            recv_ns = int(Decimal(str(line["t"])) * 10**9)  # the recorded receive time
            adapter.on_message(json.dumps(line["msg"], separators=(",", ":")), recv_ns, link)
    assert link.resyncs == []
    assert link.health.malformed == 0
    assert adapter.snapshots_fetched == 4

    reference = _reference_books(lines)
    engine_books = {sym: OrderBook(vi.instrument, "binance") for sym, vi in _instruments().items()}
    deltas = 0
    for event in link.events:
        if isinstance(event, BookSnapshot):
            engine_books[event.symbol].apply_snapshot(event)
        elif isinstance(event, BookDelta):
            engine_books[event.symbol].apply_delta(event)  # raises SequenceGap if normalisation were wrong
            deltas += 1
    assert deltas > 100
    for vs, sym in SYMBOLS.items():
        book = engine_books[sym]
        assert book.state is BookState.LIVE and not book.is_crossed
        inst = book.instrument
        assert {inst.price(p): inst.size(q) for p, q in book.bids.items()} == reference[vs]["b"]
        assert {inst.price(p): inst.size(q) for p, q in book.asks.items()} == reference[vs]["a"]
        assert adapter.books[sym].book.bids == book.bids


async def test_documented_example_numbers(lines: list[dict[str, object]]) -> None:
    """exchange-protocols.md 1.4: NKNUSDT snapshot 499869752, first applied U=499869753, final id 499870179."""
    adapter = BinanceAdapter(_instruments(), ws_url="ws://unused", rest_url="http://unused")
    link = FakeLink("binance", list(SYMBOLS.values()))
    for line in lines:
        if line["kind"] == "rest_snapshot":
            link.rest.add("/api/v3/depth", line["msg"])
            await link.run_spawned()
        elif line["kind"] == "ws_depth@100ms":
            adapter.on_message(json.dumps(line["msg"]), 1, link)
    nkn = [e for e in link.events if e.symbol == "NKN-USDT" and isinstance(e, BookSnapshot | BookDelta)]
    assert isinstance(nkn[0], BookSnapshot) and nkn[0].seq == 499869752
    assert isinstance(nkn[1], BookDelta) and nkn[1].first_seq == 499869753 and nkn[1].seq == 499869754
    assert sum(isinstance(e, BookDelta) for e in nkn) == 149
    assert nkn[-1].seq == 499870179


async def test_aggtrade_aggressor(lines: list[dict[str, object]]) -> None:
    adapter = BinanceAdapter(_instruments(), ws_url="ws://unused", rest_url="http://unused", trade_stream="aggTrade")
    link = FakeLink("binance", list(SYMBOLS.values()))
    first = next(line for line in lines if line["kind"] == "ws_aggTrade")
    adapter.on_message(json.dumps(first["msg"]), 1, link)
    (trade,) = link.events
    assert isinstance(trade, Trade)
    # {"p":"0.35280000","q":"58.00000000","m":false}: the buyer was the taker
    assert trade == Trade("NKN-USDT", "binance", 1633998523963 * 1_000_000, 35280000, 5800000000, Side.BUY, "15683430")
