"""L2 order books and depth analytics."""

from desk.book.l2 import BookState, OrderBook, SequenceGap

__all__ = ["BookState", "OrderBook", "SequenceGap"]
