"""The backtester: the engine's strategies, order book and matching rules, driven bar by bar.

- :class:`~engine.backtest.runner.Backtester` runs one strategy on one instrument over a bars
  DataFrame (synchronously, deterministic);
- :func:`~engine.backtest.session.run_backtest` runs a strategy over several instruments and builds
  the :class:`~engine.backtest.report.Report`;
- :mod:`engine.backtest.rules` is the vectorised rule layer (polars expressions);
- :mod:`engine.backtest.storage` saves reports under ``<data home>/backtests/<id>/``.
"""

from engine.backtest.feed import file_instrument, infer_timeframe, read_bars_file
from engine.backtest.options import BacktestOptions, RunResult, StrategyFailed
from engine.backtest.runner import Backtester

__all__ = [
    "BacktestOptions",
    "Backtester",
    "RunResult",
    "StrategyFailed",
    "file_instrument",
    "infer_timeframe",
    "read_bars_file",
]
