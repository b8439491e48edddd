"""`desk book` and `desk feed`: the market seen from the shell, through the same Engine the TUI uses.

A one-shot ``desk book`` runs the simulated market for a few seconds of *simulated* time (no sleeping: the
market is a pure function of seed and time) and prints the book; ``--watch`` and ``desk feed`` stream it live
through ``SimFeed``. Live venues are built separately; until they land, asking for one is a clear error, but
``--ws-url/--rest-url`` are already accepted and validated so scripts written against references/cli.md keep
working.
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
    from desk.feeds.sim import SimSymbol, SimulatedMarket

WARMUP_S = 5.0
"""Simulated seconds a one-shot ``desk book`` runs the market before printing: enough for a lived-in book."""

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
    specs = _sim_symbols(settings, symbol)
    if watch:
        _watch_book(settings, specs, symbol, depth, json_out, duration)
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
    from desk.feeds.sim import SimulatedMarket

    settings = _settings(ctx, venue, seed, ws_url, rest_url, config, profile)
    specs = _sim_symbols(settings, symbol)
    market = SimulatedMarket(specs, seed=settings.sim.seed, rate=settings.sim.rate)
    asyncio.run(_stream_events(market, symbol, settings.sim.speed, duration, json_out, LineWriter()))


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
    if chosen != "sim":
        raise UserError(
            f"venue {chosen!r} is not available in this build: expected --venue sim (live venues are coming)"
        )
    return settings


def _sim_symbols(settings: Settings, symbol: str) -> list[SimSymbol]:
    """The simulated universe: configured symbols the simulator models, plus the requested one."""
    from desk.feeds.sim import DEFAULT_SYMBOLS

    known = [s.instrument.symbol for s in DEFAULT_SYMBOLS]
    if symbol not in known:
        raise UserError(f"unknown symbol {symbol!r}: expected one of {', '.join(known)}")
    wanted = set(settings.market.symbols) | {symbol}
    return [s for s in DEFAULT_SYMBOLS if s.instrument.symbol in wanted]


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
def _watch_book(
    settings: Settings, specs: list[SimSymbol], symbol: str, depth: int, json_out: bool, duration: float | None
) -> None:
    import asyncio

    from desk.commands.output import LineWriter
    from desk.engine import Engine
    from desk.feeds.sim import SimulatedMarket

    market = SimulatedMarket(specs, seed=settings.sim.seed, rate=settings.sim.rate)
    engine = Engine(market.instruments, market.venue, tape_size=settings.ui.tape_size)
    period = 1.0 / settings.ui.refresh_hz
    asyncio.run(_redraw(market, engine, symbol, depth, json_out, settings.sim.speed, period, duration, LineWriter()))


async def _redraw(
    market: SimulatedMarket,
    engine: Engine,
    symbol: str,
    depth: int,
    json_out: bool,
    speed: float,
    period: float,
    duration: float | None,
    out: LineWriter,
) -> None:
    """Feed rate is not frame rate: the feed applies batches to the engine; this loop samples the book."""
    import asyncio
    import json

    from desk.book.l2 import BookState
    from desk.feeds.sim import SimFeed

    feed = SimFeed(market, speed=speed)
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


async def _stream_events(
    market: SimulatedMarket, symbol: str, speed: float, duration: float | None, json_out: bool, out: LineWriter
) -> None:
    import asyncio
    import json
    from collections.abc import Sequence

    from desk.commands.event_format import event_json, event_text
    from desk.domain.events import Event
    from desk.feeds.sim import SimFeed

    feed = SimFeed(market, speed=speed)
    inst = market.instruments[symbol]

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
