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

from engine.control.endpoint import KEEPALIVE_MS, is_live, socket_path, unix_target
from engine.control.patch import apply
from engine.control.proto import control_pb2 as pb
from engine.control.proto.control_pb2_grpc import ControlStub
from engine.security.service_access import (
    CONTROL_TOKEN_FILE,
    listen_problem,
    read_token,
)

TIMEOUT = 2.0  # seconds for one call (a robot answers in milliseconds)
# A small receive window for snapshot streams (and no window growth): a client that stops
# reading holds one or two snapshots in the transport, so when it reads again the next one it
# gets is the newest, not a backlog (gRPC's default window of 64 KiB holds dozens).
CHANNEL_OPTIONS = [
    ("grpc.http2.lookahead_bytes", 1024),
    ("grpc.http2.bdp_probe", 0),
    # a robot that stops answering with its socket open (hung, SIGSTOP) ends a watch within
    # about two intervals as UNAVAILABLE, as one that went away does
    ("grpc.keepalive_time_ms", KEEPALIVE_MS),
    ("grpc.keepalive_timeout_ms", KEEPALIVE_MS),
    ("grpc.http2.ping_timeout_ms", KEEPALIVE_MS),  # newer gRPC cores time a ping out by this
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
]
COMMANDS = {
    "kill": pb.KILL,
    "reduce": pb.REDUCE,
    "flatten": pb.FLATTEN,
    "resume": pb.RESUME,
    "pause_strategy": pb.PAUSE_STRATEGY,
    "resume_strategy": pb.RESUME_STRATEGY,
    "cancel_order": pb.CANCEL_ORDER,
    "close_position": pb.CLOSE_POSITION,
    "add_strategy": pb.ADD_STRATEGY,
    "remove_strategy": pb.REMOVE_STRATEGY,
    "stop_strategy": pb.STOP_STRATEGY,
    "start_strategy": pb.START_STRATEGY,
    "stop": pb.STOP,
}


