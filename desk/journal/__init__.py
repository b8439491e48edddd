"""The SQLite journal: every order, order event, fill, strategy run, risk event and user action."""

from desk.journal.store import Journal, JournalReader, RecoveredState

__all__ = ["Journal", "JournalReader", "RecoveredState"]
