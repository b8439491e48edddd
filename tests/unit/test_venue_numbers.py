"""GridParser (venue decimal text -> integer ticks/lots) against Decimal arithmetic, the independent reference."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.domain.events import Level
from desk.domain.instruments import OffGridError
from desk.feeds.venues.numbers import MAX_COUNT, GridParser, parse_levels

STEPS = ["1", "10", "0.1", "0.01", "0.00001", "0.00000001", "0.25", "5", "0.005", "1E-12"]


def reference(text: str, step: Decimal) -> int | None:
    """Ticks by Decimal division, or None when the value is negative or off the grid."""
    value = Decimal(text)
    count, rem = divmod(value, step)
    return None if rem or value < 0 else int(count)


def fixed_point(whole: int, frac: str) -> str:
    return f"{whole}.{frac}" if frac else str(whole)


@settings(max_examples=400, deadline=None)
@given(
    step=st.sampled_from(STEPS),
    whole=st.integers(0, 10**12),
    frac=st.text("0123456789", max_size=14),
)
def test_fixed_point_text_matches_decimal(step: str, whole: int, frac: str) -> None:
    text = fixed_point(whole, frac)
    parser = GridParser(Decimal(step), "size")
    want = reference(text, Decimal(step))
    for _ in range(2):  # the second call is served from the cache
        if want is None:
            with pytest.raises(OffGridError):
                parser(text)
        else:
            got = parser(text)
            assert got == want and type(got) is int


@pytest.mark.parametrize(
    ("step", "text", "ticks"),
    [
        ("0.01", "16324.00000000", 1632400),  # extra zero decimals are dropped
        ("0.01", "0.5", 50),  # fewer decimals are padded
        ("0.00000001", "0.00000000", 0),
        ("1", "42", 42),
        ("0.25", "1.75", 7),
        ("5", "35.000", 7),
        ("0.01", "1.", 100),  # odd forms go through Decimal and still parse
        ("0.01", ".5", 50),
        ("0.01", "1e2", 10000),
        ("0.01", "+1.25", 125),
    ],
)
def test_hand_computed(step: str, text: str, ticks: int) -> None:
    assert GridParser(Decimal(step))(text) == ticks


@pytest.mark.parametrize(
    ("step", "text", "error"),
    [
        ("0.01", "1.001", OffGridError),
        ("0.01", "1.00000001", OffGridError),
        ("0.25", "0.3", OffGridError),
        ("5", "7", OffGridError),
        ("0.01", "-1.00", ValueError),
        ("0.01", "abc", ValueError),
        ("0.01", "", ValueError),
        ("0.01", "1.2.3", ValueError),
        ("0.01", "NaN", ValueError),
    ],
)
def test_rejects(step: str, text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        GridParser(Decimal(step))(text)


def test_cache_is_bounded() -> None:
    parser = GridParser(Decimal("0.01"))
    for i in range(GridParser.CACHE_LIMIT + 10):
        assert parser(f"{i}.00") == i * 100
    assert len(parser.cache) <= GridParser.CACHE_LIMIT


# --- the float fast path (power-of-ten grids, texts of at most 16 characters) ---------------------------------


class TextPathSpy(GridParser):
    """Records every text the float path handed on to the integer text path."""

    __slots__ = ("deferred",)

    def __init__(self, step: Decimal, what: str = "price") -> None:
        super().__init__(step, what)
        self.deferred: list[str] = []

    def _parse_text(self, text: str) -> int:
        self.deferred.append(text)
        return super()._parse_text(text)


def outcome(text: str, step: Decimal) -> int | type[Exception]:
    """The independent reference for any text: ticks, OffGridError, or ValueError for anything not a number."""
    try:
        value = Decimal(text)
    except ArithmeticError:
        return ValueError
    if not value.is_finite() or value < 0:
        return ValueError
    if value == 0:
        return 0
    if value.adjusted() > 40:  # far beyond MAX_COUNT ticks on every step tested
        return ValueError
    if value.adjusted() < -40:  # non-zero and far finer than every step tested
        return OffGridError
    ticks = Fraction(value) / Fraction(step)
    if ticks >= MAX_COUNT:
        return ValueError
    return OffGridError if ticks.denominator != 1 else int(ticks)


def parsed(parser: GridParser, text: str) -> int | type[Exception]:
    try:
        return parser(text)
    except OffGridError:
        return OffGridError
    except ValueError:
        return ValueError


def on_grid_text(count: int, k: int, pad: int) -> str:
    """``count * 10**-k`` as fixed-point text with ``pad`` extra zero decimals (as venues pad to 8)."""
    whole, frac = divmod(count, 10**k)
    decimals = f"{frac:0{k}d}" + "0" * pad if k else "0" * pad
    return f"{whole}.{decimals}" if decimals else str(whole)


# counts from 1 to just under the float path's limit (10**15), with the edges drawn often
COUNTS = st.one_of(
    st.integers(1, 10**15 - 1),
    st.integers(1, 1000),
    st.integers(10**15 - 1000, 10**15 - 1),
    st.integers(2**49 - 1000, 2**49 + 1000),
)


@settings(max_examples=600, deadline=None)
@given(count=COUNTS, k=st.integers(0, 16), pad=st.integers(0, 8))
def test_float_path_reads_on_grid_texts_exactly(count: int, k: int, pad: int) -> None:
    text = on_grid_text(count, k, pad)
    step = Decimal(1).scaleb(-k)
    parser = TextPathSpy(step, "size")
    assert outcome(text, step) == count  # the reference agrees the text is on the grid
    got = parser(text)
    assert got == count and type(got) is int
    # a short text is answered by the float path alone (the test would pass vacuously otherwise)
    assert parser.deferred == ([] if len(text.rstrip("0")) <= 16 else [text])


@settings(max_examples=600, deadline=None)
@given(
    count=COUNTS,
    k=st.integers(0, 12),
    extra=st.integers(1, 10),
    below=st.integers(1, 10**10 - 1),
)
def test_float_path_never_accepts_an_off_grid_text(count: int, k: int, extra: int, below: int) -> None:
    """Values a hair off the grid (down to one unit in the 10th extra decimal) are off-grid errors, short or long."""
    below %= 10**extra
    if below == 0:
        below = 1
    digits = on_grid_text(count, k, 0).replace(".", "")
    text_digits = str(int(digits) * 10**extra + below)  # count * 10**extra + below, in units of 10**-(k+extra)
    decimals = k + extra
    whole, frac = text_digits[:-decimals] or "0", text_digits[-decimals:].rjust(decimals, "0")
    text = f"{whole}.{frac}"
    step = Decimal(1).scaleb(-k)
    assert outcome(text, step) is OffGridError
    parser = TextPathSpy(step, "price")
    with pytest.raises(OffGridError):
        parser(text)
    assert parser.deferred == [text]  # the float path declined; the integer path decided


@settings(max_examples=1500, deadline=None)
@given(
    text=st.text("0123456789.eE+-_ n\u0661\u00a0", max_size=17),
    step=st.sampled_from(["1", "0.1", "0.0001", "0.00000001", "1E-12", "0.25", "5"]),
)
def test_any_text_matches_decimal(text: str, step: str) -> None:
    """Odd texts (exponents, signs, underscores, spaces, Unicode digits): the same value or the same error class."""
    parser = GridParser(Decimal(step))
    assert parsed(parser, text) == outcome(text, Decimal(step))


@pytest.mark.parametrize(
    ("step", "text", "expected"),
    [
        ("0.00000001", "0.00000001", 1),  # the finest Binance lot, float path
        ("0.00000001", "9999999.99999999", 10**15 - 1),  # 16 characters, the largest count the float path takes
        ("0.00000001", "10000000.00000000", 10**15),  # count at the limit: integer text path
        ("0.00000001", "99999999.99999999", 9999999999999999),  # 17 characters: integer text path
        ("1", "12345678.00000000", 12345678),  # 17 characters, 9 once the zeros are stripped: float path
        ("1", "12345678.00000001", OffGridError),
        ("0.00000001", "1234567.1234567800", 123456712345678),  # 16 characters once stripped: float path
        ("1", "1000000000000000e-20", OffGridError),  # stripping shortens only the exponent here
        ("0.00000001", "99999999.999999999", OffGridError),
        ("0.00000001", "0.000000015", OffGridError),
        ("1", "6195.00000001", OffGridError),  # 13 characters, 1e-8 off a whole lot
        ("1", "1.000000000000001", OffGridError),  # 16 significant digits, 1e-15 off: integer text path
        ("1", "1.00000000000001", OffGridError),  # 16 characters, 15 digits, 1e-14 off: float path declines
        ("1", "99999999999999.9", OffGridError),  # 16 characters, 0.1 off a 14-digit count
        ("1", "9999999999999999", 9999999999999999),  # 16 plain digits: an integer, beyond the float path's limit
        ("0.00000001", "1e-400", OffGridError),  # parses to 0.0 as a float: the exact path decides
        ("0.00000001", "1e-8", 1),
        ("0.01", "1E+2", 10000),
        ("0.01", "-0.00", 0),
        ("0.01", "nan", ValueError),
        ("0.01", "inf", ValueError),
        ("0.01", "1e400", ValueError),  # 10**402 ticks: out of range (an overflowing float must not guess)
        ("0.01", "1e25", 10**27),  # Decimal path (an exponent), below MAX_COUNT
        ("0.01", "1e26", ValueError),  # 10**28 ticks: out of range
        ("1", "9" * 28, 10**28 - 1),  # the largest count accepted, integer text path
        ("1", "1" + "0" * 28, ValueError),
        ("0.00000001", "1E-999999999", OffGridError),  # must not underflow to an on-grid 0
        ("0.01", "1_000.5", 100050),
        ("0.0001", "0.35130000", 3513),
    ],
)
def test_float_path_edges(step: str, text: str, expected: int | type[Exception]) -> None:
    assert outcome(text, Decimal(step)) == expected
    assert parsed(GridParser(Decimal(step)), text) == expected


# --- parse_levels: one side of a depth message, the size float path inlined -------------------------------------


def level_outcome(pairs: list[tuple[str, str]], tick: Decimal, lot: Decimal) -> tuple[Level, ...] | type[Exception]:
    """Decimal reference for a whole side: the first bad text (price before size) decides the error."""
    out = []
    for p, q in pairs:
        ticks, lots = outcome(p, tick), outcome(q, lot)
        if not isinstance(ticks, int):
            return ticks
        if not isinstance(lots, int):
            return lots
        out.append((ticks, lots))
    return tuple(out)


SIZE_TEXTS = st.one_of(
    st.builds(on_grid_text, COUNTS, st.just(8), st.integers(0, 4)),  # on an 8-decimal grid, padded
    st.builds(lambda n, pad: on_grid_text(n, 0, pad), st.integers(0, 10**9), st.integers(0, 8)),
    st.sampled_from(["0.00000000", "0", "1e-400", "12345678.00000000", "99999999.99999999", "0.000000001", "-1"]),
    st.text("0123456789.e-", min_size=1, max_size=18),
)
PRICE_TEXTS = st.one_of(
    st.builds(lambda n: on_grid_text(n, 4, 4), st.integers(1, 10**8)),
    st.text("0123456789.", min_size=1, max_size=12),
)


@settings(max_examples=600, deadline=None)
@given(
    pairs=st.lists(st.tuples(PRICE_TEXTS, SIZE_TEXTS), max_size=6),
    lot=st.sampled_from(["0.00000001", "1", "0.001", "0.25"]),
)
def test_parse_levels_matches_decimal(pairs: list[tuple[str, str]], lot: str) -> None:
    tick = Decimal("0.0001")
    prices, sizes = GridParser(tick, "price"), GridParser(Decimal(lot), "size")
    want = level_outcome(pairs, tick, Decimal(lot))
    for _ in range(2):  # the second pass is served from the caches
        if isinstance(want, tuple):
            got = parse_levels(pairs, prices, sizes)
            assert got == want
            assert all(type(t) is int and type(s) is int for t, s in got)
        else:
            with pytest.raises(ValueError) as info:
                parse_levels(pairs, prices, sizes)
            assert type(info.value) is want


def test_parse_levels_takes_the_float_path_for_sizes() -> None:
    """Fresh sizes are converted inline: the integer text path never sees them (and each is remembered)."""
    prices, sizes = GridParser(Decimal("0.01"), "price"), TextPathSpy(Decimal("0.00000001"), "size")
    pairs = [("100.00", f"{i}.12345678") for i in range(1, 50)]
    pairs += [("100.01", "1234567.00000000"), ("100.02", "12345678.00000000")]
    got = parse_levels(pairs, prices, sizes)
    want = [(10000, i * 10**8 + 12345678) for i in range(1, 50)]
    want += [(10001, 1234567 * 10**8), (10002, 12345678 * 10**8)]
    assert got == tuple(want)
    assert sizes.deferred == ["12345678.00000000"]  # 1.2e15 lots: beyond the float path's 10**15
    assert sizes.cache["7.12345678"] == 712345678
