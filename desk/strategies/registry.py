"""Where strategies come from: built-ins, the ``desk.strategies`` entry-point group, and ``module:Class`` paths."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from desk.errors import UserError
from desk.strategies.base import Strategy

BUILTINS: dict[str, str] = {
    "mean_reversion": "desk.strategies.mean_reversion:MeanReversion",
    "ma_crossover": "desk.strategies.ma_crossover:MACrossover",
    "rsi_reversion": "desk.strategies.rsi_reversion:RSIReversion",
    "bollinger_squeeze": "desk.strategies.bollinger_squeeze:BollingerSqueeze",
    "market_maker": "desk.strategies.market_maker:MarketMaker",
    "chan_divergence": "desk.strategies.chan_divergence:ChanDivergence",
}

ENTRY_POINT_GROUP = "desk.strategies"


def _load_path(path: str) -> type[Strategy]:
    module_name, _, attr = path.partition(":")
    if not attr:
        raise UserError(f"strategy {path!r}: expected a built-in name or module:Class")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"strategy {path!r}: cannot import module {module_name!r} ({exc})") from None
    cls = getattr(module, attr, None)
    if not isinstance(cls, type) or not issubclass(cls, Strategy):
        raise UserError(f"strategy {path!r}: {attr} is not a desk Strategy subclass")
    return cls


def available() -> dict[str, str]:
    """Name -> import path for every strategy desk can find."""
    found = dict(BUILTINS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


def load(name: str) -> type[Strategy]:
    if ":" in name:
        return _load_path(name)
    known = available()
    if name not in known:
        raise UserError(f"unknown strategy {name!r}: expected one of {', '.join(sorted(known))} or module:Class")
    return _load_path(known[name])
