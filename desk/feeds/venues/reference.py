"""Instrument metadata (tick, lot, min notional, precisions) from each venue's REST reference endpoint.

Fetched once per process and cached in memory, and on disk as JSON under a directory the caller passes (the
CLI passes the user cache dir; tests a tmp_path), valid for ``ttl_s``. Start-up then costs no request on most
runs, and the venue's request budget goes to snapshots.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from desk.domain.instruments import Instrument
from desk.errors import RuntimeFailure, UserError
from desk.feeds.venues.base import VenueAdapter, VenueInstrument
from desk.feeds.venues.rest import RestError, get_json_sync

DAY_S = 86_400.0

_memory: dict[tuple[str, str, str], VenueInstrument] = {}


def _to_json(vi: VenueInstrument, fetched: float) -> dict[str, Any]:
    inst = vi.instrument
    return {
        "tick_size": str(inst.tick_size),
        "lot_size": str(inst.lot_size),
        "min_notional": str(inst.min_notional),
        "venue_symbol": inst.venue_symbol,
        "price_precision": vi.price_precision,
        "qty_precision": vi.qty_precision,
        "fetched": fetched,
    }


def _from_json(symbol: str, row: dict[str, Any]) -> VenueInstrument:
    inst = Instrument(
        symbol,
        Decimal(row["tick_size"]),
        Decimal(row["lot_size"]),
        Decimal(row["min_notional"]),
        venue_symbol=row["venue_symbol"],
    )
    return VenueInstrument(inst, int(row["price_precision"]), int(row["qty_precision"]))


def _disk_path(cache_dir: Path, venue: str) -> Path:
    return cache_dir / f"instruments-{venue}.json"


def _read_disk(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_instruments(
    adapter_cls: type[VenueAdapter],
    symbols: Sequence[str],
    rest_url: str | None = None,
    *,
    cache_dir: Path | None = None,
    ttl_s: float = DAY_S,
    transport: httpx.BaseTransport | None = None,
    now: float | None = None,
) -> dict[str, VenueInstrument]:
    """Instruments for ``symbols`` (desk symbols) on one venue; UserError for an unknown symbol."""
    venue = adapter_cls.venue
    base = (rest_url or adapter_cls.default_rest_url).rstrip("/")
    clock = time.time() if now is None else now
    wanted = [s.upper() for s in symbols]
    for s in wanted:
        adapter_cls.venue_symbol(s)  # validates the BASE-QUOTE shape first: a bad symbol costs no request
    out: dict[str, VenueInstrument] = {}
    disk = _read_disk(_disk_path(cache_dir, venue)) if cache_dir is not None else {}
    missing: list[str] = []
    for s in wanted:
        key = (venue, base, s)
        if key in _memory:
            out[s] = _memory[key]
            continue
        row = disk.get(f"{base} {s}")
        if row is not None and clock - float(row.get("fetched", 0)) < ttl_s:
            try:
                out[s] = _memory[key] = _from_json(s, row)
                continue
            except (KeyError, ValueError, ArithmeticError):
                pass  # a damaged cache row is refetched
        missing.append(s)
    if missing:
        responses = []
        for path, params in adapter_cls.reference_requests(missing):
            try:
                responses.append(get_json_sync(f"{base}{path}", params or None, transport=transport))
            except RestError as exc:
                text = str(exc)
                if " HTTP 400 " in text or " HTTP 404 " in text:
                    responses.append({})  # the venue does not know the symbol: parse_reference names it
                    continue
                raise RuntimeFailure(f"{venue} reference data: {exc}") from exc
        fetched = adapter_cls.parse_reference(missing, responses)
        for s in missing:
            vi = fetched.get(s)
            if vi is None:
                raise UserError(f"symbol {s!r} is not listed on {venue}")
            out[s] = _memory[(venue, base, s)] = vi
            disk[f"{base} {s}"] = _to_json(vi, clock)
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            target = _disk_path(cache_dir, venue)
            tmp = target.with_suffix(".tmp")
            tmp.write_text(json.dumps(disk, indent=1, sort_keys=True))
            tmp.replace(target)
    return out


def clear_memory_cache() -> None:
    _memory.clear()
