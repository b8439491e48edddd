"""Orders, the one fill engine, and the paper broker built on it."""
