"""Kraken v2 adapter against a local double: depth-10 book with checksums on every message, JSON numbers in
their shortest form (so the client must render at the pair's precision), faults injected."""

from __future__ import annotations

import asyncio
import heapq
import json
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from desk.domain.events import BookDelta, FeedState, FeedStatus, Trade
from desk.engine import Engine
from desk.feeds.checksum import kraken_checksum
from desk.feeds.supervisor import SupervisedFeed, run_until
from desk.feeds.venues.kraken import KrakenAdapter
from tests.integration.servers import SYMBOL, Exchange, HttpServer, jnum, reference_kraken
from tests.integration.test_binance_local import CONFIG
from tests.integration.test_coinbase_local import iso_ns

FAULT_AT = 80
DEPTH = 10


class FakeKraken:
    def __init__(self, scenario: str) -> None:
        self.scenario = scenario
        self.ex = Exchange()
        self.http = HttpServer()
        self.http.routes["/0/public/AssetPairs"] = self.pairs
        self.connections = 0
        self.received: list[dict[str, Any]] = []
        self.fault_done = False
        self.ws_url = ""

    async def pairs(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        return 200, {}, reference_kraken()

    async def __aenter__(self) -> FakeKraken:
        await self.http.start()
        self._ws = await serve(self.handler, "127.0.0.1", 0).__aenter__()
        port = next(iter(self._ws.sockets)).getsockname()[1]
        self.ws_url = f"ws://127.0.0.1:{port}/v2"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._ws.close()
        await self.http.close()

    def view(self, depth: int) -> tuple[dict[int, int], dict[int, int]]:
        b, a = self.ex.book.bids, self.ex.book.asks
        return {p: b[p] for p in heapq.nlargest(depth, b)}, {p: a[p] for p in heapq.nsmallest(depth, a)}

    def checksum(self) -> int:
        bids, asks = self.view(10)
        px, qty = self.ex.px, self.ex.qty
        return kraken_checksum(
            [(px(p), qty(asks[p])) for p in sorted(asks)], [(px(p), qty(bids[p])) for p in sorted(bids, reverse=True)]
        )

    def lv(self, levels: dict[int, int]) -> list[dict[str, Any]]:
        return [{"price": jnum(self.ex.px(p)), "qty": jnum(self.ex.qty(s))} for p, s in levels.items()]

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        state: dict[str, Any] = {"book": False, "snapshot_due": False, "depth": 10}

        async def listen() -> None:
            async for raw in ws:
                msg = json.loads(raw)
                self.received.append(msg)
                params = msg["params"]
                if params["channel"] == "book":
                    state["book"] = False
                    state["snapshot_due"] = msg["method"] == "subscribe"
                    state["depth"] = params.get("depth", 10)
                await ws.send(json.dumps({"method": msg["method"], "success": True, "result": params}))

        listener = asyncio.create_task(listen())
        await ws.send(json.dumps({"channel": "status", "type": "update", "data": [{"system": "online"}]}))
        try:
            sent = 0
            while True:
                depth = state["depth"]
                if state["snapshot_due"]:
                    bids, asks = self.view(depth)
                    data = {"symbol": "BTC/USD", "bids": self.lv(bids), "asks": self.lv(asks),
                            "checksum": self.checksum()}  # fmt: skip
                    await ws.send(json.dumps({"channel": "book", "type": "snapshot", "data": [data]}))
                    state["snapshot_due"], state["book"] = False, True
                if self.ex.done or not state["book"]:
                    await ws.send(json.dumps({"channel": "heartbeat"}))
                    await asyncio.sleep(0.02)
                    continue
                bad_checksum = False
                if self.ex.pos >= FAULT_AT and not self.fault_done and self.scenario != "none":
                    self.fault_done = True
                    if self.scenario == "drop":
                        ws.transport.abort()
                        return
                    if self.scenario == "malformed":
                        await ws.send('{"channel":"book","type":"update","data":[{"symbol":"BTC/USD",')
                        await ws.send(json.dumps({"channel": "book", "type": "update", "data": [{"bids": []}]}))
                    bad_checksum = self.scenario == "bad_checksum"
                old_bids, old_asks = self.view(depth)
                event = self.ex.step()
                if isinstance(event, Trade):
                    t = {"symbol": "BTC/USD", "side": event.aggressor.value, "price": jnum(self.ex.px(event.price)),
                         "qty": jnum(self.ex.qty(event.size)), "ord_type": "market", "trade_id": int(event.trade_id),
                         "timestamp": iso_ns(event.ts_ns)}  # fmt: skip
                    await ws.send(json.dumps({"channel": "trade", "type": "update", "data": [t]}))
                    continue
                assert isinstance(event, BookDelta)
                new_bids, new_asks = self.view(depth)
                changes = []
                for old, new, full in (
                    (old_bids, new_bids, self.ex.book.bids),
                    (old_asks, new_asks, self.ex.book.asks),
                ):
                    side = {p: s for p, s in new.items() if old.get(p) != s}
                    side.update({p: 0 for p in old if p not in new and p not in full})  # deleted, not pushed out
                    changes.append(side)
                if not changes[0] and not changes[1]:
                    continue
                checksum = self.checksum() ^ (1 if bad_checksum else 0)
                data = {"symbol": "BTC/USD", "bids": self.lv(changes[0]), "asks": self.lv(changes[1]),
                        "checksum": checksum, "timestamp": iso_ns(event.ts_ns)}  # fmt: skip
                await ws.send(json.dumps({"channel": "book", "type": "update", "data": [data]}))
                sent += 1
                if sent % 10 == 0:
                    await asyncio.sleep(0.001)
        finally:
            listener.cancel()


async def _run(fake: FakeKraken) -> tuple[SupervisedFeed, Engine, list[Any], KrakenAdapter]:
    instruments = KrakenAdapter.parse_reference([SYMBOL], [reference_kraken()])
    adapter = KrakenAdapter(instruments, ws_url=fake.ws_url, rest_url=fake.http.url, depth=DEPTH)
    feed = SupervisedFeed(adapter, CONFIG)
    engine = Engine(feed.instruments, "kraken")
    seen: list[Any] = []

    def sink(batch: Any) -> None:
        seen.extend(batch)
        engine.on_events(batch)

    def converged() -> bool:
        bids, asks = fake.view(DEPTH)
        book = engine.books[SYMBOL]
        return fake.ex.done and book.bids == bids and book.asks == asks

    assert await run_until(feed, sink, converged, 8.0), f"no convergence; {feed.health.statuses()}"
    return feed, engine, seen, adapter


@pytest.mark.parametrize(
    ("scenario", "connections", "checksum_failures", "malformed"),
    [("none", 1, 0, 0), ("bad_checksum", 1, 1, 0), ("drop", 2, 0, 0), ("malformed", 1, 0, 2)],
)
async def test_kraken_fault_then_book_equals_truth(
    scenario: str, connections: int, checksum_failures: int, malformed: int
) -> None:
    async with FakeKraken(scenario) as fake:
        feed, engine, seen, adapter = await _run(fake)
    assert fake.connections == connections
    status = feed.health.status(SYMBOL)
    assert (status.checksum_failures, status.resyncs, status.malformed) == (
        checksum_failures,
        checksum_failures,
        malformed,
    )
    assert adapter.checksums_verified > 50  # every book message was checked
    subscribe = fake.received[0]
    assert subscribe == {
        "method": "subscribe",
        "params": {"channel": "book", "symbol": ["BTC/USD"], "depth": 10, "snapshot": True},
    }
    if scenario == "bad_checksum":
        methods = [(m["method"], m["params"]["channel"]) for m in fake.received[2:4]]
        assert methods == [("unsubscribe", "book"), ("subscribe", "book")]
        assert FeedState.RESYNCING in [e.state for e in seen if isinstance(e, FeedStatus)]
    assert len(engine.books[SYMBOL].bids) <= DEPTH  # truncation reached the engine's copy too
    assert any(isinstance(e, Trade) for e in seen)
