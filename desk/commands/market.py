"""`desk book` and `desk feed`: the market seen from the shell, through the same Engine the TUI uses.

A one-shot ``desk book`` on the simulated market runs it for a few seconds of *simulated* time (no sleeping:
the market is a pure function of seed and time) and prints the book; ``--watch`` and ``desk feed`` stream it
live through ``SimFeed``. On a venue (``--venue binance|coinbase|kraken``) the feed comes from
``desk.feeds.factory.build_feed`` (a supervised websocket feed; ``--ws-url/--rest-url`` override the endpoints):
a one-shot ``desk book`` waits for the first live book, ``--watch`` and ``desk feed`` stream as for sim.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from desk.commands.options import ConfigOpt, JsonOpt, ProfileOpt, RestUrlOpt, VenueOpt, WsUrlOpt, resolve_for_command
from desk.errors import UserError

if TYPE_CHECKING:
    from desk.book.l2 import OrderBook
    from desk.commands.output import LineWriter
    from desk.config import Settings
    from desk.engine import Engine
    from desk.feeds.base import Feed
    from desk.feeds.sim import SimSymbol

WARMUP_S = 5.0
"""Simulated seconds a one-shot ``desk book`` runs the market before printing: enough for a lived-in book."""
LIVE_TIMEOUT_S = 20.0
"""How long a one-shot ``desk book`` on a venue waits for a live (synchronised) book before giving up."""

SymbolArg = Annotated[str, typer.Argument(help="Desk symbol BASE-QUOTE, e.g. BTC-USD.", show_default=False)]
SeedOpt = Annotated[int | None, typer.Option("--seed", min=0, help="Seed of the simulated market (sim.seed).")]
DurationOpt = Annotated[
    float | None, typer.Option("--duration", min=0.0, help="Stop after this many seconds (default: Ctrl-C).")
]


def register(app: typer.Typer) -> None:
    app.command("book")(book)
    app.command("feed")(feed)


def book(
    ctx: typer.Context,
    symbol: SymbolArg,
    depth: Annotated[int, typer.Option("--depth", min=1, max=500, help="Price levels per side.")] = 10,
    json_out: JsonOpt = False,
    watch: Annotated[bool, typer.Option("--watch", help="Stream the book at the UI refresh rate.")] = False,
    duration: DurationOpt = None,
    venue: VenueOpt = None,
    seed: SeedOpt = None,
    ws_url: WsUrlOpt = None,
    rest_url: RestUrlOpt = None,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Print the order book of SYMBOL: levels with cumulative size, spread, mid and imbalance."""
    if duration is not None and not watch:
        raise UserError(f"--duration {duration:g} applies only to --watch: expected --watch with --duration")
    settings = _settings(ctx, venue, seed, ws_url, rest_url, config, profile)
    if settings.market.venue != "sim":
        live, symbol = _venue_feed(settings, symbol)
        if watch:
            _watch_book(settings, live, symbol, depth, json_out, duration)
        else:
            _venue_book_once(live, symbol, depth, json_out)
        return
    specs = _sim_symbols(settings, symbol)
    if watch:
        _watch_book(settings, _sim_feed(settings, specs), symbol, depth, json_out, duration)
        return

    from desk.engine import Engine
    from desk.feeds.sim import NS, SimulatedMarket

    market = SimulatedMarket(specs, seed=settings.sim.seed, rate=settings.sim.rate)
    engine = Engine(market.instruments, market.venue, tape_size=settings.ui.tape_size)
    engine.on_events(market.snapshots())
    engine.on_events(market.events_until(market.now_ns + int(WARMUP_S * NS)))
    ob = engine.books[symbol]
    if json_out:
        import json

        typer.echo(json.dumps(_book_document(ob, depth)))
    else:
        _print_book_table(ob, depth)


