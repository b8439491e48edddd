"""Backtesting: performance metrics (``desk.backtest.metrics``) and Monte Carlo resampling of trades
(``desk.backtest.montecarlo``).

Kept free of imports so that ``import desk.backtest`` costs nothing; import the submodules you need.
"""
