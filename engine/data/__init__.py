"""Market data: 1-minute bars in a Parquet store, every timeframe derived from them.

Public API (imported lazily, so ``avin --help`` does not load polars)::

    load_bars(instrument, timeframe, begin, end) -> polars.DataFrame
    load_timeframes(instrument, timeframes, begin, end) -> dict[TimeFrame, DataFrame]
    derive(bars, timeframe), derive_all(bars)            # batch aggregation
    BarStore, InstrumentCache, import_paths, download, update
    DataError, MissingDataError, UnknownInstrumentError, ...

See docs/data.md for the layout, the schema and the commands.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "load_bars": "engine.data.loading",
    "load_timeframes": "engine.data.loading",
    "resolve_code": "engine.data.loading",
    "clear_cache": "engine.data.loading",
    "derive": "engine.data.timeframes",
    "derive_all": "engine.data.timeframes",
    "BarStore": "engine.data.store",
    "InstrumentCache": "engine.data.instruments",
    "import_paths": "engine.data.importer",
    "ImportReport": "engine.data.importer",
    "download": "engine.data.download",
    "HistoryClient": "engine.data.history_client",
    "update": "engine.data.update",
    "update_async": "engine.data.update",
    "BAR_SCHEMA": "engine.data.schema",
    "DataError": "engine.data.errors",
    "MissingDataError": "engine.data.errors",
    "UnknownInstrumentError": "engine.data.errors",
    "ArchiveError": "engine.data.errors",
    "StoreError": "engine.data.errors",
    "DownloadError": "engine.data.errors",
    "TokenError": "engine.data.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
