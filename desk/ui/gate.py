"""When a slow panel redraws: at once when its structural key changes, else at most every ``interval_s``.

The trading panels show values that move with every mark of the market (P&L, exposure, utilisation). Rebuilding
them at the 15 Hz tick would repaint a ``DataTable`` per tick (tens of ms each, references/textual-live-data.md),
so a structural change (a fill, an order event, a new strategy, a VaR report) redraws at once and a moving mark
redraws at most once per interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable


class RedrawGate:
    __slots__ = ("_at", "_key", "clock", "interval_s")

    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self._key: Hashable = object()  # matches nothing: the first call is always due
        self._at = 0.0

    def due(self, key: Hashable) -> bool:
        """Whether to rebuild now; records the key and the time when it is."""
        now = self.clock()
        if key != self._key or now - self._at >= self.interval_s:
            self._key = key
            self._at = now
            return True
        return False

    def reset(self) -> None:
        """Force the next call to be due (a resize, a theme change)."""
        self._key = object()
