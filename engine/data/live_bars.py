"""Live bars for the data service: the closed bars of the robot running on this home, read with
its control API's ``Chart`` (:mod:`engine.control.client`, the unix socket in the state home),
and how they join the stored bars.

A robot's chart answers oldest first and its newest bar may still be forming (``Chart.bars``):
only the bars before the newest count as closed here, so a bar shows up once the robot's chart
holds a newer one. Joined with the stored bars (:func:`join`): where the robot's chart reaches
back before the last stored frame, its bars win from that frame on (the store may end in the
middle of a frame); otherwise its bars newer than the last stored one are appended (a robot's
first bar may itself be a part of its frame). One schema
(``BAR_SCHEMA``), timestamps ascending and unique, UTC.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from engine.data.errors import DataError
from engine.data.schema import BAR_SCHEMA, TS_DTYPE, empty_bars
from engine.model import TimeFrame

MAX_BARS = 5_000  # the most the control API's Chart answers (a chart keeps about this many)
POLL_BARS = 64  # bars asked per poll of a follow stream (the whole chart again after a gap)
ROBOT_TIMEOUT = 5.0  # seconds for one Chart call (a robot answers in milliseconds)


class NoRobotError(DataError):
    """No robot serves the control socket of this home (or it stopped)."""


def no_robot(socket: Path, stopped: bool = False) -> NoRobotError:
    what = "the robot on this home stopped" if stopped else "no robot runs on this home"
    return NoRobotError(
        f"{what} (nothing answers on {socket}): live bars come from a running robot's charts",
        "Start one on the service's home (avin run --headless, or avin) with a strategy on this "
        'instrument and ask again, or ask without "live" (--live) for the stored bars only',
    )


class RobotChart:
    """The charts of the robot serving ``socket``, through one control client (a follow stream
    keeps it open across its polls). :class:`NoRobotError` when no robot answers there."""

    def __init__(self, socket: Path) -> None:
        from engine.control.client import connect

        self.socket = socket
        client = connect(socket, ROBOT_TIMEOUT)
        if client is None:
            raise no_robot(socket)
        self._client = client

    def __enter__(self) -> RobotChart:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def closed_bars(self, code: str, timeframe: TimeFrame, count: int) -> pl.DataFrame:
        """The robot's closed ``timeframe`` bars of ``code`` (at most ``count - 1``), oldest
        first; a refusal of the robot (a bad request) is a :class:`DataError` with its words."""
        import grpc

        from engine.control.client import ControlError

        try:
            reply = self._client.chart(code, timeframe.code, min(max(count, 1), MAX_BARS))
        except ControlError as exc:
            if exc.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                raise no_robot(self.socket, stopped=True) from None
            raise DataError(
                f"the robot refused the chart of {code} {timeframe.code}: {exc}"
            ) from None
        closed = reply.bars[:-1]  # the newest may be forming
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


def robot_bars(code: str, timeframe: TimeFrame, count: int, socket: Path) -> pl.DataFrame:
    """One look at the robot's chart (:meth:`RobotChart.closed_bars`)."""
    with RobotChart(socket) as robot:
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
