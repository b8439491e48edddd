"""Typed settings. (Layering, validation and `desk config show|check` are being built on top of this.)

Access is by attribute: ``settings.sim.seed``. Each section is a frozen dataclass; add a section by adding a
dataclass here and a field on ``Settings`` (and documenting every key in config/default.toml).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class MarketSettings:
    venue: str = "sim"
    symbols: tuple[str, ...] = ("BTC-USD", "ETH-USD", "SOL-USD")


@dataclass(frozen=True, slots=True)
class SimSettings:
    seed: int = 7
    rate: float = 400.0  # messages per simulated second, all symbols together
    speed: float = 1.0  # simulated seconds per wall-clock second


@dataclass(frozen=True, slots=True)
class UISettings:
    theme: str = "desk-dark"
    refresh_hz: float = 15.0
    depth_levels: int = 20
    tape_size: int = 200


@dataclass(frozen=True, slots=True)
class Settings:
    market: MarketSettings = field(default_factory=MarketSettings)
    sim: SimSettings = field(default_factory=SimSettings)
    ui: UISettings = field(default_factory=UISettings)


def load_settings(config_file: Path | None = None, profile: str | None = None) -> Settings:
    """Effective settings (defaults only until layering lands)."""
    return Settings()
