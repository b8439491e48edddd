"""Venue decimal strings -> integer ticks/lots, fast and exact.

Why not ``Instrument.price_to_ticks``: it goes through ``Decimal`` (about 1.5 us a call), and a depth message
carries many levels. Venues send fixed-point text (``"0.35130000"``), so the digits with the dot removed are an
exact integer ``value * 10**D``. When the grid step is a power of ten, ``10**-k`` (almost every venue grid), the
count is those digits scaled by a power of ten: ``"0.5"`` on a 0.01 grid is ``5 * 10``, ``"16324.00000000"``
is ``divmod(1632400000000, 10**6)`` with a zero remainder (a non-zero one means off the grid). Other steps (0.25,
5) take one ``divmod`` by a per-``D`` constant. Texts whose digits could be misread (minus signs, underscores,
exponents, trailing spaces) fall back to the exact ``Decimal`` path, so the fast paths never change a result,
only its cost (tests/unit/test_venue_numbers.py checks them against ``Decimal``).

Each parser also remembers recent texts in ``cache`` (bounded, cleared when full): prices near the touch and
the removal size ``"0.00000000"`` repeat constantly on a live stream, and a dict hit costs a tenth of a parse.
Hot loops may look ``cache`` up themselves and call the parser only on a miss.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from desk.domain.instruments import OffGridError, to_decimal

_POW10: tuple[int, ...] = tuple(10**i for i in range(64))


def _power_of_ten_decimals(step: Decimal) -> int | None:
    """``k`` when ``step == 10**-k`` (k >= 0), else None."""
    sign, digits, exponent = step.normalize().as_tuple()
    if sign or digits != (1,) or not isinstance(exponent, int) or exponent > 0 or -exponent >= len(_POW10):
        return None
    return -exponent


class GridParser:
    """Parses one instrument's prices (or sizes) onto its grid of ``step``."""

    __slots__ = ("_by_decimals", "_decimals", "_step", "_what", "cache")

    CACHE_LIMIT = 8192

    def __init__(self, step: Decimal, what: str = "price") -> None:
        if step <= 0:
            raise ValueError(f"{what} step {step} must be positive")
        self._step = step
        self._what = what
        self._decimals = _power_of_ten_decimals(step)
        self._by_decimals: dict[int, tuple[int, int]] = {}
        self.cache: dict[str, int] = {}

    def _scale(self, decimals: int) -> tuple[int, int]:
        # ticks = digits / (step * 10**decimals) = digits * q / p with p/q the reduced fraction.
        ratio = Fraction(self._step) * (10**decimals)
        scale = (ratio.denominator, ratio.numerator)
        self._by_decimals[decimals] = scale
        return scale

    def __call__(self, text: str) -> int:
        return self.parse(text)

    def parse(self, text: str) -> int:
        """``parser.parse`` is the same as ``parser(text)``; as a bound method it is cheaper to call in hot loops
        (an instance ``__call__`` goes through a slower type-slot dispatch)."""
        hit = self.cache.get(text)
        if hit is not None:
            return hit
        whole, _, frac = text.partition(".")
        try:
            digits = int(whole + frac)
        except ValueError:
            return self.exact(text)
        # int() is lenient: signs, underscores and surrounding whitespace. A sign or space before the digits
        # cannot change the value; a minus, an underscore or trailing whitespace could (the decimals would be
        # miscounted), so those texts take the Decimal path.
        if digits < 0 or "_" in text or text[-1] not in "0123456789":
            return self.exact(text)
        k = self._decimals
        n = len(frac)
        if k is not None:
            if n <= k:
                count = digits * _POW10[k - n]
            else:
                count, rem = divmod(digits, _POW10[n - k])
                if rem:
                    raise OffGridError(f"{self._what} {text} is not a multiple of {self._step}")
        else:
            scale = self._by_decimals.get(n) or self._scale(n)
            count, rem = divmod(digits * scale[0], scale[1])
            if rem:
                raise OffGridError(f"{self._what} {text} is not a multiple of {self._step}")
        cache = self.cache
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
