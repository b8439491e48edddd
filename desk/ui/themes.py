"""desk's colour palettes and where its stylesheets live.

Palettes are Textual ``Theme`` objects, so stylesheets in ``themes/`` only name ``$variables`` and every theme
(ours or Textual's built-ins, switchable from the command palette) colours the whole screen. Bids and asks use
``$success`` and ``$error``: the palettes below pick those two to read well as bid/ask on their background.
"""

from __future__ import annotations

from pathlib import Path

from textual.theme import Theme

DESK_DARK = Theme(
    name="desk-dark",
    primary="#4C9BE8",
    secondary="#7A8CA8",
    accent="#E8B04C",
    foreground="#D7DCE2",
    background="#0E1116",
    surface="#161B22",
    panel="#1F2630",
    success="#3FB68B",
    warning="#E0A43A",
    error="#E5534B",
    dark=True,
    variables={"footer-key-foreground": "#4C9BE8"},
)

DESK_LIGHT = Theme(
    name="desk-light",
    primary="#1F5FA8",
    secondary="#56657A",
    accent="#A86A00",
    foreground="#1B1F24",
    background="#F7F8FA",
    surface="#ECEFF3",
    panel="#DCE1E8",
    success="#1A7F4E",
    warning="#9A6400",
    error="#C62E2E",
    dark=False,
    variables={"footer-key-foreground": "#1F5FA8"},
)

DESK_THEMES: tuple[Theme, ...] = (DESK_DARK, DESK_LIGHT)

STYLESHEET = "desk.tcss"


def themes_dir() -> Path:
    """``desk/_data/themes`` in a wheel, ``<repo>/themes`` in a checkout (via ``desk.locations`` when present)."""
    try:
        from desk import locations
    except ImportError:  # pragma: no cover - locations is part of the package; this guards partial checkouts
        package = Path(__file__).resolve().parent.parent
        installed = package / "_data" / "themes"
        return installed if installed.is_dir() else package.parent / "themes"
    return locations.themes_dir()


def stylesheet_path() -> Path:
    return themes_dir() / STYLESHEET
