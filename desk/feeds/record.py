"""Recording a feed to parquet: the normalised events, and the raw wire frames they were decoded from.

A recording is a directory of parts, ``events-00000.parquet`` (+ ``frames-00000.parquet`` for venue feeds),
``events-00001.parquet``... Each part covers a slice of time; a new part starts when the buffered data reaches
``rotate_bytes`` (estimated, uncompressed) or ``rotate_s`` seconds, so memory stays bounded and a crash loses
at most the part being filled. Every parquet file carries the recording's metadata (format, venue, symbols and
each instrument's tick/lot grid) under the key ``desk.recording``, so any single file can be decoded on its own.

Events are stored exactly: prices, sizes, sequence numbers and timestamps as 64-bit integers on the instrument's
grid (never floats or decimal text), levels as parallel price/size integer lists, and the feed's batching as a
``batch`` number with its local receive time ``recv_ns`` (replay hands the engine the very same batches). Raw
frames keep the payload bytes as received, with their receive time, source (``ws`` or ``rest``) and URL, in the
order the adapter handled them: a REST body's row sits between the websocket frames the adapter parsed before and
after it got that body, so an adapter re-run over the rows in order sees what the live one saw. (Row order, not
``recv_ns``, is that order: the wall clock may step back.)

Parts are converted to a polars frame in the caller's thread and written by one background thread (polars
writes without the GIL), so the event loop of a live feed is not blocked by compression and disk I/O.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desk.domain.events import Bar, BookDelta, BookSnapshot, Event, FeedStatus, Trade
from desk.domain.instruments import Instrument
from desk.errors import RuntimeFailure, UserError

if TYPE_CHECKING:
    import polars as pl

    from desk.feeds.supervisor import SupervisedFeed
    from desk.feeds.venues.base import Link

FORMAT = "desk-recording/1"
METADATA_KEY = "desk.recording"
DEFAULT_ROTATE_BYTES = 64 * 1024 * 1024

EVENT_COLUMNS: dict[str, str] = {
    # column -> polars dtype name; one table for every event type, columns a type does not use stay null
    "batch": "Int64",
    "recv_ns": "Int64",
    "type": "String",
    "symbol": "String",
    "venue": "String",
    "ts_ns": "Int64",
    "first_seq": "Int64",
    "seq": "Int64",
    "bid_px": "List(Int64)",
    "bid_sz": "List(Int64)",
    "ask_px": "List(Int64)",
    "ask_sz": "List(Int64)",
    "price": "Int64",
    "size": "Int64",
    "side": "String",
    "trade_id": "String",
    "state": "String",
    "detail": "String",
    "msgs_per_s": "Float64",
    "last_msg_age_s": "Float64",
    "latency_ms": "Float64",
    "gaps": "Int64",
    "resyncs": "Int64",
    "checksum_failures": "Int64",
    "malformed": "Int64",
    "timeframe_s": "Int64",
    "open": "Int64",
    "high": "Int64",
    "low": "Int64",
    "close": "Int64",
    "volume": "Int64",
    "trades": "Int64",
}
FRAME_COLUMNS: dict[str, str] = {
    "recv_ns": "Int64",
    "source": "String",
    "url": "String",
    "text": "Boolean",
    "payload": "Binary",
}


def polars_schema(columns: Mapping[str, str]) -> dict[str, Any]:
    import polars as pl

    simple = {"Int64": pl.Int64, "String": pl.String, "Float64": pl.Float64, "Boolean": pl.Boolean}
    return {
        name: pl.List(pl.Int64) if kind == "List(Int64)" else simple.get(kind, pl.Binary)
        for name, kind in columns.items()
    }


def instrument_meta(inst: Instrument) -> dict[str, str]:
    return {
        "tick_size": str(inst.tick_size),
        "lot_size": str(inst.lot_size),
        "min_notional": str(inst.min_notional),
        "venue_symbol": inst.venue_symbol,
    }


class _Columns:
    """Column-wise buffer: appending to a few lists is cheaper per event than building row dicts."""

    def __init__(self, names: Sequence[str]) -> None:
        self.data: dict[str, list[Any]] = {name: [] for name in names}
        self.rows = 0

    def clear(self) -> None:
        for column in self.data.values():
            column.clear()
        self.rows = 0

    def frame(self, columns: Mapping[str, str]) -> pl.DataFrame:
        import polars as pl

        return pl.DataFrame(self.data, schema=polars_schema(columns))


class Recorder:
    """Writes what a feed produces into ``out_dir``; ``sink`` goes where the engine's would, ``frame`` is fed by
    the taps (see ``tap_supervised``). Call ``close()`` (also on Ctrl-C) to write the last part."""

    def __init__(
        self,
        out_dir: Path,
        venue: str,
        instruments: Mapping[str, Instrument],
        *,
        rotate_bytes: int | None = None,
        rotate_s: float | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        if rotate_bytes is not None and rotate_bytes <= 0:
            raise UserError(f"rotate size {rotate_bytes} bytes: expected a positive size")
        if rotate_s is not None and rotate_s <= 0:
            raise UserError(f"rotate interval {rotate_s} s: expected a positive number of seconds")
        out_dir = Path(out_dir)
        if out_dir.exists() and not out_dir.is_dir():
            raise UserError(f"--out {out_dir}: expected a directory, found a file")
        if out_dir.is_dir() and any(out_dir.glob("events-*.parquet")):
            raise UserError(f"--out {out_dir} already holds a recording: expected a new or empty directory")
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"--out {out_dir}: cannot create the directory ({exc.strerror})") from exc
        self.out_dir = out_dir
        self.venue = venue
        self.instruments = dict(instruments)
        self.rotate_bytes = rotate_bytes if rotate_bytes is not None or rotate_s is not None else DEFAULT_ROTATE_BYTES
        self.rotate_s = rotate_s
        self._clock = clock
        self.started_ns = clock()
        self._events = _Columns(list(EVENT_COLUMNS))
        self._frames = _Columns(list(FRAME_COLUMNS))
        self._bytes = 0
        self._part = 0
        self._part_started_ns = self.started_ns
        self._batch = 0
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="desk-record")
        self._pending: list[Future[None]] = []
        self.files: list[Path] = []
        self.events_written = 0
        self.frames_written = 0
        self.closed = False

    # --- metadata ----------------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        from desk import __version__

        return {
            "format": FORMAT,
            "venue": self.venue,
            "symbols": list(self.instruments),
            "instruments": {sym: instrument_meta(inst) for sym, inst in self.instruments.items()},
            "started_ns": self.started_ns,
            "part": self._part,
            "desk_version": __version__,
        }

    # --- input ------------------------------------------------------------------------------------
    def sink(self, batch: Sequence[Event]) -> None:
        """A ``desk.feeds.base.Sink``: records the batch as one batch, stamped with the local receive time."""
        if not batch or self.closed:
            return
        recv_ns = self._clock()
        number = self._batch
        self._batch += 1
        d = self._events.data
        for event in batch:
            size = self._add_event(d, event)
            d["batch"].append(number)
            d["recv_ns"].append(recv_ns)
            self._bytes += size
        self._events.rows += len(batch)
        self._maybe_rotate(recv_ns)

    def frame(self, source: str, url: str, payload: str | bytes, recv_ns: int) -> None:
        """One raw frame as received (``source`` ``ws`` or ``rest``); text frames are stored as UTF-8 bytes."""
        if self.closed:
            return
        d = self._frames.data
        text = isinstance(payload, str)
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        d["recv_ns"].append(recv_ns)
        d["source"].append(source)
        d["url"].append(url)
        d["text"].append(text)
        d["payload"].append(data)
        self._frames.rows += 1
        self._bytes += len(data) + len(url) + 24

    def _add_event(self, d: dict[str, list[Any]], event: Event) -> int:
        """Appends one event's columns (None where unused); returns its estimated size in bytes."""
        used: dict[str, Any]
        if isinstance(event, BookDelta | BookSnapshot):
            is_delta = isinstance(event, BookDelta)
            used = {
                "type": "delta" if is_delta else "snapshot",
                "symbol": event.symbol,
                "venue": event.venue,
                "ts_ns": event.ts_ns,
                "first_seq": event.first_seq if isinstance(event, BookDelta) else None,
                "seq": event.seq,
                "bid_px": [p for p, _ in event.bids],
                "bid_sz": [s for _, s in event.bids],
                "ask_px": [p for p, _ in event.asks],
                "ask_sz": [s for _, s in event.asks],
            }
            size = 96 + 16 * (len(event.bids) + len(event.asks))
        elif isinstance(event, Trade):
            used = {
                "type": "trade",
                "symbol": event.symbol,
                "venue": event.venue,
                "ts_ns": event.ts_ns,
                "price": event.price,
                "size": event.size,
                "side": event.aggressor.value,
                "trade_id": event.trade_id,
            }
            size = 96 + len(event.trade_id)
        elif isinstance(event, FeedStatus):
            used = {
                "type": "status",
                "symbol": event.symbol,
                "venue": event.venue,
                "ts_ns": event.ts_ns,
                "state": event.state.value,
                "detail": event.detail,
                "msgs_per_s": event.msgs_per_s,
                "last_msg_age_s": event.last_msg_age_s,
                "latency_ms": event.latency_ms,
                "gaps": event.gaps,
                "resyncs": event.resyncs,
                "checksum_failures": event.checksum_failures,
                "malformed": event.malformed,
            }
            size = 160 + len(event.detail)
        elif isinstance(event, Bar):
            used = {
                "type": "bar",
                "symbol": event.symbol,
                "venue": None,
                "ts_ns": event.start_ns,
                "timeframe_s": event.timeframe_s,
                "open": event.open,
                "high": event.high,
                "low": event.low,
                "close": event.close,
                "volume": event.volume,
                "trades": event.trades,
            }
            size = 128
        else:
            raise TypeError(f"not a market-data event: {event!r}")
        for name, column in d.items():
            if name != "batch" and name != "recv_ns":
                column.append(used.get(name))
        return size

    # --- parts --------------------------------------------------------------------------------------
    def _maybe_rotate(self, now_ns: int) -> None:
        full = self.rotate_bytes is not None and self._bytes >= self.rotate_bytes
        old = self.rotate_s is not None and now_ns - self._part_started_ns >= self.rotate_s * 1e9
        if full or old:
            self.rotate()

    def rotate(self) -> None:
        """Write the buffered part (if any) and start the next one."""
        self._check_writes()
        if self._events.rows or self._frames.rows:
            metadata = {METADATA_KEY: json.dumps(self.metadata(), sort_keys=True)}
            name = f"{self._part:05d}.parquet"
            for kind, columns, buffer in (
                ("events", EVENT_COLUMNS, self._events),
                ("frames", FRAME_COLUMNS, self._frames),
            ):
                if kind == "events" or buffer.rows:
                    frame = buffer.frame(columns)
                    path = self.out_dir / f"{kind}-{name}"
                    self._pending.append(self._writer.submit(_write, frame, path, metadata))
                    self.files.append(path)
            self.events_written += self._events.rows
            self.frames_written += self._frames.rows
            self._events.clear()
            self._frames.clear()
            self._part += 1
        self._bytes = 0
        self._part_started_ns = self._clock()

    def _check_writes(self, wait: bool = False) -> None:
        keep: list[Future[None]] = []
        for future in self._pending:
            if wait or future.done():
                exc = future.exception()
                if exc is not None:
                    raise RuntimeFailure(f"writing the recording to {self.out_dir} failed: {exc}") from exc
            else:
                keep.append(future)
        self._pending = keep

    def close(self) -> None:
        if self.closed:
            return
        try:
            self.rotate()
            self._check_writes(wait=True)
        finally:
            self.closed = True
            self._writer.shutdown(wait=True)


def _write(frame: pl.DataFrame, path: Path, metadata: dict[str, str]) -> None:
    tmp = path.with_suffix(".parquet.tmp")
    frame.write_parquet(tmp, compression="zstd", metadata=metadata)
    tmp.replace(path)  # a part is either complete or absent, never half-written


def tap_supervised(feed: SupervisedFeed, recorder: Recorder) -> None:
    """Record every websocket frame and REST body ``feed`` receives, as received, before its adapter parses it.

    The adapter's ``on_message`` is shadowed by an instance attribute that records and then delegates, so the
    supervisor and the adapter stay unaware of recording; REST bodies come from ``RestClient.taps``.
    """
    adapter = feed.adapter
    parse = adapter.on_message
    url = adapter.connect_url()
    frame = recorder.frame

    def on_message(raw: str | bytes, recv_ns: int, link: Link) -> None:
        frame("ws", url, raw, recv_ns)
        parse(raw, recv_ns, link)

    adapter.on_message = on_message  # type: ignore[method-assign]
    feed.rest.taps.append(lambda url, body, recv_ns: frame("rest", url, body, recv_ns))
