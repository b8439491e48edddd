from collections.abc import Sequence

from desk.domain.events import BookDelta, Level

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

class DepthStep:
    def __init__(
        self,
        symbol: str,
        venue: str,
        delta_type: type[BookDelta],
        book: object,
        state: object,
        health: object,
        data_type: type,
        price_decimals: int,
        size_decimals: int,
    ) -> None: ...
    def __call__(self, data: object, recv_ns: int, /) -> BookDelta | int: ...
