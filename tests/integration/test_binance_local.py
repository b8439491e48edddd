"""Binance adapter + supervisor against a local Binance double, with faults injected mid-stream.

After every fault the engine's book must equal the exchange's true book and the feed must still be running.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from desk.book.l2 import BookState
from desk.domain.events import BookDelta, FeedState, FeedStatus, Trade
from desk.engine import Engine
from desk.feeds.supervisor import SupervisedFeed, SupervisorConfig, run_until
from desk.feeds.venues.binance import BinanceAdapter
from tests.integration.servers import SYMBOL, Exchange, HttpServer, reference_binance

FAULT_AT = 80
SEEN_ONLY_WHEN_SYNCED = ("gap", "crossed")
"""Faults a client can only notice with a book: before its snapshot, the snapshot itself covers them."""
CONFIG = SupervisorConfig(
    backoff_initial_s=0.02,
    backoff_max_s=0.1,
    backoff_seed=1,
    stale_after_s=0.4,
    status_interval_s=0.1,
    close_timeout_s=0.2,
    ping_interval_s=None,
    use_env_proxy=False,
)


class FakeBinance:
    def __init__(self, scenario: str, *, ping_interval: float | None = None, pace_s: float = 0.001) -> None:
        self.scenario = scenario
        self.ex = Exchange()
        self.http = HttpServer()
        self.http.routes["/api/v3/depth"] = self.depth
        self.http.routes["/api/v3/exchangeInfo"] = self.info
        self.connections = 0
        self.paths: list[str] = []
        self.fault_done = False
        self.throttled = False
        self.snapshot_served = asyncio.Event()  # on the current connection
        self.snapshot_seqs: list[int] = []  # the book sequence of every snapshot served
        self.fault_seq = 0  # the first sequence the fault touched
        self.ping_interval = ping_interval
        self.pace_s = pace_s
        self.ws_url = ""

    async def __aenter__(self) -> FakeBinance:
        await self.http.start()
        self._ws = await serve(
            self.handler, "127.0.0.1", 0, ping_interval=self.ping_interval, ping_timeout=self.ping_interval
        ).__aenter__()
        port = next(iter(self._ws.sockets)).getsockname()[1]
        self.ws_url = f"ws://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._ws.close()
        await self.http.close()

    async def info(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        return 200, {}, reference_binance()

    async def depth(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        assert query == {"symbol": "BTCUSDT", "limit": "1000"}
        if self.scenario == "http429" and not self.throttled:
            self.throttled = True
            return 429, {"Retry-After": "0.1"}, {"code": -1003, "msg": "Too many requests"}
        if self.scenario == "slow_snapshot":
            await asyncio.sleep(0.3)
        book = self.ex.book
        self.snapshot_seqs.append(book.seq)
        self.snapshot_served.set()
        return (
            200,
            {},
            {
                "lastUpdateId": book.seq,
                "bids": self.ex.levels(tuple(book.sorted_bids())),
                "asks": self.ex.levels(tuple(book.sorted_asks())),
            },
        )

    def _depth_msg(self, group: list[BookDelta]) -> str:
        bids: dict[int, int] = {}
        asks: dict[int, int] = {}
        for d in group:
            bids.update(d.bids)
            asks.update(d.asks)
        data = {
            "e": "depthUpdate", "E": group[-1].ts_ns // 1_000_000, "s": "BTCUSDT",
            "U": group[0].first_seq, "u": group[-1].seq,
            "b": self.ex.levels(tuple(bids.items())), "a": self.ex.levels(tuple(asks.items())),
        }  # fmt: skip
        return json.dumps({"stream": "btcusdt@depth@100ms", "data": data})

    def _trade_msg(self, t: Trade) -> str:
        ms = t.ts_ns // 1_000_000
        data = {
            "e": "trade", "E": ms, "s": "BTCUSDT", "t": int(t.trade_id), "p": self.ex.px(t.price),
            "q": self.ex.qty(t.size), "T": ms, "m": t.aggressor.value == "sell", "M": True,
        }  # fmt: skip
        return json.dumps({"stream": "btcusdt@trade", "data": data})

    async def _fault(self, ws: ServerConnection, group: list[BookDelta]) -> str:
        """Returns 'skip' to drop the pending update, 'end' to end this connection, '' to go on."""
        s = self.scenario
        self.fault_done = True
        self.fault_seq = group[0].first_seq
        if s == "drop":
            ws.transport.abort()
            return "end"
        if s == "gap":
            return "skip"
        if s == "malformed":
            await ws.send('{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate",')
            await ws.send(json.dumps({"stream": "btcusdt@depth@100ms", "data": {"e": "depthUpdate", "s": "BTCUSDT"}}))
        if s == "shutdown":
            await ws.send(json.dumps({"e": "serverShutdown", "E": 1}))
        if s == "silent":
            await asyncio.sleep(30)
            return "end"
        if s == "crossed":
            seq = group[0].first_seq
            best_ask = self.ex.book.best_ask or 0
            bad = {"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": seq, "u": seq,
                   "b": [[self.ex.px(best_ask + 5), "1.00000"]], "a": []}  # fmt: skip
            await ws.send(json.dumps({"stream": "btcusdt@depth@100ms", "data": bad}))
        return ""

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        self.snapshot_served.clear()
        self.paths.append(ws.request.path if ws.request else "")
        group: list[BookDelta] = []
        sent = 0
        while not self.ex.done:
            if self.ex.pos >= FAULT_AT and not self.fault_done and self.scenario != "none":
                if self.scenario in SEEN_ONLY_WHEN_SYNCED and not self.snapshot_served.is_set():
                    if not group:
                        # Event-driven, not timed: hold the stream, with no change pending, until the client has
                        # its snapshot (asked for on its first diff), so the fault is newer than that snapshot
                        # however late a loaded machine lets the request through.
                        await self.snapshot_served.wait()
                elif group:
                    action = await self._fault(ws, group)
                    if action == "end":
                        return
                    if action == "skip":
                        group = []  # a lost message: these changes happened at the venue, the client never hears
            event = self.ex.step()
            if isinstance(event, BookDelta):
                group.append(event)
                if len(group) < 3:
                    continue
                await ws.send(self._depth_msg(group))
                group = []
            else:
                if group:
                    await ws.send(self._depth_msg(group))
                    group = []
                await ws.send(self._trade_msg(event))
            sent += 1
            if sent % 10 == 0:
                await asyncio.sleep(self.pace_s)
        if group:
            await ws.send(self._depth_msg(group))
        await ws.wait_closed()


def _feed(fake: FakeBinance) -> SupervisedFeed:
    instruments = BinanceAdapter.parse_reference([SYMBOL], [reference_binance()])
    adapter = BinanceAdapter(instruments, ws_url=fake.ws_url, rest_url=fake.http.url, snapshot_retry_s=0.02)
    return SupervisedFeed(adapter, CONFIG)


async def _run(fake: FakeBinance, timeout_s: float = 8.0) -> tuple[SupervisedFeed, Engine, list[Any]]:
    feed = _feed(fake)
    engine = Engine(feed.instruments, "binance")
    seen: list[Any] = []

    def sink(batch: Any) -> None:
        seen.extend(batch)
        engine.on_events(batch)

    def converged() -> bool:
        book = engine.books[SYMBOL]
        return fake.ex.done and book.state is BookState.LIVE and book.seq == fake.ex.book.seq

    assert await run_until(feed, sink, converged, timeout_s), f"no convergence; health {feed.health.statuses()}"
    return feed, engine, seen


def _assert_book_is_truth(engine: Engine, fake: FakeBinance) -> None:
    book = engine.books[SYMBOL]
    assert not book.is_crossed
    assert book.bids == fake.ex.book.bids
    assert book.asks == fake.ex.book.asks


async def test_clean_stream_matches_truth() -> None:
    async with FakeBinance("none") as fake:
        feed, engine, seen = await _run(fake)
    _assert_book_is_truth(engine, fake)
    assert fake.connections == 1
    assert fake.paths[0] == "/stream?streams=btcusdt@depth@100ms/btcusdt@trade"
    assert len(engine.tapes[SYMBOL]) > 0
    status = feed.health.status(SYMBOL)
    assert (status.gaps, status.resyncs, status.malformed) == (0, 0, 0)
    assert any(isinstance(e, FeedStatus) and e.state is FeedState.LIVE for e in seen)


@pytest.mark.parametrize(
    ("scenario", "connections", "gaps", "resyncs", "malformed"),
    [
        ("drop", 2, 0, 0, 0),
        ("gap", 1, 1, 1, 0),
        ("malformed", 1, 0, 0, 2),
        ("shutdown", 2, 0, 0, 0),
        ("silent", 2, 0, 0, 0),
        ("crossed", 1, 0, 1, 0),
        ("slow_snapshot", 1, 0, 0, 0),
        ("http429", 1, 0, 0, 0),
    ],
)
async def test_fault_then_book_equals_truth(
    scenario: str, connections: int, gaps: int, resyncs: int, malformed: int
) -> None:
    async with FakeBinance(scenario) as fake:
        feed, engine, seen = await _run(fake)
    _assert_book_is_truth(engine, fake)
    assert fake.connections == connections
    status = feed.health.status(SYMBOL)
    assert (status.gaps, status.resyncs, status.malformed) == (gaps, resyncs, malformed)
    states = [e.state for e in seen if isinstance(e, FeedStatus)]
    if connections > 1:
        assert FeedState.DOWN in states and len(feed.delays) == 1
    if scenario == "silent":
        assert FeedState.STALE in states
    if resyncs:
        assert FeedState.RESYNCING in states
    if scenario in SEEN_ONLY_WHEN_SYNCED:  # the fault was newer than the first snapshot; a second one followed it
        assert len(fake.snapshot_seqs) == 2 and fake.snapshot_seqs[0] < fake.fault_seq <= fake.snapshot_seqs[1]
    if scenario == "http429":
        assert feed.rest.throttled == 1
        depth_calls = [p for p, _ in fake.http.requests if p == "/api/v3/depth"]
        assert len(depth_calls) == 2


async def test_client_answers_server_pings() -> None:
    """Binance pings and drops clients that do not pong; websockets must answer by itself."""
    async with FakeBinance("none", ping_interval=0.05, pace_s=0.02) as fake:
        _, engine, _ = await _run(fake)
    assert fake.connections == 1  # a missing pong would have closed the connection within 0.1 s
    _assert_book_is_truth(engine, fake)
