"""Coinbase Advanced Trade adapter against a local double: level2 + market_trades + heartbeats, faults injected."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from desk.domain.events import BookDelta, FeedState, FeedStatus, Side, Trade
from desk.engine import Engine
from desk.feeds.supervisor import SupervisedFeed, run_until
from desk.feeds.venues.coinbase import CoinbaseAdapter
from desk.feeds.venues.numbers import parse_rfc3339_ns
from tests.integration.servers import SYMBOL, Exchange, HttpServer, reference_coinbase
from tests.integration.test_binance_local import CONFIG

FAULT_AT = 80


def iso_ns(ts_ns: int) -> str:
    seconds, frac = divmod(ts_ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


class FakeCoinbase:
    def __init__(self, scenario: str, seed: int = 11) -> None:
        self.scenario = scenario
        self.ex = Exchange(seed=seed)
        self.http = HttpServer()
        self.http.routes["/api/v3/brokerage/market/products/BTC-USD"] = self.product
        self.connections = 0
        self.received: list[dict[str, Any]] = []
        self.fault_done = False
        self.refuse = False
        self.ws_url = ""

    async def product(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        return 200, {}, reference_coinbase()

    async def __aenter__(self) -> FakeCoinbase:
        await self.http.start()
        self._ws = await serve(self.handler, "127.0.0.1", 0, process_request=self._gate).__aenter__()
        port = next(iter(self._ws.sockets)).getsockname()[1]
        self.ws_url = f"ws://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._ws.close()
        await self.http.close()

    def _gate(self, connection: ServerConnection, request: Any) -> Any:
        if self.refuse:
            return connection.respond(503, "down for maintenance\n")
        return None

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        state = {"seq": 0, "l2": False, "snapshot_due": False, "trades": False}

        async def send(channel: str, events: list[dict[str, Any]], ts_ns: int) -> None:
            env = {"channel": channel, "client_id": "", "timestamp": iso_ns(ts_ns), "sequence_num": state["seq"]}
            env["events"] = events
            state["seq"] += 1
            await ws.send(json.dumps(env))

        async def listen() -> None:
            async for raw in ws:
                msg = json.loads(raw)
                self.received.append(msg)
                if msg["channel"] == "level2":
                    state["l2"] = False
                    state["snapshot_due"] = msg["type"] == "subscribe"
                elif msg["channel"] == "market_trades":
                    state["trades"] = msg["type"] == "subscribe"

        listener = asyncio.create_task(listen())
        try:
            sent = 0
            while True:
                if self.refuse:
                    await ws.close()
                    return
                now = self.ex.stream[min(self.ex.pos, len(self.ex.stream) - 1)].ts_ns
                if state["snapshot_due"]:
                    book = self.ex.book
                    updates = [self._upd("bid", p, s, now) for p, s in book.sorted_bids()]
                    updates += [self._upd("offer", p, s, now) for p, s in book.sorted_asks()]
                    await send("l2_data", [{"type": "snapshot", "product_id": "BTC-USD", "updates": updates}], now)
                    state["snapshot_due"], state["l2"] = False, True
                if self.ex.done or not state["l2"]:
                    await send("heartbeats", [{"current_time": iso_ns(now), "heartbeat_counter": str(sent)}], now)
                    await asyncio.sleep(0.02)
                    continue
                if self.ex.pos >= FAULT_AT and not self.fault_done and self.scenario != "none":
                    self.fault_done = True
                    if self.scenario == "gap":
                        self.ex.step()
                        state["seq"] += 1  # the message carrying it was lost
                        continue
                    if self.scenario == "drop":
                        ws.transport.abort()
                        return
                    if self.scenario == "malformed":
                        await ws.send('{"channel":"l2_data","events":[{"type":"update","product_id":"BTC-USD"')
                        await ws.send(json.dumps({"channel": "l2_data", "events": [{"type": "update"}]}))
                event = self.ex.step()
                if isinstance(event, BookDelta):
                    updates = [self._upd("bid", p, s, event.ts_ns) for p, s in event.bids]
                    updates += [self._upd("offer", p, s, event.ts_ns) for p, s in event.asks]
                    await send(
                        "l2_data", [{"type": "update", "product_id": "BTC-USD", "updates": updates}], event.ts_ns
                    )
                elif state["trades"]:
                    maker = "SELL" if event.aggressor is Side.BUY else "BUY"
                    trade = {"trade_id": event.trade_id, "product_id": "BTC-USD", "price": self.ex.px(event.price),
                             "size": self.ex.qty(event.size), "side": maker, "time": iso_ns(event.ts_ns)}  # fmt: skip
                    await send("market_trades", [{"type": "update", "trades": [trade]}], event.ts_ns)
                sent += 1
                if sent % 10 == 0:
                    await asyncio.sleep(0.001)
        finally:
            listener.cancel()

    def _upd(self, side: str, p: int, s: int, ts_ns: int) -> dict[str, str]:
        return {"side": side, "event_time": iso_ns(ts_ns), "price_level": self.ex.px(p), "new_quantity": self.ex.qty(s)}


def coinbase_feed(fake: FakeCoinbase) -> SupervisedFeed:
    instruments = CoinbaseAdapter.parse_reference([SYMBOL], [reference_coinbase()])
    return SupervisedFeed(CoinbaseAdapter(instruments, ws_url=fake.ws_url, rest_url=fake.http.url), CONFIG)


async def _run(fake: FakeCoinbase) -> tuple[SupervisedFeed, Engine, list[Any]]:
    feed = coinbase_feed(fake)
    engine = Engine(feed.instruments, "coinbase")
    seen: list[Any] = []

    def sink(batch: Any) -> None:
        seen.extend(batch)
        engine.on_events(batch)

    def converged() -> bool:
        book = engine.books[SYMBOL]
        return fake.ex.done and book.bids == fake.ex.book.bids and book.asks == fake.ex.book.asks

    assert await run_until(feed, sink, converged, 8.0), f"no convergence; {feed.health.statuses()}"
    return feed, engine, seen


@pytest.mark.parametrize(
    ("scenario", "connections", "gaps", "malformed"),
    [("none", 1, 0, 0), ("gap", 1, 1, 0), ("drop", 2, 0, 0), ("malformed", 1, 0, 2)],
)
async def test_coinbase_fault_then_book_equals_truth(
    scenario: str, connections: int, gaps: int, malformed: int
) -> None:
    async with FakeCoinbase(scenario) as fake:
        feed, engine, seen = await _run(fake)
    assert fake.connections == connections
    status = feed.health.status(SYMBOL)
    assert (status.gaps, status.resyncs, status.malformed) == (gaps, gaps, malformed)
    channels = [(m["type"], m["channel"]) for m in fake.received[:3]]
    assert channels == [("subscribe", "heartbeats"), ("subscribe", "level2"), ("subscribe", "market_trades")]
    if scenario == "gap":  # resubscribed for a fresh snapshot, on the same connection
        assert [(m["type"], m["channel"]) for m in fake.received[3:5]] == [
            ("unsubscribe", "level2"),
            ("subscribe", "level2"),
        ]
        assert FeedState.RESYNCING in [e.state for e in seen if isinstance(e, FeedStatus)]
    trades = [e for e in seen if isinstance(e, Trade)]
    truth_trades = [e for e in fake.ex.stream if isinstance(e, Trade)]
    assert trades and trades[0].aggressor == truth_trades[0].aggressor  # maker side on the wire, taker in desk
    assert not engine.books[SYMBOL].is_crossed


def test_rfc3339_nanoseconds() -> None:
    assert parse_rfc3339_ns("1970-01-01T00:00:01.000000001Z") == 1_000_000_001
    assert parse_rfc3339_ns("2023-02-09T20:32:50.714964855Z") == 1675974770_714964855
    assert parse_rfc3339_ns("2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105") == 1687552316_121961769
    assert parse_rfc3339_ns("2023-02-09T21:32:50.5+01:00") == 1675974770_500000000
