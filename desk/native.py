"""The optional compiled hot path (``desk/_native.c``), or ``None`` for each function when it is absent.

Why optional: desk must install and run anywhere Python does, and the C module only speeds up what the
pure-Python code already does exactly (venue depth text -> integer levels, the book's level loops, Binance's
per-frame depth step). It is built by ``hatch_build.py`` when a C compiler is present. ``DESK_NO_NATIVE=1`` (read
at import) selects the Python path everywhere, e.g. to compare the two or to rule the compiled code out.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from desk.domain.events import Level

DISABLE_ENV = "DESK_NO_NATIVE"

ParseDepth = Callable[[Any, Any, int, int], "tuple[tuple[Level, ...], tuple[Level, ...]] | None"]
ApplySides = Callable[[dict[int, int], list[int], Sequence[Level], dict[int, int], list[int], Sequence[Level]], int]

parse_depth: ParseDepth | None = None
DepthStep: Any = None  # the compiled desk.feeds.venues.depth_step.DepthStep (a class), or None
apply_sides: ApplySides | None = None

if os.environ.get(DISABLE_ENV, "") in ("", "0"):
    try:
        from desk import _native
    except ImportError:  # not built (no compiler at install time): the pure-Python path runs
        pass
    else:
        parse_depth = _native.parse_depth
        DepthStep = _native.DepthStep
        apply_sides = _native.apply_sides


def available() -> bool:
    """True when the compiled module is loaded."""
    return parse_depth is not None
