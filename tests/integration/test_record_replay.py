"""Record and replay: exact round trips, rotation, pacing, and recordings of a local Binance double and of sim.

References are independent of the recorder: the events the sink saw live, a fresh deterministic simulated
market, the exchange double's true book, and the Binance adapter re-run on the recorded raw frames.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from desk.book.l2 import BookState, OrderBook
from desk.domain.events import Bar, BookDelta, BookSnapshot, Event, FeedState, FeedStatus, Side, Trade
from desk.domain.instruments import Instrument
from desk.engine import Engine
from desk.errors import UserError
from desk.feeds import replay as replay_module
from desk.feeds.record import Recorder, tap_supervised
from desk.feeds.replay import ReplayFeed, open_recording, read_batches, read_events
from desk.feeds.sim import DEFAULT_SYMBOLS, SimulatedMarket
from desk.feeds.supervisor import SupervisedFeed, run_until
from desk.feeds.venues.binance import BinanceAdapter
from tests.integration.fakes import RerunLink
from tests.integration.servers import INSTRUMENT, SYMBOL, reference_binance
from tests.integration.test_binance_local import CONFIG, FakeBinance
from tests.integration.test_cli_venues import run_cli

ODD = Instrument("ODD-USD", Decimal("0.25"), Decimal("0.001"), Decimal("5"), venue_symbol="ODDUSD")
BIG = 9_000_000_000_000_000_000  # near the top of int64: must survive as an int


def _every_kind() -> list[list[Event]]:
    return [
        [FeedStatus("v", SYMBOL, FeedState.CONNECTING, 1)],
        [
            BookSnapshot(SYMBOL, "v", 10, 2, ((100, 5), (99, BIG)), ((101, 1),)),
            BookSnapshot("ODD-USD", "v", 0, 2, (), ()),  # an empty book stays empty, not null
        ],
        [
            BookDelta(SYMBOL, "v", 11, 13, 3, ((100, 0),), ()),
            Trade(SYMBOL, "v", 4, 101, 1, Side.BUY, "t-1"),
            Trade("ODD-USD", "v", 4, 7, 3, Side.SELL, ""),
            BookDelta("ODD-USD", "v", 0, 0, 5, (), ((8, 2), (9, 0))),
        ],
        [
            FeedStatus("v", SYMBOL, FeedState.RESYNCING, 6, "sequence gap: U=12", 12.5, 0.1, 3.25, 1, 2, 3, 4),
            Bar(SYMBOL, 60, 7, 100, 102, 99, 101, 17, 3),
        ],
    ]


def test_every_event_kind_round_trips_exactly_with_its_batches(tmp_path: Path) -> None:
    clock = iter(range(1_000, 10_000, 7))
    rec = Recorder(tmp_path / "r", "v", {SYMBOL: INSTRUMENT, "ODD-USD": ODD}, clock=lambda: next(clock))
    batches = _every_kind()
    for batch in batches:
        rec.sink(batch)
    rec.close()
    recording = open_recording(tmp_path / "r")
    assert recording.venue == "v"
    assert recording.instruments == {SYMBOL: INSTRUMENT, "ODD-USD": ODD}
    assert recording.instruments["ODD-USD"].venue_symbol == "ODDUSD"
    got = [batch for _, batch in read_batches(recording)]
    assert got == batches
    for want_batch, got_batch in zip(batches, got, strict=True):
        for want, event in zip(want_batch, got_batch, strict=True):
            assert type(event) is type(want)
            for name in want.__slots__:
                value = getattr(event, name)
                assert type(value) is type(getattr(want, name)), name  # ints stay ints, tuples stay tuples
    assert [recv for recv, _ in read_batches(recording)] == [1_007, 1_014, 1_021, 1_028]
    assert read_events(recording, ["ODD-USD"]) == [e for b in batches for e in b if e.symbol == "ODD-USD"]


def test_rotation_by_size_and_by_time_splits_parts_without_losing_or_reordering(tmp_path: Path) -> None:
    market = SimulatedMarket([DEFAULT_SYMBOLS[0]], seed=3, rate=500.0)
    batches: list[list[Event]] = [list(market.snapshots())] + [market.next_events(25) for _ in range(40)]
    rec = Recorder(tmp_path / "size", "sim", market.instruments, rotate_bytes=20_000)
    for batch in batches:
        rec.sink(batch)
    rec.close()
    size_parts = sorted((tmp_path / "size").glob("events-*.parquet"))
    assert len(size_parts) >= 3 and rec.files == size_parts
    assert [b for _, b in read_batches(open_recording(tmp_path / "size"))] == batches
    # One part on its own is readable (its metadata carries the grid) and holds a prefix of the batches.
    first = [b for _, b in read_batches(open_recording(size_parts[0]))]
    assert first == batches[: len(first)]

    now = [0]
    rec = Recorder(tmp_path / "time", "sim", market.instruments, rotate_s=1.0, clock=lambda: now[0])
    for i, batch in enumerate(batches):
        now[0] = i * 300_000_000  # a batch every 0.3 s: a new part every 4 batches
        rec.sink(batch)
    rec.close()
    assert len(rec.files) == 10
    assert [b for _, b in read_batches(open_recording(tmp_path / "time"))] == batches


async def test_replay_paces_by_recorded_receive_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    times = iter([0, 0, 2_000_000_000, 4_000_000_000, 5_000_000_000])  # start, three batches, close
    rec = Recorder(tmp_path / "r", "v", {SYMBOL: INSTRUMENT}, clock=lambda: next(times))
    for ts in (1, 2, 3):
        rec.sink([Trade(SYMBOL, "v", ts, 100, 1, Side.BUY, str(ts))])
    rec.close()
    wall = [50.0]
    slept: list[float] = []

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)
        wall[0] += delay

    monkeypatch.setattr(replay_module.asyncio, "sleep", fake_sleep)
    feed = ReplayFeed(tmp_path / "r", speed=4.0, clock=lambda: wall[0])
    seen: list[Event] = []
    await feed.run(seen.extend)
    assert slept == [pytest.approx(0.5), pytest.approx(0.5)]  # recorded at +0, +2 s, +4 s; at 4x: +0, +0.5, +1
    assert [e.ts_ns for e in seen] == [1, 2, 3] and feed.finished


async def test_record_local_binance_then_replay_and_reparse_raw_frames(tmp_path: Path) -> None:
    async with FakeBinance("gap") as fake:
        instruments = BinanceAdapter.parse_reference([SYMBOL], [reference_binance()])
        adapter = BinanceAdapter(instruments, ws_url=fake.ws_url, rest_url=fake.http.url, snapshot_retry_s=0.02)
        feed = SupervisedFeed(adapter, CONFIG)
        rec = Recorder(tmp_path / "rec", feed.venue, feed.instruments)
        tap_supervised(feed, rec)
        live: list[Event] = []
        engine = Engine(feed.instruments, "binance")

        def sink(batch: Any) -> None:
            live.extend(batch)
            rec.sink(batch)
            engine.on_events(batch)

        def converged() -> bool:
            book = engine.books[SYMBOL]
            return fake.ex.done and book.state is BookState.LIVE and book.seq == fake.ex.book.seq

        assert await run_until(feed, sink, converged, 8.0)
        rec.close()
    recording = open_recording(tmp_path / "rec")
    assert read_events(recording) == live

    # Replayed into a fresh engine, the recording ends on the venue's true book (the gap and resync included).
    replayed = Engine(recording.instruments, recording.venue)
    cut = max(i for i, e in enumerate(live) if isinstance(e, BookDelta)) + 1  # before the final "down/stopped"
    replay_feed = ReplayFeed(recording, speed=0)
    seen: list[Event] = []
    await replay_feed.run(seen.extend)
    replayed.on_events(seen[:cut])
    book = replayed.books[SYMBOL]
    assert (book.bids, book.asks, book.seq) == (fake.ex.book.bids, fake.ex.book.asks, fake.ex.book.seq)

    # The raw frames alone reproduce the normalised book events: re-run a fresh adapter over them in the order the
    # live client handled them (the recorder's row order). A REST body is handed over where it was received, to
    # whichever snapshot request is waiting for it; requests made meanwhile wait, as the live ones did.
    import polars as pl

    frames = pl.concat([pl.read_parquet(f) for f in recording.frame_files])
    assert set(frames["source"]) == {"ws", "rest"}
    assert all(url.startswith(fake.http.url + "/api/v3/depth?") for url in frames.filter(source="rest")["url"])
    again = BinanceAdapter(BinanceAdapter.parse_reference([SYMBOL], [reference_binance()]), snapshot_retry_s=0.02)
    link = RerunLink("binance", [SYMBOL])
    for source, payload in zip(frames["source"], frames["payload"], strict=True):
        if source == "rest":
            link.rest.deliver("/api/v3/depth", json.loads(payload))
        else:
            again.on_message(payload.decode(), 0, link)
        await link.settle()
    assert link.rest.waiting == 0 and not link.tasks  # no request left unanswered, as live at convergence
    assert [kind for _, _, kind in link.resyncs] == ["gap"]
    book_events = [e for e in live if isinstance(e, BookDelta | BookSnapshot)]
    reparsed = [e for e in link.events if isinstance(e, BookDelta | BookSnapshot)]
    assert len(reparsed) == len(book_events) and sum(isinstance(e, BookSnapshot) for e in reparsed) == 2
    for want, got in zip(book_events, reparsed, strict=True):
        if isinstance(want, BookSnapshot):  # a snapshot is stamped with the local clock when installed
            assert (got.seq, got.bids, got.asks) == (want.seq, want.bids, want.asks)
        else:
            assert got == want


def _sim_reference(symbols: list[str], seed: int, count: int) -> list[Event]:
    """The first ``count`` book/trade events of a fresh simulated market: what `desk record --venue sim` saw."""
    specs = [s for s in DEFAULT_SYMBOLS if s.instrument.symbol in symbols]
    market = SimulatedMarket(specs, seed=seed, rate=400.0)
    out: list[Event] = list(market.snapshots())
    while len(out) < count:
        out.extend(market.next_events(1))
    return out[:count]


async def test_cli_record_sim_then_replay_is_deterministic_and_matches_the_market(tmp_path: Path) -> None:
    out = tmp_path / "sim-rec"
    args = ["record", "--venue", "sim", "--symbols", "BTC-USD,ETH-USD", "--seed", "5", "--out", str(out)]
    code, stdout, err = await run_cli([*args, "--duration", "1.2", "--rotate-s", "0.4", "--json"], tmp_path)
    assert code == 0, err
    doc = json.loads(stdout)
    assert (doc["venue"], doc["symbols"], doc["frames"]) == ("sim", ["BTC-USD", "ETH-USD"], 0)
    assert len(doc["files"]) >= 2 and all(Path(f).is_file() for f in doc["files"])

    events = read_events(open_recording(out))
    assert len(events) == doc["events"]
    market_events = [e for e in events if not isinstance(e, FeedStatus)]
    assert len(market_events) > 50
    assert market_events == _sim_reference(["BTC-USD", "ETH-USD"], 5, len(market_events))

    code1, first, err1 = await run_cli(["replay", str(out), "--speed", "0", "--json"], tmp_path)
    code2, second, _ = await run_cli(["replay", str(out), "--speed", "0", "--json"], tmp_path)
    assert code1 == code2 == 0, err1
    assert first == second
    rows = [json.loads(line) for line in first.splitlines()]
    assert len(rows) == len(events)
    btc = next(row for row in rows if row["type"] == "snapshot" and row["symbol"] == "BTC-USD")
    want = next(e for e in events if isinstance(e, BookSnapshot) and e.symbol == "BTC-USD")
    assert btc["bids"][0] == [INSTRUMENT.price_str(want.bids[0][0]), INSTRUMENT.size_str(want.bids[0][1])]

    code, text, err = await run_cli(["replay", str(out), "--speed", "0", "--symbols", "ETH-USD"], tmp_path)
    assert code == 0, err
    assert text.splitlines() and all(" ETH-USD " in line for line in text.splitlines())


async def test_cli_record_from_local_binance_keeps_frames_and_rebuilds_the_book(tmp_path: Path) -> None:
    out = tmp_path / "bin-rec"
    async with FakeBinance("none", pace_s=0.02) as fake:
        args = ["record", "--venue", "binance", "--symbols", SYMBOL, "--out", str(out), "--duration", "2.5"]
        code, stdout, err = await run_cli([*args, "--ws-url", fake.ws_url, "--rest-url", fake.http.url], tmp_path)
    assert code == 0, err
    assert stdout.startswith("recorded ") and "raw frames from binance (BTC-USD)" in stdout
    recording = open_recording(out)
    assert recording.frame_files and recording.instruments[SYMBOL].venue_symbol == "BTCUSDT"
    book = OrderBook(recording.instruments[SYMBOL], "binance")
    for event in read_events(recording):
        if isinstance(event, BookSnapshot):
            book.apply_snapshot(event)
        elif isinstance(event, BookDelta):
            book.apply_delta(event)
    assert (book.bids, book.asks, book.seq) == (fake.ex.book.bids, fake.ex.book.asks, fake.ex.book.seq)


async def test_record_and_replay_errors(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "r", "v", {SYMBOL: INSTRUMENT})
    rec.sink([Trade(SYMBOL, "v", 1, 100, 1, Side.BUY, "1")])
    rec.close()
    with pytest.raises(UserError, match="already holds a recording"):
        Recorder(tmp_path / "r", "v", {SYMBOL: INSTRUMENT})
    with pytest.raises(UserError, match="does not exist"):
        open_recording(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no events-"):
        open_recording(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "events-00000.parquet").write_text("nope")
    with pytest.raises(UserError, match="not a readable parquet file"):
        open_recording(tmp_path / "bad")
    with pytest.raises(UserError, match="'ETH-USD' is not in the recording"):
        ReplayFeed(tmp_path / "r", symbols=["ETH-USD"])
    with pytest.raises(UserError, match="speed -1"):
        ReplayFeed(tmp_path / "r", speed=-1)
    # Through the CLI: one line on stderr, exit 2, nothing on stdout.
    cases = [
        (["replay", str(tmp_path / "bad")], "not a readable parquet file"),
        (["record", "--venue", "sim", "--out", str(tmp_path / "x"), "--rotate-mb", "0"], "--rotate-mb 0"),
    ]
    for args, expected in cases:
        code, stdout, err = await run_cli(args, tmp_path)
        assert (code, stdout) == (2, ""), (args, err)
        assert err.count("\n") == 1 and expected in err, (args, err)
