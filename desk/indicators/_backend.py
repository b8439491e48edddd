"""Which implementation the vectorised indicators run: the compiled loops (numba) or the numpy path.

numba is optional (``pip install desk[fast]``): with it, RSI, MACD and BBANDS on 1M closes run within 2x of TA-Lib,
without it 2.5-3.5x behind (docs/indicators.md). It is imported on the first indicator call, never at
``import desk`` (``import numba`` alone takes ~0.3-0.5 s), and the answer is kept for the process. Setting
``DESK_NO_NUMBA`` to anything but ``""`` or ``"0"`` selects the numpy path; it is read on every call, so tests and
benchmarks can run both paths in one process.

Compiled kernels are cached on disk (numba's ``cache=True``), by default in ``__pycache__`` beside the source. An
installed desk often cannot write there; numba would then fall back to a directory under the user's home, so
desk points ``NUMBA_CACHE_DIR`` at its own cache directory instead (which follows ``DESK_HOME``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from desk import locations

DISABLE_ENV = "DESK_NO_NUMBA"
_PACKAGE_DIR = Path(__file__).resolve().parent

_kernels: ModuleType | None = None
_tried = False


def disabled(env: Mapping[str, str] | None = None) -> bool:
    """True when ``DESK_NO_NUMBA`` asks for the numpy path."""
    value = (os.environ if env is None else env).get(DISABLE_ENV, "")
    return value not in ("", "0")


def numba_cache_dir(package_dir: Path, env: Mapping[str, str]) -> Path | None:
    """Where numba should cache the kernels, or None to leave numba's choice alone (``NUMBA_CACHE_DIR`` already
    set, or the package's ``__pycache__`` is writable)."""
    if env.get("NUMBA_CACHE_DIR"):
        return None
    pycache = package_dir / "__pycache__"
    target = pycache if pycache.is_dir() else package_dir
    if os.access(target, os.W_OK):
        return None
    return locations.cache_dir(env) / "numba"


def _load() -> ModuleType | None:
    cache = numba_cache_dir(_PACKAGE_DIR, os.environ)
    if cache is not None:
        os.environ["NUMBA_CACHE_DIR"] = str(cache)  # read by numba when it is first imported
    try:
        from desk.indicators import _kernels as module
    except ImportError:  # numba missing, or installed against an unsupported numpy
        return None
    return module


def kernels() -> ModuleType | None:
    """The compiled kernels (:mod:`desk.indicators._kernels`), or None for the numpy path."""
    global _kernels, _tried
    if disabled():
        return None
    if not _tried:
        _kernels = _load()
        _tried = True
    return _kernels
