"""Bare ``desk``: open the TUI on the configured market. Imported only when the TUI is launched."""

from __future__ import annotations

from pathlib import Path

from desk.config import load_settings


def launch_tui(config: Path | None, profile: str | None) -> None:
    from desk.ui.app import build_app
    from desk.ui.sources import market_feed

    settings = load_settings(config_file=config, profile=profile)
    app = build_app(settings, feed=market_feed(settings))
    app.run()
