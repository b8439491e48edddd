"""The compiled depth path (desk/_native.c) against independent references: Decimal arithmetic for the level
texts, and the pure-Python book loops (themselves checked against a naive model in test_book.py).

The C parser may decline any text (the Python path then decides); what it must never do is return a wrong
number, and it must not decline the plain texts venues actually send, or the fast path silently stops working.
"""

from __future__ import annotations

import json
import os
from decimal import Context, Decimal, InvalidOperation, localcontext

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk import native
from desk.feeds.venues.numbers import GridParser, RawLevelParser

pytestmark = pytest.mark.skipif(not native.available(), reason="desk._native is not built (no C compiler)")

STEPS = ["1", "0.1", "0.01", "0.0001", "0.00000001", "1E-18"]


def test_the_compiled_module_is_built_in_ci() -> None:
    """CI installs with a compiler: a silent fall back to Python there would hide a broken build."""
    assert native.available() or not os.environ.get("CI")


def reference(text: str, step: Decimal) -> int | None:
    """Count on the grid by Decimal division; None when negative or off the grid."""
    with localcontext(Context(prec=100)):  # exact for every text these tests make
        value = Decimal(text)
        count, rem = divmod(value, step)
    return None if rem or value < 0 else int(count)


def decimals(step: str) -> int:
    k = GridParser(Decimal(step)).decimals
    assert k is not None
    return k


def native_one(text: str, step: str, *, as_size: bool = False) -> int | None:
    """The C parser's answer for one text (None: declined)."""
    k = decimals(step)
    assert native.parse_depth is not None
    raw = json.dumps([["1", text]] if as_size else [[text, "1"]]).encode()
    got = native.parse_depth(raw, b"[]", 0 if as_size else k, k if as_size else 0)
    return None if got is None else got[0][0][1 if as_size else 0]


fixed_point = st.builds(
    lambda whole, frac, lead: ("0" * lead) + (f"{whole}.{frac}" if frac is not None else str(whole)),
    st.integers(0, 10**12),
    st.one_of(st.none(), st.text("0123456789", max_size=12)),
    st.integers(0, 2),
)


@settings(max_examples=500, deadline=None)
@given(text=fixed_point, step=st.sampled_from(STEPS), as_size=st.booleans())
def test_plain_texts_are_parsed_exactly(text: str, step: str, as_size: bool) -> None:
    want = reference(text, Decimal(step))
    got = native_one(text, step, as_size=as_size)
    if want is None:
        assert got is None  # off the grid: declined, so the Python path raises OffGridError
    elif want < 10**18 and len(text.replace(".", "")) <= 18:
        assert got == want  # the normal case: parsed, exactly
    else:
        assert got in (None, want)  # beyond 18 digits: may decline, never wrong


odd_texts = st.one_of(
    st.text("0123456789.-+eE_ x", min_size=0, max_size=12),
    st.sampled_from(["", ".", "5.", ".5", "-0", "+1", "1e3", "1_0", " 1", "1 ", "0x10", "١", "1.2.3", "NaN"]),
)


@settings(max_examples=500, deadline=None)
@given(text=odd_texts, step=st.sampled_from(STEPS))
def test_any_text_is_exact_or_declined(text: str, step: str) -> None:
    got = native_one(text, step)
    if got is None:
        return
    try:
        want = reference(text, Decimal(step))
    except InvalidOperation:  # not a number at all: the parser must have declined
        want = None
    assert got == want