def feed(
    ctx: typer.Context,
    symbol: SymbolArg,
    duration: DurationOpt = None,
    json_out: JsonOpt = False,
    venue: VenueOpt = None,
    seed: SeedOpt = None,
    ws_url: WsUrlOpt = None,
    rest_url: RestUrlOpt = None,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Stream the normalised events of SYMBOL (snapshot, deltas, trades, feed status) as they arrive."""
    import asyncio

    from desk.commands.output import LineWriter

    settings = _settings(ctx, venue, seed, ws_url, rest_url, config, profile)
    if settings.market.venue == "sim":
        source = _sim_feed(settings, _sim_symbols(settings, symbol))
    else:
        source, symbol = _venue_feed(settings, symbol)
    asyncio.run(_stream_events(source, symbol, duration, json_out, LineWriter()))


# --- settings and the market -------------------------------------------------------------------------------
def _settings(
    ctx: typer.Context,
    venue: str | None,
    seed: int | None,
    ws_url: str | None,
    rest_url: str | None,
    config: Path | None,
    profile: str | None,
) -> Settings:
    overrides: dict[str, object] = {"market.venue": venue, "sim.seed": seed}
    settings = resolve_for_command(ctx, config, profile, overrides).settings
    chosen = settings.market.venue
    if ws_url is not None or rest_url is not None:
        if chosen == "sim":
            flag, url = ("--ws-url", ws_url) if ws_url is not None else ("--rest-url", rest_url)
            raise UserError(
                f"{flag} {url!r} has no effect on the simulated market: expected --venue binance|coinbase|kraken"
            )
        overrides |= {f"venues.{chosen}.ws_url": ws_url, f"venues.{chosen}.rest_url": rest_url}
        settings = resolve_for_command(ctx, config, profile, overrides).settings  # validates the URLs
    return settings


def _sim_symbols(settings: Settings, symbol: str) -> list[SimSymbol]:
    """The simulated universe: configured symbols the simulator models, plus the requested one."""
    from desk.feeds.sim import DEFAULT_SYMBOLS

    known = [s.instrument.symbol for s in DEFAULT_SYMBOLS]
    if symbol not in known:
        raise UserError(f"unknown symbol {symbol!r}: expected one of {', '.join(known)}")
    wanted = set(settings.market.symbols) | {symbol}
    return [s for s in DEFAULT_SYMBOLS if s.instrument.symbol in wanted]


def _sim_feed(settings: Settings, specs: list[SimSymbol]) -> Feed:
    from desk.feeds.sim import SimFeed, SimulatedMarket

    market = SimulatedMarket(specs, seed=settings.sim.seed, rate=settings.sim.rate)
    return SimFeed(market, speed=settings.sim.speed)


def _venue_feed(settings: Settings, symbol: str) -> tuple[Feed, str]:
    """A supervised feed for SYMBOL alone on ``market.venue`` (instrument metadata is loaded here, before any
    socket opens, so an unknown symbol is a bad-input error), and the desk symbol its events carry."""
    from desk.feeds.factory import build_feed

    source = build_feed(settings, [symbol.upper()])
    return source, symbol.upper()


# --- output --------------------------------------------------------------------------------------------------
def _book_document(ob: OrderBook, depth: int) -> dict[str, object]:
    from desk.commands.event_format import book_json

    bids, asks = ob.top(depth)
    return book_json(ob.instrument, ob.venue, ob.seq, ob.ts_ns, ob.state.value, bids, asks)


def _mid_str(ob: OrderBook) -> str:
    """Exact mid as a decimal (half a tick when the spread is an odd number of ticks)."""
    b, a = ob.best_bid, ob.best_ask
    return "-" if b is None or a is None else f"{ob.instrument.price(a + b) / 2:f}"


def _summary(ob: OrderBook, depth: int) -> str:
    inst = ob.instrument
    spread = ob.spread_ticks()
    bps = ob.spread_bps()
    imb1 = ob.imbalance(1)
    imbn = ob.imbalance(depth)
    spread_text = "-" if spread is None else f"{inst.price_str(spread)} ({bps or 0.0:.2f} bp)"
    imb_text = "-" if imb1 is None or imbn is None else f"{imb1:+.3f} at the touch, {imbn:+.3f} over {depth}"
    return f"spread {spread_text}   mid {_mid_str(ob)}   imbalance {imb_text}"


def _print_book_table(ob: OrderBook, depth: int) -> None:
    from itertools import zip_longest

    from rich.console import Console
    from rich.table import Table

    from desk.commands.event_format import iso_ns

    inst = ob.instrument
    table = Table()
    for name, style in (("bid cum", "green"), ("bid size", "green"), ("bid", "bold green")):
        table.add_column(name, justify="right", style=style)
    for name, style in (("ask", "bold red"), ("ask size", "red"), ("ask cum", "red")):
        table.add_column(name, justify="right", style=style)
    bids, asks = ob.cumulative(depth)
    for bid, ask in zip_longest(bids, asks):
        left = [inst.size_str(bid[2]), inst.size_str(bid[1]), inst.price_str(bid[0])] if bid else ["", "", ""]
        right = [inst.price_str(ask[0]), inst.size_str(ask[1]), inst.size_str(ask[2])] if ask else ["", "", ""]
        table.add_row(*left, *right)
    console = Console(highlight=False)
    console.print(f"{inst.symbol} on {ob.venue}   seq {ob.seq}   {iso_ns(ob.ts_ns)}   {ob.state.value}", soft_wrap=True)
    console.print(table)
    console.print(_summary(ob, depth), soft_wrap=True)


def _watch_line(ob: OrderBook, depth: int) -> str:
    from desk.commands.event_format import iso_ns

    inst = ob.instrument
    b, a = ob.best_bid, ob.best_ask
    bid = "-" if b is None else f"{inst.price_str(b)} x {inst.size_str(ob.bids[b])}"
    ask = "-" if a is None else f"{inst.price_str(a)} x {inst.size_str(ob.asks[a])}"
    return f"{iso_ns(ob.ts_ns)} {inst.symbol} #{ob.seq} bid {bid} | ask {ask}   {_summary(ob, depth)}"


# --- streaming ------------------------------------------------------------------------------------------------
def _venue_book_once(source: Feed, symbol: str, depth: int, json_out: bool) -> None:
    import asyncio

    from desk.engine import Engine
    from desk.errors import RuntimeFailure

    engine = Engine(source.instruments, source.venue)
    if not asyncio.run(_until_live(source, engine, symbol, LIVE_TIMEOUT_S)):
        status = engine.feed_status.get(symbol)
        state = f"{status.state.value}{f' ({status.detail})' if status and status.detail else ''}" if status else "-"
        raise RuntimeFailure(
            f"no live {symbol} book from {source.venue} within {LIVE_TIMEOUT_S:g}s (feed state {state})"
        )
    ob = engine.books[symbol]
    if json_out:
        import json

        typer.echo(json.dumps(_book_document(ob, depth)))
    else:
        _print_book_table(ob, depth)


async def _until_live(source: Feed, engine: Engine, symbol: str, timeout_s: float) -> bool:
    import asyncio
    from collections.abc import Sequence

    from desk.book.l2 import BookState
    from desk.domain.events import Event

    done = asyncio.Event()
    ob = engine.books[symbol]

    def sink(batch: Sequence[Event]) -> None:
        if done.is_set():
            return  # the book is printed as it was when it went live, not as the stopping feed leaves it
        engine.on_events(batch)
        if ob.state is BookState.LIVE:
            done.set()
            source.stop()

    task = asyncio.create_task(source.run(sink))
    try:
        await asyncio.wait_for(done.wait(), timeout_s)
    except TimeoutError:
        return False
    finally:
        source.stop()
        await asyncio.gather(task, return_exceptions=True)
    return True


def _watch_book(
    settings: Settings, source: Feed, symbol: str, depth: int, json_out: bool, duration: float | None
) -> None:
    import asyncio

    from desk.commands.output import LineWriter
    from desk.engine import Engine

    engine = Engine(source.instruments, source.venue, tape_size=settings.ui.tape_size)
    period = 1.0 / settings.ui.refresh_hz
    asyncio.run(_redraw(source, engine, symbol, depth, json_out, period, duration, LineWriter()))


async def _redraw(
    feed: Feed,
    engine: Engine,
    symbol: str,
    depth: int,
    json_out: bool,
    period: float,
    duration: float | None,
    out: LineWriter,
) -> None:
    """Feed rate is not frame rate: the feed applies batches to the engine; this loop samples the book."""
    import asyncio
    import json

    from desk.book.l2 import BookState

    loop = asyncio.get_running_loop()
    task = asyncio.create_task(feed.run(engine.on_events))
    ob = engine.books[symbol]
    start = loop.time()
    ticks = 0
    try:
        while not out.closed and not task.done():
            ticks += 1
            next_tick = start + ticks * period  # drift-free schedule
            if duration is not None and next_tick > start + duration:
                await asyncio.sleep(max(0.0, start + duration - loop.time()))
                break
            await asyncio.sleep(max(0.0, next_tick - loop.time()))
            if ob.state is BookState.LIVE:
                out.line(json.dumps(_book_document(ob, depth)) if json_out else _watch_line(ob, depth))
                out.flush()
    finally:
        feed.stop()
        await task


async def _stream_events(feed: Feed, symbol: str, duration: float | None, json_out: bool, out: LineWriter) -> None:
    import asyncio
    import json
    from collections.abc import Sequence

    from desk.commands.event_format import event_json, event_text
    from desk.domain.events import Event

    inst = feed.instruments[symbol]

    def sink(batch: Sequence[Event]) -> None:
        for event in batch:
            if event.symbol == symbol:
                out.line(json.dumps(event_json(event, inst)) if json_out else event_text(event, inst))
        out.flush()
        if out.closed:
            feed.stop()

    task = asyncio.create_task(feed.run(sink))
    try:
        await asyncio.wait({task}, timeout=duration)
    finally:
        feed.stop()
        await task
