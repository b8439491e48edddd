"""The desk's screen, layout containers and footer: Textual's, made cheap to compose at 15 Hz.

The compositor re-renders every widget whose area a frame touches, and the ladder and status bar touch every row,
so every widget behind the panels was rendered and cut into the screen on every frame only to paint the screen's
background again (about half of the compositor's work, benchmarks/bench_ui.py).

- ``Row`` and ``Column`` draw nothing of their own; the desk's stylesheet hides them and shows their children
  (``visibility``), which keeps them out of the compositor altogether. Their gaps show the screen beneath, the
  same colour they painted.
- The screen and the footer do paint (the background behind everything, the footer's bar): they paint it as one
  cached blank strip, what Textual's own ``BLANK`` switch does, made exact: a border, padding, tint, opacity or
  the like, a translucent screen, or a colour filter the app applies (``NO_COLOR``, dimming) goes through
  Textual's path as before.
"""

from __future__ import annotations

from textual.containers import Horizontal, Vertical
from textual.filter import ANSIToTruecolor
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Footer

from desk.ui.widgets.lines import paints_plain


def blank_lines(widget: Widget, crop: Region) -> list[Strip] | None:
    """``widget``'s background over ``crop`` as Textual would paint it, or None when a style or filter means the
    widget must go through Textual's path (see the module doc)."""
    if not paints_plain(widget):
        return None
    # The true-colour filter only converts ANSI colours, which the desk's themes do not use (see LineWidget).
    if any(not isinstance(f, ANSIToTruecolor) for f in widget.app.get_line_filters()):
        return None
    return [Strip.blank(crop.width, widget.visual_style.rich_style)] * crop.height


class Row(Horizontal):
    """``Horizontal`` for the desk's layout: no background, border or content (hidden by themes/desk.tcss)."""


class Column(Vertical):
    """``Vertical`` for the desk's layout: no background, border or content (hidden by themes/desk.tcss)."""


class DeskFooter(Footer):
    """``Footer``: its keys are child widgets; the footer itself only paints the background behind them."""

    def render_lines(self, crop: Region) -> list[Strip]:
        return blank_lines(self, crop) or super().render_lines(crop)


class DeskScreen(Screen[None]):
    """The desk's main screen. An opaque screen paints only its background behind the panels; a translucent one
    shows the screen beneath it, which Textual's path draws."""

    def render_lines(self, crop: Region) -> list[Strip]:
        if self.styles.background.a < 1.0:
            return super().render_lines(crop)
        return blank_lines(self, crop) or super().render_lines(crop)
