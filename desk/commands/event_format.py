"""Normalised events and book pictures as JSON objects (the shapes references/cli.md fixes for `desk feed`,
`desk book`, and `desk replay`, which prints as `feed` does) and as one-line human text.

Prices and sizes leave the integer grid only here, as decimal strings exactly on the instrument's grid;
timestamps become ISO-8601 UTC strings with all nine nanosecond digits, so nothing is lost and nothing needs a
float. Levels are ``[price, size]`` pairs, best first; in a delta a size of zero removes the level.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from desk.domain.events import Bar, BookDelta, BookSnapshot, Event, FeedStatus, Level, Trade
from desk.domain.instruments import Instrument

JsonObject = dict[str, object]

_NS = 1_000_000_000


def iso_ns(ts_ns: int) -> str:
    """``2026-01-01T00:00:05.000123456Z``: exact to the nanosecond, sortable as text."""
    seconds, frac = divmod(ts_ns, _NS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{frac:09d}Z"


def levels_json(inst: Instrument, levels: Iterable[Level]) -> list[list[str]]:
    return [[inst.price_str(p), inst.size_str(s)] for p, s in levels]


def book_json(
    inst: Instrument, venue: str, seq: int, ts_ns: int, state: str, bids: Iterable[Level], asks: Iterable[Level]
) -> JsonObject:
    """The `desk book --json` document."""
    return {
        "symbol": inst.symbol,
        "venue": venue,
        "seq": seq,
        "ts": iso_ns(ts_ns),
        "state": state,
        "bids": levels_json(inst, bids),
        "asks": levels_json(inst, asks),
    }


def event_json(event: Event, inst: Instrument) -> JsonObject:
    """One `desk feed --json` line. ``inst`` is the instrument of ``event.symbol``."""
    if isinstance(event, BookDelta):
        return {
            "type": "delta",
            "symbol": event.symbol,
            "venue": event.venue,
            "first_seq": event.first_seq,
            "seq": event.seq,
            "ts": iso_ns(event.ts_ns),
            "bids": levels_json(inst, event.bids),
            "asks": levels_json(inst, event.asks),
        }
    if isinstance(event, Trade):
        return {
            "type": "trade",
            "symbol": event.symbol,
            "venue": event.venue,
            "ts": iso_ns(event.ts_ns),
            "price": inst.price_str(event.price),
            "size": inst.size_str(event.size),
            "side": event.aggressor.value,
            "trade_id": event.trade_id,
        }
    if isinstance(event, BookSnapshot):
        return {
            "type": "snapshot",
            "symbol": event.symbol,
            "venue": event.venue,
            "seq": event.seq,
            "ts": iso_ns(event.ts_ns),
            "bids": levels_json(inst, event.bids),
            "asks": levels_json(inst, event.asks),
        }
    if isinstance(event, FeedStatus):
        return {
            "type": "status",
            "symbol": event.symbol,
            "venue": event.venue,
            "ts": iso_ns(event.ts_ns),
            "state": event.state.value,
            "detail": event.detail,
            "msgs_per_s": round(event.msgs_per_s, 3),
            "last_msg_age_s": round(event.last_msg_age_s, 3),
            "latency_ms": round(event.latency_ms, 3),
            "gaps": event.gaps,
            "resyncs": event.resyncs,
            "checksum_failures": event.checksum_failures,
            "malformed": event.malformed,
        }
    if isinstance(event, Bar):
        return {
            "type": "bar",
            "symbol": event.symbol,
            "timeframe_s": event.timeframe_s,
            "ts": iso_ns(event.start_ns),
            "open": inst.price_str(event.open),
            "high": inst.price_str(event.high),
            "low": inst.price_str(event.low),
            "close": inst.price_str(event.close),
            "volume": inst.size_str(event.volume),
            "trades": event.trades,
        }
    raise TypeError(f"not a market-data event: {event!r}")


def _clock(ts_ns: int) -> str:
    seconds, frac = divmod(ts_ns, _NS)
    return time.strftime("%H:%M:%S", time.gmtime(seconds)) + f".{frac // 1000:06d}"


def _levels_text(inst: Instrument, levels: tuple[Level, ...]) -> str:
    return " ".join(f"{inst.price_str(p)}={inst.size_str(s) if s else '0'}" for p, s in levels)


def event_text(event: Event, inst: Instrument) -> str:
    """One concise human line per event (``desk feed`` without ``--json``)."""
    if isinstance(event, BookDelta):
        parts = [f"{_clock(event.ts_ns)} {event.symbol} delta #{event.seq}"]
        if event.bids:
            parts.append(f"bids {_levels_text(inst, event.bids)}")
        if event.asks:
            parts.append(f"asks {_levels_text(inst, event.asks)}")
        return " ".join(parts)
    if isinstance(event, Trade):
        return (
            f"{_clock(event.ts_ns)} {event.symbol} trade {event.aggressor.value:<4} "
            f"{inst.size_str(event.size)} @ {inst.price_str(event.price)}"
        )
    if isinstance(event, BookSnapshot):
        best_bid = inst.price_str(event.bids[0][0]) if event.bids else "-"
        best_ask = inst.price_str(event.asks[0][0]) if event.asks else "-"
        return (
            f"{_clock(event.ts_ns)} {event.symbol} snapshot #{event.seq}: {len(event.bids)} bids, "
            f"{len(event.asks)} asks, best {best_bid} / {best_ask}"
        )
    if isinstance(event, FeedStatus):
        detail = f" ({event.detail})" if event.detail else ""
        rate = f" {event.msgs_per_s:.1f} msg/s" if event.msgs_per_s else ""
        return f"{_clock(event.ts_ns)} {event.symbol} status {event.state.value}{rate}{detail}"
    if isinstance(event, Bar):
        return (
            f"{_clock(event.start_ns)} {event.symbol} bar {event.timeframe_s}s o {inst.price_str(event.open)} "
            f"h {inst.price_str(event.high)} l {inst.price_str(event.low)} c {inst.price_str(event.close)} "
            f"v {inst.size_str(event.volume)}"
        )
    raise TypeError(f"not a market-data event: {event!r}")
