"""avin's core library: model, data, analysis, strategy, broker, risk, state, runtime, backtest.

It never imports Textual; the terminal front lives in ``avin_tui``.
"""

import os as _os

__version__ = "0.1.0"

if _os.environ.get("AVIN_NATIVE_WORKER") == "1":  # a worker process of a compiled backtest
    from engine.native import enable as _enable

    _enable()  # before any module it replaces is imported (engine/native.py)
