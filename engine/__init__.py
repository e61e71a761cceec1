"""avin's core library: model, data, analysis, strategy, broker, risk, state, runtime, backtest.

It never imports Textual; the terminal front lives in ``avin_tui``.
"""

__version__ = "0.1.0"
