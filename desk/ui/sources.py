"""The market the TUI opens on when no feed is injected: the simulated venue, shaped by settings."""

from __future__ import annotations

from desk.config import Settings
from desk.errors import UserError
from desk.feeds.sim import DEFAULT_SYMBOLS, SimFeed, SimulatedMarket


def simulated_market(settings: Settings) -> SimulatedMarket:
    """A seeded ``SimulatedMarket`` for ``settings.market.symbols`` (in that order) at ``settings.sim.rate``."""
    if settings.market.venue != "sim":
        raise UserError(f"market.venue {settings.market.venue!r} has no live feed in the TUI yet; expected sim")
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
