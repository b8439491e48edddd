"""Venue adapters and their registry.

Built-in venues are ``binance``, ``coinbase`` and ``kraken``. Other packages add venues through the
``desk.venues`` entry-point group: ``name = "package.module:AdapterClass"`` where the class subclasses
``desk.feeds.venues.base.VenueAdapter``. ``create_feed`` is what the CLI and the app call.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desk.errors import UserError

if TYPE_CHECKING:
    from desk.feeds.supervisor import SupervisedFeed, SupervisorConfig
    from desk.feeds.venues.base import VenueAdapter

ENTRY_POINT_GROUP = "desk.venues"

BUILTIN: dict[str, str] = {
    "binance": "desk.feeds.venues.binance:BinanceAdapter",
    "coinbase": "desk.feeds.venues.coinbase:CoinbaseAdapter",
    "kraken": "desk.feeds.venues.kraken:KrakenAdapter",
}


def available_venues() -> dict[str, str]:
    """Venue name -> ``module:Class``; entry points may add venues but not replace built-ins."""
    found = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


def adapter_class(venue: str) -> type[VenueAdapter]:
    from desk.feeds.venues.base import VenueAdapter

    venues = available_venues()
    target = venues.get(venue.lower())
    if target is None:
        names = ", ".join(sorted(venues))
        raise UserError(f"unknown venue {venue!r}: expected one of {names} (or sim)")
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, VenueAdapter)):
        raise UserError(f"venue {venue!r}: {target} is not a VenueAdapter subclass")
    return cls


def create_feed(
    venue: str,
    symbols: Sequence[str],
    ws_url: str | None = None,
    rest_url: str | None = None,
    *,
    cache_dir: Path | None = None,
    config: SupervisorConfig | None = None,
    trades: bool = True,
    **venue_options: Any,
) -> SupervisedFeed:
    """A supervised live feed for ``symbols`` (desk symbols, e.g. BTC-USD) on ``venue``.

    Loads instrument metadata first (cache, else the venue's REST reference endpoint), so ``feed.instruments``
    is ready for the engine before ``await feed.run(sink)``. Raises ``UserError`` for an unknown venue or
    symbol, ``RuntimeFailure`` when the reference endpoint cannot be reached. ``venue_options`` go to the
    adapter (e.g. ``depth=100`` for kraken, ``snapshot_limit=5000`` for binance).
    """
    from desk.feeds.supervisor import SupervisedFeed
    from desk.feeds.venues.reference import load_instruments

    if not symbols:
        raise UserError("no symbols given: expected at least one, e.g. BTC-USD")
    cls = adapter_class(venue)
    instruments = load_instruments(cls, symbols, rest_url, cache_dir=cache_dir)
    try:
        adapter = cls(instruments, ws_url=ws_url, rest_url=rest_url, trades=trades, **venue_options)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{venue}: {exc}") from exc
    return SupervisedFeed(adapter, config)


__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "adapter_class", "available_venues", "create_feed"]
