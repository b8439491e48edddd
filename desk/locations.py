"""Every path desk reads or writes, in one place.

Why one module: tests and packaging both need to move these paths. ``DESK_HOME`` relocates everything the user
owns (config file, data, journal, cache) under one directory, so a test sets one variable and never touches the
real home directory; otherwise the platform's conventional locations come from platformdirs. Shipped files
(default settings, themes) live in ``desk/_data`` inside an installed wheel and at the repository root in a
checkout.

Functions take an optional ``env`` mapping (default: ``os.environ``) so callers that resolve settings against
an explicit environment (``desk.config.load_settings(env=...)``) get paths from that same environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

APP_NAME = "desk"
HOME_ENV = "DESK_HOME"
CONFIG_FILE_ENV = "DESK_CONFIG_FILE"
PROFILE_ENV = "DESK_PROFILE"

_PACKAGE_DIR = Path(__file__).resolve().parent


def _environ(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def desk_home(env: Mapping[str, str] | None = None) -> Path | None:
    """The ``DESK_HOME`` override, if set (``~`` expanded)."""
    value = _environ(env).get(HOME_ENV, "")
    return Path(value).expanduser() if value else None


# --- shipped files ----------------------------------------------------------------------------------
def package_data_dir() -> Path:
    """Where shipped data lives: ``desk/_data`` in a wheel, the repository root in a checkout."""
    installed = _PACKAGE_DIR / "_data"
    return installed if installed.is_dir() else _PACKAGE_DIR.parent


def default_config_file() -> Path:
    """The shipped, fully commented defaults (``config/default.toml``)."""
    return package_data_dir() / "config" / "default.toml"


def themes_dir() -> Path:
    return package_data_dir() / "themes"


# --- the user's files --------------------------------------------------------------------------------
def user_config_dir(env: Mapping[str, str] | None = None) -> Path:
    home = desk_home(env)
    if home is not None:
        return home / "config"
    import platformdirs

    return platformdirs.user_config_path(APP_NAME, appauthor=False)


def user_config_file(env: Mapping[str, str] | None = None) -> Path:
    """The user settings file desk reads when neither ``--config`` nor ``DESK_CONFIG_FILE`` names one."""
    return user_config_dir(env) / "config.toml"


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    home = desk_home(env)
    if home is not None:
        return home / "data"
    import platformdirs

    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """Downloaded market data and other files that can be fetched again."""
    home = desk_home(env)
    if home is not None:
        return home / "cache"
    import platformdirs

    return platformdirs.user_cache_path(APP_NAME, appauthor=False)


def control_socket(env: Mapping[str, str] | None = None) -> Path:
    """Unix socket a running desk listens on for ``desk halt|resume|liquidate|risk`` (owner-only, 0600)."""
    return data_dir(env) / "control.sock"


def journal_path(env: Mapping[str, str] | None = None) -> Path:
    """Default SQLite journal (orders, fills, positions, audit log); ``journal.path`` overrides it."""
    return data_dir(env) / "journal.sqlite"
