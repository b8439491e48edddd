"""Portfolio risk: VaR and expected shortfall (``compute_var``), covariance estimation and repair."""

from __future__ import annotations

from desk.risk.errors import CovarianceError, VarCancelled, VarInputError
from desk.risk.var import METHODS, Method, VarResult, compute_var

__all__ = ["METHODS", "CovarianceError", "Method", "VarCancelled", "VarInputError", "VarResult", "compute_var"]
