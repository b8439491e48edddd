"""GridParser (venue decimal text -> integer ticks/lots) against Decimal arithmetic, the independent reference."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.domain.instruments import OffGridError
from desk.feeds.venues.numbers import GridParser

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
