"""A client of the control API: ``avin status/kill/resume`` when a robot runs, tests, the bench.

:func:`connect` answers None when no robot serves the socket (no file, or a stale one left by a
killed robot): the caller then uses the status store. Errors the server gives (a bad command,
an unknown strategy) come back as :class:`ControlError` with the server's message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc

from engine.control.endpoint import is_live, socket_path, unix_target
from engine.control.proto import control_pb2 as pb
from engine.control.proto.control_pb2_grpc import ControlStub

TIMEOUT = 2.0  # seconds for one call (a robot answers in milliseconds)
# A small receive window for snapshot streams (and no window growth): a client that stops
# reading holds one or two snapshots in the transport, so when it reads again the next one it
# gets is the newest, not a backlog (gRPC's default window of 64 KiB holds dozens).
CHANNEL_OPTIONS = [("grpc.http2.lookahead_bytes", 1024), ("grpc.http2.bdp_probe", 0)]
COMMANDS = {
    "kill": pb.KILL,
    "reduce": pb.REDUCE,
    "flatten": pb.FLATTEN,
    "resume": pb.RESUME,
    "pause_strategy": pb.PAUSE_STRATEGY,
    "resume_strategy": pb.RESUME_STRATEGY,
    "cancel_order": pb.CANCEL_ORDER,
}


class ControlError(RuntimeError):
    """The robot refused a call or could not be reached; ``code`` is the gRPC status."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class ControlClient:
    def __init__(self, path: Path | None = None, timeout: float = TIMEOUT) -> None:
        self.path = path or socket_path()
        self.timeout = timeout
        self.channel = grpc.insecure_channel(unix_target(self.path), options=CHANNEL_OPTIONS)
        self.stub = ControlStub(self.channel)

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def snapshot(self) -> pb.EngineSnapshot:
        return self._call(self.stub.Snapshot, pb.SnapshotRequest())

    def status(self) -> dict[str, Any]:
        """The robot's ``avin status --json`` object, now."""
        return status_of(self.snapshot())

    def command(self, name: str, reason: str = "", target: str = "") -> pb.CommandReply:
        kind = COMMANDS.get(name)
        if kind is None:
            raise ValueError(f"unknown command {name!r}: one of {', '.join(COMMANDS)}")
        return self._call(
            self.stub.Command, pb.CommandRequest(kind=kind, reason=reason, target=target)
        )

    def watch(self, min_interval: float = 0.0) -> Iterator[pb.EngineSnapshot]:
        """Snapshots as the version moves (no timeout: close the client or cancel to end)."""
        stream = self.stub.WatchSnapshots(pb.WatchRequest(min_interval=min_interval))
        try:
            yield from stream
        except grpc.RpcError as exc:
            raise _error(exc) from None
        finally:
            stream.cancel()

    def _call(self, method: Any, request: Any) -> Any:
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            raise _error(exc) from None


def status_of(message: pb.EngineSnapshot) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(message.status_json.decode())
    return data


def connect(path: Path | None = None, timeout: float = TIMEOUT) -> ControlClient | None:
    """A client of the robot serving ``path``, or None when none does (no socket, a stale one)."""
    path = path or socket_path()
    if not path.exists() or not is_live(path):
        return None
    return ControlClient(path, timeout)


def _error(exc: grpc.RpcError) -> ControlError:
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    details = exc.details() if hasattr(exc, "details") else str(exc)
    return ControlError(code, details or code.name)
