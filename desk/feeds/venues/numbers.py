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
Hot loops may look ``cache`` up themselves and call ``convert`` only on a miss.

On a power-of-ten grid a cache miss first tries binary floating point, which CPython parses in C (David Gay's
correctly rounded ``strtod``) for about half the cost of the string slicing and ``int()`` below. The float path
only ever *accepts*: it returns ``n`` when ``0 < n < 10**15`` and ``n / 10**k == f``, where ``f = float(text)``
and ``n = round(f * 10**k)``, and hands everything else (zero, off-grid, huge, odd texts) to the exact text path,
which decides. Why an accepted ``n`` is exactly the Decimal answer, for any text of at most 16 characters once
its trailing zeros are stripped (``"12345678.00000000"`` -> ``"12345678."``; stripping never removes a significant
digit, and when an exponent follows the mantissa it only shortens the exponent):

1. ``10**k`` is an exact double for ``k <= 22``; ``n < 10**15 < 2**50`` is an exact double, and ``n / 10**k``
   is the correctly rounded quotient, i.e. ``fl(g)`` for the grid value ``g = n * 10**-k``.
2. If the text's value ``t`` is on the grid, ``t = N * 10**-k``: ``f = t(1 + e1)`` and ``f * 10**k`` rounds to
   ``N(1 + e1)(1 + e2)`` with ``|e1|, |e2| <= 2**-53``, so it is within about ``N * 2**-52`` of ``N``: under
   0.25 for ``N < 2**50``, so ``round`` gives ``n == N`` (a larger ``N`` gives ``n >= 10**15``, refused), and
   ``n / 10**k == fl(t) == f``: accepted, exact.
3. If ``t`` is off the grid, accepting would need ``fl(t) == fl(g)`` with ``t != g``. ``g`` has at most 15
   significant digits (``n < 10**15``). A (stripped) text of at most 16 characters has at most 15 digits, hence
   at most 15 significant digits, unless it is 16 plain digits: then the whole text is digits, an integer, on
   every ``10**-k`` grid (case 2).
   Two different decimals of at most 15 significant digits never round to the same double (15 = DBL_DIG: every
   such decimal survives decimal -> double -> decimal), and ``g >= 10**-22`` keeps this in the normal range.
   So an off-grid text is never accepted: the exact path sees it and raises ``OffGridError``.
4. ``0`` is not accepted because ``"1e-400"`` also parses to ``0.0`` (underflow); ``nan``/``inf`` make ``round``
   raise and go to the exact path too. Python's ``float()`` accepts a subset of what ``Decimal()`` accepts
   (both take underscores, surrounding whitespace and Unicode digits), with the same value.

Longer texts (``"12345678.12345678"``) and other grids (``0.25``, ``5``) keep the integer text path.
tests/unit/test_venue_numbers.py checks both paths against ``Decimal`` with hypothesis.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, DecimalException, DivisionByZero, Inexact, InvalidOperation
from fractions import Fraction
from typing import Any

import msgspec

from desk import native
from desk.domain.events import BookDelta, Level
from desk.domain.instruments import OffGridError, to_decimal

_POW10: tuple[int, ...] = tuple(10**i for i in range(64))
_CACHE_LIMIT = 8192
_FLOAT_MAX_DECIMALS = 22  # 10.0**22 is the largest exact power of ten in a double
_FLOAT_LIMIT = 10**15  # counts below this have at most 15 digits (DBL_DIG) and stay below 2**50
_FLOAT_MAX_CHARS = 16  # at most 15 digits, or 16 plain digits (an integer); see the module docstring
MAX_COUNT = 10**28  # ticks/lots from here up are refused as out of range (Decimal's default 28-digit quotient)
# Exact Decimal arithmetic: any rounding raises, and the exponent range is the widest there is, so a remainder
# like 1E-999999999 stays itself instead of underflowing to 0 (which would accept it as on the grid).
_EXACT = Context(prec=28, Emin=MIN_EMIN, Emax=MAX_EMAX, traps=[InvalidOperation, DivisionByZero, Inexact])


def _power_of_ten_decimals(step: Decimal) -> int | None:
    """``k`` when ``step == 10**-k`` (k >= 0), else None."""
    sign, digits, exponent = step.normalize().as_tuple()
    if sign or digits != (1,) or not isinstance(exponent, int) or exponent > 0 or -exponent >= len(_POW10):
        return None
    return -exponent