@settings(max_examples=200, deadline=None)
@given(
    pairs=st.lists(st.tuples(fixed_point, fixed_point), max_size=70),  # past the 64-level stack buffer
    spacing=st.sampled_from(["", " ", "\n  ", "\t"]),
)
def test_whole_messages_match_the_python_path(pairs: list[tuple[str, str]], spacing: str) -> None:
    parser = RawLevelParser(GridParser(Decimal("0.0001"), "price"), GridParser(Decimal("0.01"), "size"))
    on_grid = [
        (p, q)
        for p, q in pairs
        if reference(p, Decimal("0.0001")) is not None and reference(q, Decimal("0.01")) is not None
    ]
    on_grid = [(p, q) for p, q in on_grid if len(p) <= 18 and len(q) <= 18]
    inner = f",{spacing}".join(f'[{spacing}"{p}"{spacing},{spacing}"{q}"{spacing}]' for p, q in on_grid)
    raw = msgspec.Raw(f"{spacing}[{spacing}{inner}{spacing}]{spacing}".encode())
    assert native.parse_depth is not None
    got = native.parse_depth(raw, msgspec.Raw(b"[]"), parser.price_decimals, parser.size_decimals)
    assert got is not None
    assert got == (parser.side(raw), ())


@pytest.mark.parametrize(
    "raw",
    [
        b'[["1", "2"]',  # unterminated
        b'[["1", "2", "3"]]',  # three items
        b'[[1, "2"]]',  # a JSON number, not a string
        b'[["1\\u0030", "2"]]',  # an escape
        b'[["1", "2"]] x',  # trailing garbage
        b"{}",
        b"",
    ],
)
def test_unexpected_json_is_declined(raw: bytes) -> None:
    assert native.parse_depth is not None
    assert native.parse_depth(raw, b"[]", 2, 2) is None
    assert native.parse_depth(b"[]", raw, 2, 2) is None


def test_decline_of_either_side_declines_the_message() -> None:
    assert native.parse_depth is not None
    good = b'[["1.00", "2"]]'
    assert native.parse_depth(good, good, 2, 0) == (((100, 2),), ((100, 2),))
    assert native.parse_depth(good, b'[["1.001", "2"]]', 2, 0) is None  # off grid on one side only


def test_off_grid_texts_reach_the_python_error() -> None:
    parser = RawLevelParser(GridParser(Decimal("0.01"), "price"), GridParser(Decimal("1"), "size"))
    with pytest.raises(ValueError, match=r"price 1\.001 is not a multiple of 0\.01"):
        parser(msgspec.Raw(b'[["1.001", "2"]]'), msgspec.Raw(b"[]"))


def test_non_power_of_ten_grids_use_the_python_path() -> None:
    parser = RawLevelParser(GridParser(Decimal("0.25"), "price"), GridParser(Decimal("1"), "size"))
    assert parser.fast is None
    assert parser(msgspec.Raw(b'[["1.75", "2"]]'), msgspec.Raw(b"[]")) == (((7, 2),), ())


def test_apply_sides_matches_the_python_loop() -> None:
    assert native.apply_sides is not None
    book: dict[int, int] = {}
    keys: list[int] = []
    asks: dict[int, int] = {}
    prices: list[int] = []
    levels = [(5, 1), (3, 2), (7, 0), (4, 1), (5, 3)]
    assert native.apply_sides(book, keys, levels, asks, prices, []) == 2 * 5 + 0
    assert book == {5: 3, 3: 2, 4: 1} and keys == [-5, -4, -3]
    native.apply_sides(book, keys, [(5, 0), (9, 0), [4, 0]], asks, prices, [])  # lists work; unknown price: no-op
    assert book == {3: 2} and keys == [-3]
    assert native.apply_sides(book, keys, [(6, 1)], asks, prices, [(7, 1)]) == 2 * 2 + 0  # not crossed
    assert native.apply_sides(book, keys, [(8, 1)], asks, prices, []) == 2 * 1 + 1  # bid 8 > ask 7: crossed
    floats: dict[float, int] = {}
    float_keys: list[float] = []
    native.apply_sides(floats, float_keys, [(2.5, 1), (0.5, 1)], {}, [], [])  # type: ignore[arg-type]
    assert float_keys == [-2.5, -0.5]  # not ints: the generic comparison, same order as the Python loop
    with pytest.raises(TypeError):
        native.apply_sides(book, keys, [(1, 2, 3)], asks, prices, [])  # type: ignore[list-item]
