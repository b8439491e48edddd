"""Kraken's order-book CRC32 (WebSocket v1 and v2 use the same digit rules).

The checksum input is the top 10 asks (best first: lowest price first), then the top 10 bids (highest first);
for each level the price text and then the quantity text, each with the decimal point removed and leading zeros
stripped, all concatenated. The result is ``zlib.crc32`` of that ASCII string as an unsigned 32-bit integer.

The texts must be rendered at the pair's fixed precision (``"0.5660"``, not ``0.566``): v2 puts JSON numbers on
the wire, and hashing the shortest decimal form gives a different value (see docs/venues.md). The desk keeps
prices as integer ticks, so ``book_checksum`` renders ticks/lots back at the pair's precision.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Iterable, Mapping

CHECKSUM_LEVELS = 10


def _digits(text: str) -> str:
    return text.replace(".", "").lstrip("0")


def checksum_text(asks: Iterable[tuple[str, str]], bids: Iterable[tuple[str, str]]) -> str:
    """The string Kraken hashes, from (price, qty) texts already best first and limited to 10 a side."""
    parts = [_digits(p) + _digits(q) for p, q in asks]
    parts.extend(_digits(p) + _digits(q) for p, q in bids)
    return "".join(parts)


def kraken_checksum(asks: Iterable[tuple[str, str]], bids: Iterable[tuple[str, str]]) -> int:
    """CRC32 (unsigned) of the top levels given as wire texts, best first."""
    return zlib.crc32(checksum_text(asks, bids).encode("ascii")) & 0xFFFFFFFF


def fixed_point(count: int, decimals: int) -> str:
    """``count * 10**-decimals`` as fixed-point text with exactly ``decimals`` places (no Decimal, no float)."""
    if decimals == 0:
        return str(count)
    text = str(count).rjust(decimals + 1, "0")
    return f"{text[:-decimals]}.{text[-decimals:]}"


def book_checksum(
    bids: Mapping[int, int],
    asks: Mapping[int, int],
    *,
    price_scale: int,
    price_decimals: int,
    qty_scale: int,
    qty_decimals: int,
) -> int:
    """Checksum of an integer book: price text = ticks * price_scale at ``price_decimals`` places.

    ``price_scale`` is the tick size in units of ``10**-price_decimals`` (1 when the tick is a power of ten), and
    likewise for quantities, so rendering is pure integer work.
    """
    top_asks = heapq.nsmallest(CHECKSUM_LEVELS, asks)
    top_bids = heapq.nlargest(CHECKSUM_LEVELS, bids)
    return kraken_checksum(
        (
            (fixed_point(p * price_scale, price_decimals), fixed_point(asks[p] * qty_scale, qty_decimals))
            for p in top_asks
        ),
        (
            (fixed_point(p * price_scale, price_decimals), fixed_point(bids[p] * qty_scale, qty_decimals))
            for p in top_bids
        ),
    )
