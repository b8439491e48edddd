"""The market the TUI opens on when no feed is injected: ``market.venue`` from settings, the simulated venue
or a live one (``desk --profile live`` with ``market.venue = "binance"`` opens on Binance)."""

from __future__ import annotations

from desk.config import Settings
from desk.errors import UserError
from desk.feeds.base import Feed
from desk.feeds.sim import DEFAULT_SYMBOLS, SimFeed, SimulatedMarket


def market_feed(settings: Settings) -> Feed:
    """The feed for ``market.venue`` and ``market.symbols``: ``simulated_feed`` for sim (with the TUI's checks),
    else a supervised venue feed from ``desk.feeds.factory.build_feed`` (instrument metadata is loaded here, so an
    unknown symbol fails before the screen opens)."""
    if settings.market.venue == "sim":
        return simulated_feed(settings)
    from desk.feeds.factory import build_feed

    return build_feed(settings, settings.market.symbols)


def simulated_market(settings: Settings) -> SimulatedMarket:
    """A seeded ``SimulatedMarket`` for ``settings.market.symbols`` (in that order) at ``settings.sim.rate``."""
    if settings.market.venue != "sim":
        raise UserError(f"market.venue {settings.market.venue!r} is not the simulated market; expected sim")
    known = {spec.instrument.symbol: spec for spec in DEFAULT_SYMBOLS}
    if not settings.market.symbols:
        raise UserError(f"market.symbols is empty; expected some of {', '.join(known)}")
    for symbol in settings.market.symbols:
        if symbol not in known:
            raise UserError(f"symbol {symbol!r} is not in the simulated market; expected one of {', '.join(known)}")
    if settings.sim.rate <= 0:
        raise UserError(f"sim.rate {settings.sim.rate} must be > 0 messages per second")
    specs = [known[symbol] for symbol in dict.fromkeys(settings.market.symbols)]
    return SimulatedMarket(specs, seed=settings.sim.seed, rate=settings.sim.rate)


def simulated_feed(settings: Settings) -> SimFeed:
    if settings.sim.speed <= 0:
        raise UserError(f"sim.speed {settings.sim.speed} must be > 0 simulated seconds per second")
    return SimFeed(simulated_market(settings), speed=settings.sim.speed)
