from collections.abc import Sequence

from desk.domain.events import Level

def parse_levels(raw: object, price_decimals: int, size_decimals: int, /) -> tuple[Level, ...] | None: ...
def apply_levels(book: dict[int, int], keys: list[int], levels: Sequence[Level], negate: bool, /) -> None: ...
def parse_depth(
    raw_bids: object, raw_asks: object, price_decimals: int, size_decimals: int, /
) -> tuple[tuple[Level, ...], tuple[Level, ...]] | None: ...
def apply_sides(
    bids: dict[int, int],
    bid_keys: list[int],
    bid_levels: Sequence[Level],
    asks: dict[int, int],
    ask_prices: list[int],
    ask_levels: Sequence[Level],
    /,
) -> int: ...