class GridParser:
    """Parses one instrument's prices (or sizes) onto its grid of ``step``."""

    __slots__ = ("_by_decimals", "_decimals", "_fscale", "_step", "_what", "cache")

    CACHE_LIMIT = _CACHE_LIMIT

    def __init__(self, step: Decimal, what: str = "price") -> None:
        if step <= 0:
            raise ValueError(f"{what} step {step} must be positive")
        self._step = step
        self._what = what
        self._decimals = _power_of_ten_decimals(step)
        k = self._decimals
        # 0.0 switches the float path off (grids that are not 10**-k, or too fine for an exact 10.0**k)
        self._fscale = float(_POW10[k]) if k is not None and k <= _FLOAT_MAX_DECIMALS else 0.0
        self._by_decimals: dict[int, tuple[int, int]] = {}
        self.cache: dict[str, int] = {}

    @property
    def decimals(self) -> int | None:
        """``k`` when the grid step is ``10**-k`` (the compiled level parser handles only those grids)."""
        return self._decimals

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
        return self.convert(text)

    def convert(self, text: str) -> int:
        """``parse`` for a text the caller just missed in ``cache`` (no second lookup); remembers the result."""
        scale = self._fscale
        if scale and (len(text) <= _FLOAT_MAX_CHARS or len(text.rstrip("0")) <= _FLOAT_MAX_CHARS):
            try:
                value = float(text)
                count = round(value * scale)
            except (ValueError, OverflowError):  # not a float literal, nan, inf: the exact path decides
                count = 0
            if 0 < count < _FLOAT_LIMIT and count / scale == value:
                cache = self.cache
                if len(cache) >= self.CACHE_LIMIT:
                    cache.clear()
                cache[text] = count
                return count
        return self._parse_text(text)

    def _parse_text(self, text: str) -> int:
        """The integer path: digits with the dot removed, scaled by a power of ten (or a reduced fraction)."""
        whole, _, frac = text.partition(".")
        try:
            digits = int(whole + frac)
        except ValueError:
            return self.exact(text)
        # int() is lenient: signs, underscores and surrounding whitespace. A sign or space before the digits
        # cannot change the value; a minus, an underscore, trailing whitespace or a sign/space right after the dot
        # (".-0", ". 5": not numbers) could, so those texts take the Decimal path.
        if digits < 0 or "_" in text or text[-1] not in "0123456789" or (frac and frac[0] not in "0123456789"):
            return self.exact(text)
        k = self._decimals
        n = len(frac)
        if k is not None:
            if n <= k:
                count, rem = digits * _POW10[k - n], 0
            else:
                count, rem = divmod(digits, _POW10[n - k])
        else:
            ratio = self._by_decimals.get(n) or self._scale(n)
            count, rem = divmod(digits * ratio[0], ratio[1])
        if count >= MAX_COUNT:
            raise ValueError(f"{self._what} {text} is out of range")
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
        try:
            count, rem = _EXACT.divmod(number, self._step)
        except DecimalException as exc:  # the quotient needs more than 28 digits
            raise ValueError(f"{self._what} {value} is out of range") from exc
        if rem:
            raise OffGridError(f"{self._what} {value} is not a multiple of {self._step}")
        return int(count)


def parse_levels(pairs: Iterable[Sequence[str]], prices: GridParser, sizes: GridParser) -> tuple[Level, ...]:
    """``[[price, size], ...]`` texts (one side of a Binance depth diff or REST snapshot) -> integer levels.

    The same answers as ``prices.parse``/``sizes.parse`` level by level, without a Python call per text: the cache
    lookups and the size float path (module docstring) are inlined, and only texts it declines (and price misses,
    rare near the touch) go through ``convert``. A depth diff carries a few levels, so calls are what cost."""
    pcache = prices.cache
    scache = sizes.cache
    scale = sizes._fscale
    out = []
    for p, q in pairs:
        ticks = pcache.get(p)
        if ticks is None:
            ticks = prices.convert(p)
        lots = scache.get(q)
        if lots is None:
            if scale and (len(q) <= _FLOAT_MAX_CHARS or len(q.rstrip("0")) <= _FLOAT_MAX_CHARS):
                try:
                    value = float(q)
                    lots = round(value * scale)
                except (ValueError, OverflowError):
                    lots = 0
                if 0 < lots < _FLOAT_LIMIT and lots / scale == value:  # GridParser.convert, inlined
                    if len(scache) >= _CACHE_LIMIT:
                        scache.clear()
                    scache[q] = lots
                else:
                    lots = sizes.convert(q)
            else:
                lots = sizes.convert(q)
        out.append((ticks, lots))
    return tuple(out)


_decode_pairs = msgspec.json.Decoder(list[tuple[str, str]]).decode


class RawLevelParser:
    """Both sides of a depth message, as JSON texts of ``[[price, size], ...]`` (``msgspec.Raw`` fields of a typed
    frame) -> integer levels.

    The compiled parser (``desk.native.parse_depth``) reads the texts straight into integers, with no ``str`` per
    number. Whatever it declines (odd texts, off-grid values, grids that are not ``10**-k``) goes to ``slow``,
    which decodes the pairs and runs ``parse_levels``: the same answers, or the precise error. Both raise
    ``msgspec.MsgspecError`` when a text is not a list of string pairs."""

    __slots__ = ("fast", "price_decimals", "prices", "size_decimals", "sizes")

    def __init__(self, prices: GridParser, sizes: GridParser) -> None:
        self.prices = prices
        self.sizes = sizes
        self.price_decimals = prices.decimals or 0
        self.size_decimals = sizes.decimals or 0
        usable = prices.decimals is not None and sizes.decimals is not None
        # the compiled parser, or None: then every message takes the Python path
        self.fast: native.ParseDepth | None = native.parse_depth if usable else None

    def __call__(self, raw_bids: Any, raw_asks: Any) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        fast = self.fast
        parsed = None if fast is None else fast(raw_bids, raw_asks, self.price_decimals, self.size_decimals)
        return self.slow(raw_bids, raw_asks) if parsed is None else parsed

    def slow(self, raw_bids: Any, raw_asks: Any) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        return self.side(raw_bids), self.side(raw_asks)

    def slow_delta(  # the Python path end to end: what the compiled DepthStep hands back, and its specification
        self,
        delta_type: type[BookDelta],
        symbol: str,
        venue: str,
        first_seq: int,
        seq: int,
        ts_ns: int,
        raw_bids: Any,
        raw_asks: Any,
    ) -> BookDelta:
        return delta_type(symbol, venue, first_seq, seq, ts_ns, self.side(raw_bids), self.side(raw_asks))

    def side(self, raw: Any) -> tuple[Level, ...]:
        """One side through the Python path."""
        return parse_levels(_decode_pairs(raw), self.prices, self.sizes)


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
