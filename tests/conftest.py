"""Hypothesis runs derandomized in CI: the suite must give the same verdict on every run of the same commit
(a property failure found by a random local run is kept as an explicit @example instead)."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
