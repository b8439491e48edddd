"""Errors of the risk engine. Plain ``ValueError``s so the engine stays free of CLI concerns; the CLI maps them
to ``UserError`` (exit 2)."""

from __future__ import annotations


class VarInputError(ValueError):
    """Inputs the VaR engine cannot use: wrong shapes, non-finite returns, a confidence outside (0, 1)..."""


class CovarianceError(VarInputError):
    """A covariance matrix that is invalid and cannot be repaired."""


class VarCancelled(Exception):
    """The caller cancelled a running Monte Carlo (its cancel event was set)."""
