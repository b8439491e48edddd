"""The optional compiled hot path (``desk/_native.c``), or ``None`` for each function when it is absent.

Why optional: desk must install and run anywhere Python does, and the C module only speeds up what the
pure-Python code already does exactly (venue depth text -> integer levels, the book's level loop). It is built by
``hatch_build.py`` when a C compiler is present. ``DESK_NO_NATIVE=1`` (read at import) selects the Python path,
which the tests use to run both implementations.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from desk.domain.events import BookDelta, Level

DISABLE_ENV = "DESK_NO_NATIVE"

ParseLevels = Callable[[Any, int, int], "tuple[Level, ...] | None"]
ParseDepth = Callable[[Any, Any, int, int], "tuple[tuple[Level, ...], tuple[Level, ...]] | None"]
DepthDelta = Callable[[type[BookDelta], str, str, int, int, int, Any, Any, int, int], "BookDelta | None"]
ApplyLevels = Callable[[dict[int, int], list[int], Sequence[Level], bool], None]
ApplySides = Callable[[dict[int, int], list[int], Sequence[Level], dict[int, int], list[int], Sequence[Level]], int]

parse_levels: ParseLevels | None = None
parse_depth: ParseDepth | None = None
depth_delta: DepthDelta | None = None
DepthStep: Any = None  # the compiled desk.feeds.venues.depth_step.DepthStep (a class), or None
apply_levels: ApplyLevels | None = None
apply_sides: ApplySides | None = None

if os.environ.get(DISABLE_ENV, "") in ("", "0"):
    try:
        from desk import _native
    except ImportError:  # not built (no compiler at install time): the pure-Python path runs
        pass
    else:
        parse_levels = _native.parse_levels
        parse_depth = _native.parse_depth
        depth_delta = _native.depth_delta
        DepthStep = getattr(_native, "DepthStep", None)
        apply_levels = _native.apply_levels
        apply_sides = _native.apply_sides


def available() -> bool:
    """True when the compiled module is loaded (``desk config show``-style diagnostics and tests use it)."""
    return parse_levels is not None
