"""`desk record` and `desk replay`: a feed to parquet files, and those files back as a feed.

``desk record`` runs any feed (``--venue sim`` too) with the recorder as its sink and, for venue feeds, taps the
raw websocket frames and REST bodies; ``desk replay`` prints a recording as ``desk feed`` prints a live feed (one
line or one JSON object per event), or opens the TUI on it with ``--tui``. See desk/feeds/record.py for the
file layout.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from desk.commands.options import ConfigOpt, JsonOpt, ProfileOpt, RestUrlOpt, VenueOpt, WsUrlOpt, resolve_for_command
from desk.errors import UserError

if TYPE_CHECKING:
    from desk.commands.output import LineWriter
    from desk.feeds.base import Feed
    from desk.feeds.record import Recorder
    from desk.feeds.replay import ReplayFeed

MB = 1024 * 1024


def register(app: typer.Typer) -> None:
    app.command("record")(record)
    app.command("replay")(replay)


def _symbol_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    symbols = [part.strip().upper() for part in text.split(",") if part.strip()]
    if not symbols:
        raise UserError(f"--symbols {text!r}: expected a comma-separated list like BTC-USD,ETH-USD")
    for symbol in symbols:
        base, _, quote = symbol.partition("-")
        if not base or not quote:
            raise UserError(f"symbol {symbol!r} in --symbols is not BASE-QUOTE (e.g. BTC-USD)")
    return symbols


def record(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Directory for the parquet parts (created; must not hold one).")],
    symbols: Annotated[
        str | None, typer.Option("--symbols", help="Comma-separated desk symbols (default: market.symbols).")
    ] = None,
    duration: Annotated[
        float | None, typer.Option("--duration", min=0.0, help="Stop after this many seconds (default: Ctrl-C).")
    ] = None,
    rotate_mb: Annotated[
        float | None,
        typer.Option("--rotate-mb", help="Start a new part at this much buffered data."),
    ] = None,
    rotate_s: Annotated[
        float | None,
        typer.Option("--rotate-s", help="Start a new part after this many seconds."),
    ] = None,
    json_out: JsonOpt = False,
    venue: VenueOpt = None,
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="Seed of the simulated market (sim.seed).")] = None,
    ws_url: WsUrlOpt = None,
    rest_url: RestUrlOpt = None,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Record a feed's normalised events (and, for venues, the raw frames) to rotating parquet files."""
    import asyncio
    import json

    from desk.feeds.factory import build_feed
    from desk.feeds.record import Recorder, tap_supervised
    from desk.feeds.supervisor import SupervisedFeed

    for flag, value in (("--rotate-mb", rotate_mb), ("--rotate-s", rotate_s)):
        if value is not None and not value > 0:
            raise UserError(f"{flag} {value:g}: expected a positive number")
    wanted = _symbol_list(symbols)
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
        settings = resolve_for_command(ctx, config, profile, overrides).settings
    source = build_feed(settings, wanted)
    recorder = Recorder(
        out,
        source.venue,
        source.instruments,
        rotate_bytes=None if rotate_mb is None else max(1, int(rotate_mb * MB)),
        rotate_s=rotate_s,
    )
    if isinstance(source, SupervisedFeed):
        tap_supervised(source, recorder)
    try:
        asyncio.run(_record(source, recorder, duration))
    except KeyboardInterrupt:
        pass  # Ctrl-C is the normal way to end an open-ended recording: keep what was recorded
    finally:
        recorder.close()
    written = [str(path) for path in recorder.files]
    if json_out:
        document = {
            "out": str(out),
            "venue": source.venue,
            "symbols": list(source.instruments),
            "files": written,
            "events": recorder.events_written,
            "frames": recorder.frames_written,
        }
        typer.echo(json.dumps(document))
        return
    typer.echo(
        f"recorded {recorder.events_written} events and {recorder.frames_written} raw frames "
        f"from {source.venue} ({', '.join(source.instruments)}) in {len(written)} files:"
    )
    for path in written:
        typer.echo(f"  {path}")


async def _record(source: Feed, recorder: Recorder, duration: float | None) -> None:
    import asyncio

    task = asyncio.create_task(source.run(recorder.sink))
    try:
        await asyncio.wait({task}, timeout=duration)
    finally:
        source.stop()
        await asyncio.gather(task, return_exceptions=True)
    if task.done() and not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


def replay(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A recording directory, or one of its events-*.parquet files.")],
    speed: Annotated[
        float,
        typer.Option("--speed", min=0.0, help="Playback speed: 1 = as recorded, 10 = ten times faster, 0 = unpaced."),
    ] = 1.0,
    symbols: Annotated[str | None, typer.Option("--symbols", help="Only these symbols (comma-separated).")] = None,
    json_out: JsonOpt = False,
    tui: Annotated[bool, typer.Option("--tui", help="Open the TUI on the recording instead of printing it.")] = False,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Play a recording back: its events as `desk feed` prints them (deterministic), or into the TUI."""
    import asyncio

    from desk.commands.output import LineWriter
    from desk.feeds.replay import ReplayFeed

    feed = ReplayFeed(path, speed=speed, symbols=_symbol_list(symbols))
    if tui:
        if json_out:
            raise UserError("--json with --tui: expected one of them (the TUI prints nothing)")
        _replay_tui(ctx, feed, config, profile)
        return
    asyncio.run(_print_replay(feed, json_out, LineWriter()))


async def _print_replay(feed: ReplayFeed, json_out: bool, out: LineWriter) -> None:
    import json
    from collections.abc import Sequence

    from desk.commands.event_format import event_json, event_text
    from desk.domain.events import Event

    instruments = feed.instruments

    def sink(batch: Sequence[Event]) -> None:
        for event in batch:
            inst = instruments[event.symbol]
            out.line(json.dumps(event_json(event, inst)) if json_out else event_text(event, inst))
        out.flush()
        if out.closed:
            feed.stop()

    await feed.run(sink)


def _replay_tui(ctx: typer.Context, feed: ReplayFeed, config: Path | None, profile: str | None) -> None:
    from desk.ui.app import build_app

    overrides = {"market.symbols": ",".join(feed.instruments)}
    settings = resolve_for_command(ctx, config, profile, overrides).settings
    build_app(settings, feed=feed).run()
