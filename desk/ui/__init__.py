"""The Textual TUI: the only package of desk that imports Textual (``desk.ui.model`` and ``desk.ui.sources`` stay
free of it). ``desk.ui.app.build_app`` is the one app factory, used by the CLI and the tests."""
