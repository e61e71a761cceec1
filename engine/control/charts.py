"""The charts of the robot on this home for the data service's live bars
(:mod:`engine.data.live_bars`): its control API's ``Chart`` on the unix socket of the state home.

The data layer knows only the :class:`~engine.data.live_bars.RobotCharts` protocol; this module,
above both, gives it one (:func:`robot_on`), so ``engine.data`` never imports the control API.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import grpc

from engine.control.client import ControlClient, ControlError, connect
from engine.control.endpoint import socket_path
from engine.control.proto import control_pb2 as pb
from engine.data.errors import DataError
from engine.data.live_bars import RobotOpener, no_robot

ROBOT_TIMEOUT = 5.0  # seconds for one Chart call (a robot answers in milliseconds)


class SocketCharts:
    """One control client of the robot serving ``socket`` (:class:`NoRobotError` when none)."""

    def __init__(self, socket: Path) -> None:
        self.where = str(socket)
        client = connect(socket, ROBOT_TIMEOUT)
        if client is None:
            raise no_robot(self.where)
        self._client: ControlClient = client

    def chart(self, code: str, timeframe: str, count: int) -> Sequence[pb.Bar]:
        try:
            return self._client.chart(code, timeframe, count).bars
        except ControlError as exc:
            if exc.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                raise no_robot(self.where, stopped=True) from None
            raise DataError(f"the robot refused the chart of {code} {timeframe}: {exc}") from None

    def close(self) -> None:
        self._client.close()


def robot_on(socket: Path | None = None) -> RobotOpener:
    """Opens the charts of the robot serving ``socket`` (default: this home's control socket,
    looked up at each opening, so a robot started after the service is found)."""
    return lambda: SocketCharts(socket if socket is not None else socket_path())
