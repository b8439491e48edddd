"""The float32 Box-Muller normals used by the Monte Carlo, against scipy's normal distribution."""

from __future__ import annotations

import numpy as np
from scipy import stats

from desk.risk.normals import standard_normals


def test_distribution_matches_standard_normal() -> None:
    z = standard_normals(np.random.default_rng(1), 1_000_001)
    assert z.dtype == np.float32 and z.shape == (1_000_001,)
    x = z.astype(np.float64)
    assert abs(x.mean()) < 5 / 1000  # 5 standard errors
    assert abs(x.var() - 1) < 5 * np.sqrt(2 / 1e6)
    assert stats.kstest(x, "norm").pvalue > 1e-3
    # Tails at the quantiles VaR uses: counts within 5 standard errors of the exact probabilities.
    for q in (2.326, 3.09):
        p = stats.norm.sf(q)
        for count in ((x > q).sum(), (x < -q).sum()):
            assert abs(count - p * len(x)) < 5 * np.sqrt(p * len(x))


def test_pairs_are_uncorrelated_and_columns_independent() -> None:
    z = standard_normals(np.random.default_rng(2), 400_000).reshape(-1, 4).astype(np.float64)
    corr = np.corrcoef(z, rowvar=False)
    assert np.max(np.abs(corr - np.eye(4))) < 5 / np.sqrt(len(z))
    # Squares too (Box-Muller pairs share a radius: dependence would show here).
    corr2 = np.corrcoef(z**2, rowvar=False)
    assert np.max(np.abs(corr2 - np.eye(4))) < 5 / np.sqrt(len(z))