class ControlError(RuntimeError):
    """The robot refused a call or could not be reached; ``code`` is the gRPC status."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class ControlClient:
    """A client of the robot at the unix socket ``path`` (default: this home's), or with
    ``endpoint`` (``host:port``) over TCP: then ``token`` goes with every call, and
    ``tls_root_cert`` (PEM: the server's certificate or its CA) makes it TLS; a host that is not
    loopback needs TLS (the token would cross the network in clear)."""

    def __init__(
        self,
        path: Path | None = None,
        timeout: float = TIMEOUT,
        *,
        endpoint: str | None = None,
        token: str | None = None,
        tls_root_cert: bytes | None = None,
        tls_server_name: str | None = None,
    ) -> None:
        self.timeout = timeout
        self.endpoint = endpoint
        self.metadata: tuple[tuple[str, str], ...] = ()
        if endpoint is None:
            self.path: Path | None = path or socket_path()
            self.channel = grpc.insecure_channel(unix_target(self.path), options=CHANNEL_OPTIONS)
        else:
            self.path = None
            check_endpoint(endpoint, tls=tls_root_cert is not None)
            options: list[tuple[str, Any]] = list(CHANNEL_OPTIONS)
            if tls_server_name:
                options.append(("grpc.ssl_target_name_override", tls_server_name))
            if tls_root_cert is not None:
                credentials = grpc.ssl_channel_credentials(root_certificates=tls_root_cert)
                self.channel = grpc.secure_channel(endpoint, credentials, options=options)
            else:
                self.channel = grpc.insecure_channel(endpoint, options=options)
            if token:
                self.metadata = (("authorization", f"Bearer {token}"),)
        self.stub = ControlStub(self.channel)

    def __repr__(self) -> str:  # never the token
        return f"ControlClient({self.endpoint or self.path})"

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

    def command(
        self, name: str, reason: str = "", target: str = "", spec: dict[str, Any] | None = None
    ) -> pb.CommandReply:
        """``spec``: the row of ``add_strategy`` (``StrategySpec.to_json()``)."""
        kind = COMMANDS.get(name)
        if kind is None:
            raise ValueError(f"unknown command {name!r}: one of {', '.join(COMMANDS)}")
        spec_json = b"" if spec is None else json.dumps(spec).encode()
        request = pb.CommandRequest(kind=kind, reason=reason, target=target, spec_json=spec_json)
        return self._call(self.stub.Command, request)

    def chart(self, instrument: str, timeframe: str, count: int) -> pb.ChartReply:
        request = pb.ChartRequest(instrument=instrument, timeframe=timeframe, count=count)
        return self._call(self.stub.Chart, request)

    def log(self, after_seq: int = 0, limit: int = 0) -> pb.LogBatch:
        return self._call(self.stub.Log, pb.LogRequest(after_seq=after_seq, limit=limit))

    def watch_log(self, after_seq: int = 0, limit: int = 0) -> Iterator[pb.LogBatch]:
        """Log batches as records are written (no timeout: close the client to end)."""
        request = pb.LogRequest(after_seq=after_seq, limit=limit)
        stream = self.stub.WatchLog(request, metadata=self.metadata)
        try:
            yield from stream
        except grpc.RpcError as exc:
            raise _error(exc) from None
        finally:
            stream.cancel()

    def incidents(self, limit: int = 0) -> list[dict[str, Any]]:
        reply = self._call(self.stub.Incidents, pb.IncidentsRequest(limit=limit))
        return [json.loads(i.json) for i in reply.incidents]

    def session(self) -> pb.SessionInfo:
        return self._call(self.stub.Session, pb.SessionRequest())

    def check_strategy(self, spec: dict[str, Any]) -> pb.SpecCheckReply:
        request = pb.StrategySpecRequest(spec_json=json.dumps(spec).encode())
        return self._call(self.stub.CheckStrategy, request)

    def workspace(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(
            self._call(self.stub.GetWorkspace, pb.WorkspaceRequest()).json
        )
        return data

    def order_book(self, instrument: str) -> pb.OrderBookReply:
        return self._call(self.stub.OrderBook, pb.BookRequest(instrument=instrument))

    def watch_book(self, instrument: str, depth: int = 10) -> pb.OrderBookReply:
        request = pb.BookRequest(instrument=instrument, depth=depth)
        return self._call(self.stub.WatchBook, request)

    def tape(self, instrument: str, count: int) -> pb.TapeReply:
        return self._call(self.stub.Tape, pb.TapeRequest(instrument=instrument, count=count))

    def backtests(self, limit: int = 0) -> list[tuple[str, dict[str, Any]]]:
        """(id, report) of the backtests saved in the robot's data home, newest first."""
        reply = self._call(self.stub.Backtests, pb.BacktestsRequest(limit=limit))
        return [(b.id, json.loads(b.report_json)) for b in reply.backtests]

    def save_workspace(self, data: dict[str, Any]) -> None:
        self._call(self.stub.SaveWorkspace, pb.Workspace(json=json.dumps(data).encode()))

    def watch_status(self, min_interval: float = 0.0) -> Iterator[dict[str, Any]]:
        """The status object (as :meth:`status`) whenever the version moves, sent as diffs
        (``engine.control.patch``): the first whole, then only what changed."""
        data: dict[str, Any] | None = None
        version = -1
        for message in self.watch(min_interval, diffs=True):
            if not message.patch_json:
                data = status_of(message)
            elif data is None or message.base_version != version:
                raise ControlError(
                    grpc.StatusCode.DATA_LOSS, "a snapshot patch without its base: watch again"
                )
            else:
                data = apply(data, json.loads(message.patch_json))
            version = message.version
            yield data

    def watch(self, min_interval: float = 0.0, diffs: bool = False) -> Iterator[pb.EngineSnapshot]:
        """Snapshots as the version moves (no timeout: close the client or cancel to end);
        ``diffs``: after the first, patches (:meth:`watch_status` applies them)."""
        request = pb.WatchRequest(min_interval=min_interval, diffs=diffs)
        stream = self.stub.WatchSnapshots(request, metadata=self.metadata)
        try:
            yield from stream
        except grpc.RpcError as exc:
            raise _error(exc) from None
        finally:
            stream.cancel()

    def _call(self, method: Any, request: Any) -> Any:
        try:
            return method(request, timeout=self.timeout, metadata=self.metadata)
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


def check_endpoint(endpoint: str, tls: bool) -> None:
    """ValueError saying what to do when ``endpoint`` is not ``host:port`` or is off loopback
    without TLS (the token would cross the network in clear)."""
    problem = listen_problem(endpoint, tls=tls)
    if problem and "loopback" in problem:
        raise ValueError(
            f"{endpoint} is not a loopback address: without TLS the token and every answer "
            "would cross the network in clear. Give the robot's certificate (--tls-root-cert "
            "PEM), or reach it through an SSH tunnel to 127.0.0.1"
        )
    if problem:
        raise ValueError(problem)


def connect_endpoint(
    endpoint: str,
    *,
    token_file: Path | None = None,
    tls_root_cert: Path | None = None,
    tls_server_name: str | None = None,
    timeout: float = TIMEOUT,
) -> ControlClient:
    """A client of the robot at ``endpoint`` (``host:port``) over TCP. The token: the file
    ``token_file``, else ``AVIN_CONTROL_TOKEN``, else this home's ``state/control.token`` (a
    robot on this machine). ValueError (an AccessError) saying what to do when there is none
    or the address needs TLS."""
    check_endpoint(endpoint, tls=tls_root_cert is not None)
    if token_file is None:
        token = read_token(socket_path(CONTROL_TOKEN_FILE))
    else:  # the file asked for wins over the environment
        token = read_token(token_file, env=False)
    root = None
    if tls_root_cert is not None:
        try:
            root = tls_root_cert.read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read the TLS certificate {tls_root_cert}: {exc}") from None
    return ControlClient(
        timeout=timeout,
        endpoint=endpoint,
        token=token,
        tls_root_cert=root,
        tls_server_name=tls_server_name,
    )


def _error(exc: grpc.RpcError) -> ControlError:
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    details = exc.details() if hasattr(exc, "details") else str(exc)
    return ControlError(code, details or code.name)
