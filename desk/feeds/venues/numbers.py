"""Venue decimal strings -> integer ticks/lots, fast and exact.

Why not ``Instrument.price_to_ticks``: it goes through ``Decimal`` (about 1.5 us a call), and a depth message
carries many levels. Venues send fixed-point text (``"0.35130000"``), so the digits with the dot removed are an
exact integer ``value * 10**D``; one ``int()`` and one ``divmod`` by a per-``D`` constant give the grid count.
Anything else (exponents, ``Decimal`` objects, odd forms) falls back to the exact ``Decimal`` path, so the fast
path never changes a result, only its cost.

Each parser also remembers recent texts (bounded, cleared when full): prices near the touch and the removal
size ``"0.00000000"`` repeat constantly on a live stream, and a dict hit costs a tenth of a parse.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from desk.domain.instruments import OffGridError, to_decimal


class GridParser:
    """Parses one instrument's prices (or sizes) onto its grid of ``step``."""

    __slots__ = ("_by_decimals", "_cache", "_step", "_what")

    CACHE_LIMIT = 8192

    def __init__(self, step: Decimal, what: str = "price") -> None:
        if step <= 0:
            raise ValueError(f"{what} step {step} must be positive")
        self._step = step
        self._what = what
        self._by_decimals: dict[int, tuple[int, int]] = {}
        self._cache: dict[str, int] = {}

    def _scale(self, decimals: int) -> tuple[int, int]:
        # ticks = digits / (step * 10**decimals) = digits * q / p with p/q the reduced fraction.
        ratio = Fraction(self._step) * (10**decimals)
        scale = (ratio.denominator, ratio.numerator)
        self._by_decimals[decimals] = scale
        return scale

    def __call__(self, text: str) -> int:
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        dot = text.find(".")
        try:
            if dot < 0:
                decimals = 0
                digits = int(text)
            else:
                decimals = len(text) - dot - 1
                digits = int(text[:dot] + text[dot + 1 :])
        except ValueError:
            return self.exact(text)
        if digits < 0 or text[0] in " +_" or "_" in text:
            return self.exact(text)
        scale = self._by_decimals.get(decimals) or self._scale(decimals)
        count, rem = divmod(digits * scale[0], scale[1])
        if rem:
            raise OffGridError(f"{self._what} {text} is not a multiple of {self._step}")
        cache = self._cache
        if len(cache) >= self.CACHE_LIMIT:
            cache.clear()
        cache[text] = count
        return count

    def exact(self, value: str | Decimal | int) -> int:
        """The slow, always-correct path (also used for JSON numbers decoded as ``Decimal``)."""
        number = to_decimal(value, self._what)
        if number < 0:
            raise ValueError(f"{self._what} {value} is negative")
        count, rem = divmod(number, self._step)
        if rem:
            raise OffGridError(f"{self._what} {value} is not a multiple of {self._step}")
        return int(count)


def parse_rfc3339_ns(text: str) -> int:
    """``2023-02-09T20:32:50.714964855Z`` (any fraction length, ``Z`` or offset) -> ns since the epoch.

    ``datetime`` keeps only microseconds; the fraction is added back as an integer so nanoseconds survive.
    Coinbase's heartbeat form (``2023-06-23 20:31:56.121961769 +0000 UTC m=+...``) is accepted too.
    """
    text = text.strip()
    if " UTC" in text:  # Go's time.String(): "2006-01-02 15:04:05.999999999 -0700 UTC m=+..."
        text = text.split(" +")[0].split(" -")[0].replace(" ", "T") + "Z"
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    frac_ns = 0
    dot = text.find(".")
    if dot >= 0:
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        fraction = text[dot + 1 : end]
        if not fraction:
            raise ValueError(f"timestamp {text!r} has an empty fraction")
        frac_ns = int(fraction[:9].ljust(9, "0"))
        text = text[:dot] + text[end:]
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000 + frac_ns
