"""Live bars for the data service: the closed bars of the robot running on this home, and how
they join the stored bars.

The robot is reached through a :data:`RobotOpener` the service is given (the command line gives
:func:`engine.control.charts.robot_on`: the control API's ``Chart`` on the unix socket of the
state home); this layer knows only the :class:`RobotCharts` protocol, not the control API.

A robot's chart answers oldest first and its newest bar may still be forming (``Chart.bars``):
only the bars before the newest count as closed here, so a bar shows up once the robot's chart
holds a newer one. Joined with the stored bars (:func:`join`): where the robot's chart reaches
back before the last stored frame, its bars win from that frame on (the store may end in the
middle of a frame); otherwise its bars newer than the last stored one are appended (a robot's
first bar may itself be a part of its frame). One schema
(``BAR_SCHEMA``), timestamps ascending and unique, UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

import polars as pl

from engine.data.errors import DataError
from engine.data.schema import BAR_SCHEMA, TS_DTYPE, empty_bars
from engine.model import TimeFrame

MAX_BARS = 5_000  # the most the control API's Chart answers (a chart keeps about this many)
POLL_BARS = 64  # bars asked per poll of a follow stream (the whole chart again after a gap)


class NoRobotError(DataError):
    """No robot serves the control socket of this home (or it stopped)."""


def no_robot(where: str, stopped: bool = False) -> NoRobotError:
    what = "the robot on this home stopped" if stopped else "no robot runs on this home"
    return NoRobotError(
        f"{what} (nothing answers on {where}): live bars come from a running robot's charts",
        "Start one on the service's home (avin run --headless, or avin) with a strategy on this "
        'instrument and ask again, or ask without "live" (--live) for the stored bars only',
    )


class ChartBar(Protocol):
    """One bar of a robot's chart (the control API's ``Bar`` message)."""

    @property
    def ts_us(self) -> int: ...
    @property
    def open(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...
    @property
    def volume(self) -> int: ...


class RobotCharts(Protocol):
    """One open connection to the charts of the robot on this home."""

    where: str  # where it was reached (for messages)

    def chart(self, code: str, timeframe: str, count: int) -> Sequence[ChartBar]:
        """Oldest first, the newest maybe forming; :class:`NoRobotError` (stopped) when the
        robot went away, :class:`DataError` with its words when it refused the request."""
        ...

    def close(self) -> None: ...


RobotOpener = Callable[[], RobotCharts]  # raises NoRobotError when no robot answers


class RobotChart:
    """The charts of the robot ``open`` reaches, through one connection (a follow stream keeps
    it open across its polls). :class:`NoRobotError` when no robot answers there."""

    def __init__(self, opener: RobotOpener) -> None:
        self._robot = opener()
        self.where = self._robot.where

    def __enter__(self) -> RobotChart:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._robot.close()

    def closed_bars(self, code: str, timeframe: TimeFrame, count: int) -> pl.DataFrame:
        """The robot's closed ``timeframe`` bars of ``code`` (at most ``count - 1``), oldest
        first; a refusal of the robot (a bad request) is a :class:`DataError` with its words."""
        bars = self._robot.chart(code, timeframe.code, min(max(count, 1), MAX_BARS))
        closed = bars[:-1]  # the newest may be forming
        if not closed:
            return empty_bars()
        frame = pl.DataFrame(
            {
                "ts": pl.Series([b.ts_us for b in closed], dtype=pl.Int64),
                "open": [b.open for b in closed],
                "high": [b.high for b in closed],
                "low": [b.low for b in closed],
                "close": [b.close for b in closed],
                "volume": pl.Series([b.volume for b in closed], dtype=pl.Int64),
            }
        )
        utc = pl.from_epoch(pl.col("ts"), time_unit="us").dt.replace_time_zone("UTC")
        return frame.with_columns(utc.cast(TS_DTYPE)).cast(dict(BAR_SCHEMA))  # type: ignore[arg-type]


def robot_bars(code: str, timeframe: TimeFrame, count: int, opener: RobotOpener) -> pl.DataFrame:
    """One look at the robot's chart (:meth:`RobotChart.closed_bars`)."""
    with RobotChart(opener) as robot:
        return robot.closed_bars(code, timeframe, count)


def within(bars: pl.DataFrame, begin: datetime, end: datetime | None) -> pl.DataFrame:
    """The bars whose frame start is in ``[begin, end)`` (no end: every one from ``begin``)."""
    keep = pl.col("ts") >= begin
    if end is not None:
        keep &= pl.col("ts") < end
    return bars.filter(keep)


def join(stored: pl.DataFrame, robot: pl.DataFrame) -> pl.DataFrame:
    """``stored`` bars then the ``robot``'s (both ascending): see the module docstring."""
    if stored.is_empty() or robot.is_empty():
        return stored if robot.is_empty() else robot
    last = stored["ts"][-1]
    if robot["ts"][0] < last:  # its bar of the last stored frame saw that frame's start
        stored = stored.filter(pl.col("ts") < last)
        robot = robot.filter(pl.col("ts") >= last)
    else:
        robot = robot.filter(pl.col("ts") > last)
    return pl.concat([stored, robot])
