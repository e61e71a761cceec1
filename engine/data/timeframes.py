"""Every timeframe from 1-minute bars (polars frames in and out, numpy segment reductions).

A derived bar covers the 1-minute bars whose timestamps fall into its frame (floor to the step for
minutes and hours, midnight UTC for D, Monday 00:00 UTC for W, the 1st of the month for M): open
of the first, highest high, lowest low, close of the last, summed volume; its ``ts`` is the frame
start. This is exactly what the live :class:`engine.model.aggregation.BarAggregator` builds from
the same stream (a hypothesis property test compares them bar by bar).

Input must be sorted by ``ts`` (the store guarantees it; unsorted input is sorted first). Frames
are contiguous runs of equal frame keys, reduced in one pass by a numba kernel when numba is
installed (``engine.data._segments_jit``), else with ``numpy.ufunc.reduceat``; both give identical
bars (the tests run both).
:func:`derive_all` builds each timeframe from the nearest finer one (5M from 1M, 15M from 5M, 1H
from 15M, ...): the aggregation is associative and each coarser boundary is also a boundary of the
finer frames, so the result equals direct derivation and costs a fraction of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.data.schema import COLUMNS, TS_DTYPE
from engine.model import TimeFrame

PARENT: dict[TimeFrame, TimeFrame] = {
    TimeFrame.M5: TimeFrame.M1,
    TimeFrame.M10: TimeFrame.M5,
    TimeFrame.M15: TimeFrame.M5,
    TimeFrame.H1: TimeFrame.M15,
    TimeFrame.H4: TimeFrame.H1,
    TimeFrame.D: TimeFrame.H4,
    TimeFrame.W: TimeFrame.D,
    TimeFrame.MONTH: TimeFrame.D,
}
"""The finer timeframe each one is built from in :func:`derive_all`."""

_NS = 1_000_000_000
_WEEK_NS = 7 * 86_400 * _NS
_MONDAY_NS = 4 * 86_400 * _NS  # 1970-01-05, the first Monday after the epoch


@dataclass(frozen=True, slots=True)
class _Columns:
    ts: np.ndarray  # int64 ns
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def of(cls, bars: pl.DataFrame) -> _Columns:
        if not bars["ts"].is_sorted():
            bars = bars.sort("ts")
        return cls(
            bars["ts"].cast(TS_DTYPE).to_physical().to_numpy(),
            bars["open"].cast(pl.Float64).to_numpy(),
            bars["high"].cast(pl.Float64).to_numpy(),
            bars["low"].cast(pl.Float64).to_numpy(),
            bars["close"].cast(pl.Float64).to_numpy(),
            bars["volume"].cast(pl.Int64).to_numpy(),
        )

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "ts": pl.Series("ts", self.ts, dtype=pl.Int64).cast(TS_DTYPE),
                "open": self.open,
                "high": self.high,
                "low": self.low,
                "close": self.close,
                "volume": self.volume,
            }
        )


def frame_starts(ts_ns: np.ndarray, timeframe: TimeFrame) -> np.ndarray:
    """The start (ns since the epoch, UTC) of the ``timeframe`` frame of each timestamp."""
    if timeframe is TimeFrame.MONTH:
        months = ts_ns.astype("datetime64[ns]").astype("datetime64[M]")
        return months.astype("datetime64[ns]").astype(np.int64)
    if timeframe is TimeFrame.W:
        return (ts_ns - _MONDAY_NS) // _WEEK_NS * _WEEK_NS + _MONDAY_NS
    step = timeframe.step
    assert step is not None
    step_ns = int(step.total_seconds()) * _NS
    return ts_ns // step_ns * step_ns


def _frame_ids(ts_ns: np.ndarray, timeframe: TimeFrame) -> np.ndarray:
    """A number per timestamp that is equal within a frame and grows with the frame."""
    step = timeframe.step
    if step is None or timeframe is TimeFrame.W:
        return frame_starts(ts_ns, timeframe)
    return ts_ns // (int(step.total_seconds()) * _NS)


def _reduce(cols: _Columns, timeframe: TimeFrame, use_jit: bool | None = None) -> _Columns:
    n = len(cols.ts)
    if n == 0:
        return cols
    ids = _frame_ids(cols.ts, timeframe)
    kernel = _jit_kernel() if use_jit is None or use_jit else None
    if use_jit and kernel is None:
        raise RuntimeError("numba is not installed")
    if kernel is not None:
        first, open_, high, low, close, volume = kernel(
            ids, cols.open, cols.high, cols.low, cols.close, cols.volume
        )
        return _Columns(frame_starts(cols.ts[first], timeframe), open_, high, low, close, volume)
    starts = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    starts = np.concatenate((np.zeros(1, dtype=starts.dtype), starts))
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:] - 1
    ends[-1] = n - 1
    return _Columns(
        frame_starts(cols.ts[starts], timeframe),
        cols.open[starts],
        np.maximum.reduceat(cols.high, starts),
        np.minimum.reduceat(cols.low, starts),
        cols.close[ends],
        np.add.reduceat(cols.volume, starts),
    )


_KERNEL: list[Callable[..., tuple[np.ndarray, ...]] | None] = []


def _jit_kernel() -> Callable[..., tuple[np.ndarray, ...]] | None:
    """The numba segment reduction (one pass, several times faster), or None without numba."""
    if not _KERNEL:
        try:
            from engine.data._segments_jit import reduce_segments
        except ImportError:
            _KERNEL.append(None)
        else:
            _KERNEL.append(reduce_segments)
    return _KERNEL[0]


def _timeframe(timeframe: TimeFrame | str) -> TimeFrame:
    return timeframe if isinstance(timeframe, TimeFrame) else TimeFrame.from_code(timeframe)


def derive(bars: pl.DataFrame, timeframe: TimeFrame | str) -> pl.DataFrame:
    """``timeframe`` bars from bars of a finer timeframe (1-minute bars usually)."""
    return derive_with(bars, timeframe, None)


def derive_with(
    bars: pl.DataFrame, timeframe: TimeFrame | str, use_jit: bool | None
) -> pl.DataFrame:
    """:func:`derive` with the backend chosen: numba (True), numpy (False), best (None)."""
    tf = _timeframe(timeframe)
    if tf is TimeFrame.M1:
        return bars.select(COLUMNS)
    return _reduce(_Columns.of(bars), tf, use_jit).frame()


def has_jit() -> bool:
    return _jit_kernel() is not None


def derive_all(
    bars: pl.DataFrame, timeframes: list[TimeFrame] | None = None
) -> dict[TimeFrame, pl.DataFrame]:
    """The chosen timeframes (all by default) from 1-minute bars, each from its parent."""
    wanted = list(TimeFrame) if timeframes is None else [_timeframe(tf) for tf in timeframes]
    needed = set(wanted)
    for tf in wanted:
        while tf in PARENT:
            tf = PARENT[tf]
            needed.add(tf)
    columns: dict[TimeFrame, _Columns] = {TimeFrame.M1: _Columns.of(bars)}
    for tf in TimeFrame:  # declaration order runs from fine to coarse: parents come first
        if tf in needed and tf is not TimeFrame.M1:
            columns[tf] = _reduce(columns[PARENT[tf]], tf)
    result: dict[TimeFrame, pl.DataFrame] = {
        tf: columns[tf].frame() for tf in wanted if tf is not TimeFrame.M1
    }
    if TimeFrame.M1 in needed and TimeFrame.M1 in wanted:
        result[TimeFrame.M1] = bars.select(COLUMNS)
    return {tf: result[tf] for tf in wanted}
