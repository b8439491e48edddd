"""One place that turns settings into a feed: the simulated market or a supervised venue feed."""

from __future__ import annotations

from collections.abc import Sequence

from desk.config import Settings
from desk.errors import UserError
from desk.feeds.base import Feed


def build_feed(settings: Settings, symbols: Sequence[str] | None = None) -> Feed:
    """A feed for ``symbols`` (default: ``market.symbols``) on ``market.venue``."""
    wanted = list(dict.fromkeys(symbols or settings.market.symbols))
    venue = settings.market.venue
    if venue == "sim":
        from desk.feeds.sim import DEFAULT_SYMBOLS, SimFeed, SimulatedMarket

        known = {spec.instrument.symbol: spec for spec in DEFAULT_SYMBOLS}
        for symbol in wanted:
            if symbol not in known:
                raise UserError(f"unknown symbol {symbol!r}: expected one of {', '.join(known)}")
        market = SimulatedMarket([known[s] for s in wanted], seed=settings.sim.seed, rate=settings.sim.rate)
        return SimFeed(market, speed=settings.sim.speed)
    from desk import locations
    from desk.feeds.venues import create_feed

    endpoints = settings.venues.get(venue)
    return create_feed(venue, wanted, endpoints.ws_url, endpoints.rest_url, cache_dir=locations.cache_dir())
