"""Long-running modes of the desk: headless trading (the TUI lives in desk.ui)."""
