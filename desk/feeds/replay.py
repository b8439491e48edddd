"""Playing a recording (desk/feeds/record.py) back as a feed: the same events, in the same batches.

``ReplayFeed`` implements the ``Feed`` protocol (desk/feeds/base.py), so the engine, the TUI and backtests
consume a recording exactly as they consume the venue it came from. Instruments are rebuilt from the grid stored
in the files' metadata, so integer prices and sizes mean what they meant when recorded. Playback is paced by the
recorded receive times divided by ``speed`` (``speed=0``: as fast as possible); pacing changes when batches
arrive, never what they contain, so a replay is deterministic: the same recording gives the same events.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from desk.domain.events import Bar, BookDelta, BookSnapshot, Event, FeedState, FeedStatus, Side, Trade
from desk.domain.instruments import Instrument
from desk.errors import UserError
from desk.feeds.base import Sink
from desk.feeds.record import EVENT_COLUMNS, FORMAT, METADATA_KEY

YIELD_EVERY = 64
"""Unpaced replay yields to the event loop every this many batches, so ``stop()`` and a UI can get a turn."""


@dataclass(frozen=True, slots=True)
class Recording:
    """A recording on disk: its parts in order and what its metadata says."""

    path: Path
    venue: str
    instruments: dict[str, Instrument]
    event_files: tuple[Path, ...]
    frame_files: tuple[Path, ...]
    started_ns: int


def _metadata(file: Path) -> dict[str, Any]:
    import polars as pl

    try:
        raw = pl.read_parquet_metadata(file).get(METADATA_KEY)
    except Exception as exc:  # polars raises its own error types for unreadable files
        raise UserError(f"{file}: not a readable parquet file ({type(exc).__name__})") from exc
    if raw is None:
        raise UserError(f"{file}: no {METADATA_KEY} metadata: expected a file written by desk record")
    try:
        meta: dict[str, Any] = json.loads(raw)
    except ValueError as exc:
        raise UserError(f"{file}: {METADATA_KEY} metadata is not JSON: expected a file written by desk record") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise UserError(f"{file}: recording format {found!r}: expected {FORMAT!r}")
    return meta


def _instruments(meta: dict[str, Any], file: Path) -> dict[str, Instrument]:
    out: dict[str, Instrument] = {}
    try:
        for symbol, grid in meta["instruments"].items():
            out[symbol] = Instrument(
                symbol,
                Decimal(grid["tick_size"]),
                Decimal(grid["lot_size"]),
                Decimal(grid["min_notional"]),
                venue_symbol=grid["venue_symbol"],
            )
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise UserError(
            f"{file}: instrument metadata is damaged ({exc}): expected a file written by desk record"
        ) from exc
    return out


def open_recording(path: Path) -> Recording:
    """A recording directory (every part in it) or one ``events-NNNNN.parquet`` file (that part alone)."""
    path = Path(path)
    if path.is_dir():
        events = tuple(sorted(path.glob("events-*.parquet")))
        frames = tuple(sorted(path.glob("frames-*.parquet")))
        if not events:
            raise UserError(f"{path}: no events-*.parquet files: expected a directory written by desk record")
    elif path.is_file():
        if not path.name.startswith("events-") or path.suffix != ".parquet":
            raise UserError(f"{path}: expected a recording directory or one of its events-*.parquet files")
        events = (path,)
        sibling = path.with_name("frames-" + path.name.removeprefix("events-"))
        frames = (sibling,) if sibling.is_file() else ()
    else:
        raise UserError(f"recording {str(path)!r} does not exist: expected a directory written by desk record")
    meta = _metadata(events[0])
    return Recording(
        path=path,
        venue=str(meta["venue"]),
        instruments=_instruments(meta, events[0]),
        event_files=events,
        frame_files=frames,
        started_ns=int(meta["started_ns"]),
    )


def _events_of(columns: dict[str, list[Any]], row: int) -> Event:
    c = columns
    kind = c["type"][row]
    if kind == "delta":
        return BookDelta(
            c["symbol"][row],
            c["venue"][row],
            c["first_seq"][row],
            c["seq"][row],
            c["ts_ns"][row],
            tuple(zip(c["bid_px"][row], c["bid_sz"][row], strict=True)),
            tuple(zip(c["ask_px"][row], c["ask_sz"][row], strict=True)),
        )
    if kind == "trade":
        return Trade(
            c["symbol"][row],
            c["venue"][row],
            c["ts_ns"][row],
            c["price"][row],
            c["size"][row],
            Side(c["side"][row]),
            c["trade_id"][row],
        )
    if kind == "snapshot":
        return BookSnapshot(
            c["symbol"][row],
            c["venue"][row],
            c["seq"][row],
            c["ts_ns"][row],
            tuple(zip(c["bid_px"][row], c["bid_sz"][row], strict=True)),
            tuple(zip(c["ask_px"][row], c["ask_sz"][row], strict=True)),
        )
    if kind == "status":
        return FeedStatus(
            venue=c["venue"][row],
            symbol=c["symbol"][row],
            state=FeedState(c["state"][row]),
            ts_ns=c["ts_ns"][row],
            detail=c["detail"][row],
            msgs_per_s=c["msgs_per_s"][row],
            last_msg_age_s=c["last_msg_age_s"][row],
            latency_ms=c["latency_ms"][row],
            gaps=c["gaps"][row],
            resyncs=c["resyncs"][row],
            checksum_failures=c["checksum_failures"][row],
            malformed=c["malformed"][row],
        )
    if kind == "bar":
        return Bar(
            c["symbol"][row],
            c["timeframe_s"][row],
            c["ts_ns"][row],
            c["open"][row],
            c["high"][row],
            c["low"][row],
            c["close"][row],
            c["volume"][row],
            c["trades"][row],
        )
    raise ValueError(f"unknown event type {kind!r} in row {row}")


def read_batches(recording: Recording, symbols: Iterable[str] | None = None) -> Iterator[tuple[int, list[Event]]]:
    """(receive time ns, batch) in recorded order, one part in memory at a time; ``symbols`` filters."""
    import polars as pl

    wanted = set(symbols) if symbols is not None else None
    for file in recording.event_files:
        try:
            frame = pl.read_parquet(file, columns=list(EVENT_COLUMNS))
        except Exception as exc:
            raise UserError(f"{file}: cannot read the events ({type(exc).__name__}: {exc})") from exc
        columns = {name: frame.get_column(name).to_list() for name in EVENT_COLUMNS}
        batch_ids = columns["batch"]
        recv = columns["recv_ns"]
        symbol_col = columns["symbol"]
        batch: list[Event] = []
        current = batch_ids[0] if batch_ids else None
        current_recv = recv[0] if recv else 0
        for row in range(len(batch_ids)):
            if batch_ids[row] != current:
                if batch:
                    yield current_recv, batch
                batch = []
                current = batch_ids[row]
                current_recv = recv[row]
            if wanted is None or symbol_col[row] in wanted:
                batch.append(_events_of(columns, row))
        if batch:
            yield current_recv, batch


def read_events(recording: Recording, symbols: Iterable[str] | None = None) -> list[Event]:
    """Every event of the recording, flattened (for tests, backtests and small recordings)."""
    return [event for _, batch in read_batches(recording, symbols) for event in batch]


class ReplayFeed:
    """A recording as a ``Feed``. ``speed`` 1.0 replays in recorded time, 10.0 ten times faster, 0 unpaced."""

    def __init__(
        self,
        recording: Recording | Path,
        *,
        speed: float = 1.0,
        symbols: Iterable[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise UserError(f"speed {speed:g}: expected 0 (as fast as possible) or a positive factor")
        self.recording = recording if isinstance(recording, Recording) else open_recording(recording)
        self.venue = self.recording.venue
        known = self.recording.instruments
        chosen = list(dict.fromkeys(symbols)) if symbols is not None else list(known)
        for symbol in chosen:
            if symbol not in known:
                raise UserError(f"symbol {symbol!r} is not in the recording: expected one of {', '.join(known)}")
        self._instruments = {sym: known[sym] for sym in chosen}
        self.speed = speed
        self._clock = clock
        self._stopped = False
        self.batches = 0
        self.finished = False

    @property
    def instruments(self) -> dict[str, Instrument]:
        return self._instruments

    def stop(self) -> None:
        self._stopped = True

    async def run(self, sink: Sink) -> None:
        start_wall = 0.0
        first_recv: int | None = None
        for recv_ns, batch in read_batches(self.recording, self._instruments):
            if self._stopped:
                return
            if self.speed > 0:
                if first_recv is None:
                    first_recv, start_wall = recv_ns, self._clock()
                delay = start_wall + (recv_ns - first_recv) / 1e9 / self.speed - self._clock()
                if delay > 0:
                    await asyncio.sleep(delay)
                    if self._stopped:
                        return
            elif self.batches % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
                if self._stopped:
                    return
            sink(batch)
            self.batches += 1
        self.finished = True
