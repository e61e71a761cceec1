"""The control server of a run: gRPC on the unix socket in the state home, mode 0600, and on
TCP when ``[control] listen`` asks for it (a token on every call, TLS off loopback:
:mod:`engine.control.tcp`).

``with serve_control(engine): ...`` around a run (headless, the terminal app's engine, a
supervised child): the socket is claimed (a stale one left by a killed robot replaced, a live
one never taken), served by a small thread pool of its own and removed on a clean stop. A
failure to serve is logged and the robot runs on without it: the store path (``avin kill``
through the status store) still reaches it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc

from engine.control.endpoint import (
    KEEPALIVE_MS,
    EndpointError,
    claim_socket,
    make_private,
    release_socket,
    socket_id,
    socket_path,
    unix_target,
)
from engine.control.proto import control_pb2 as pb
from engine.control.service import MAX_WATCHERS, Controllable, ControlService, parser
from engine.control.tcp import Refusals, TcpEndpoint, bind, endpoint_from, guarded
from engine.model.snapshot import EngineSnapshot

log = logging.getLogger("avin.control")

# bytes: a command is a few dozen, a workspace at most 64 KiB; anything bigger is refused by gRPC
MAX_REQUEST = 96 * 1024
MAX_REPLY = 64 * 1024 * 1024  # a snapshot with many orders
COMMAND_WORKERS = 4  # besides one per snapshot stream: commands always find a worker
STOP_GRACE = 0.5  # seconds the streams get to end on a stop


class ControlServer:
    def __init__(
        self,
        engine: Controllable,
        path: Path | None = None,
        *,
        status: Callable[[EngineSnapshot], dict[str, Any]] | None = None,
    ) -> None:
        self.path = path or socket_path()
        self.stopping = threading.Event()
        self.service = ControlService(engine, status=status, stopping=self.stopping)
        self._server: grpc.Server | None = None
        self._tcp: grpc.Server | None = None
        self._pools: list[ThreadPoolExecutor] = []
        self._owned: tuple[int, int] | None = None
        self.replaced_stale = False
        self.tcp_port = 0  # the TCP port bound (start_tcp)
        self.refusals = Refusals()  # calls refused for want of the token (TCP)

    def start(self) -> None:
        """Claim the socket and serve; :class:`EndpointError` when it cannot."""
        self.replaced_stale = claim_socket(self.path)
        if self.replaced_stale:
            log.warning("replaced the stale socket %s (a robot was killed)", self.path)
        server = self._new_server(None)
        if not server.add_insecure_port(unix_target(self.path)):
            raise EndpointError(f"cannot listen on {self.path}")
        server.start()
        make_private(self.path)
        self._owned = socket_id(self.path)
        self._server = server
        log.info("serving on %s", self.path)

    def start_tcp(self, endpoint: TcpEndpoint) -> int:
        """Serve on TCP too, every call checked for the token; the port bound."""
        server = self._new_server(endpoint.token)
        self.tcp_port = bind(server, endpoint)
        server.start()
        self._tcp = server
        log.info(
            "serving on %s:%d (%s, a token on every call)",
            endpoint.host,
            self.tcp_port,
            "TLS" if endpoint.tls else "loopback, no TLS",
        )
        return self.tcp_port

    def _new_server(self, token: str | None) -> grpc.Server:
        # a pool per server: each keeps a worker for commands whatever its streams do
        pool = ThreadPoolExecutor(MAX_WATCHERS + COMMAND_WORKERS, thread_name_prefix="avin-control")
        self._pools.append(pool)
        options: list[tuple[str, Any]] = [
            ("grpc.max_receive_message_length", MAX_REQUEST),
            ("grpc.max_send_message_length", MAX_REPLY),
            # the clients' keepalive pings (engine.control.client): taken, never a GOAWAY
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_recv_ping_interval_without_data_ms", KEEPALIVE_MS // 2),
            ("grpc.http2.max_ping_strikes", 0),
        ]
        if token is not None:  # TCP: never share a port with another robot (gRPC would)
            options.append(("grpc.so_reuseport", 0))
        server = grpc.server(
            pool, options=options, maximum_concurrent_rpcs=MAX_WATCHERS + COMMAND_WORKERS
        )
        server.add_generic_rpc_handlers((_handlers(self.service, token, self.refusals),))
        return server

    def stop(self) -> None:
        servers = [s for s in (self._server, self._tcp) if s is not None]
        unix, self._server, self._tcp = self._server, None, None
        pools, self._pools = self._pools, []
        self.stopping.set()  # snapshot streams end
        for stopped in [server.stop(STOP_GRACE) for server in servers]:
            stopped.wait(STOP_GRACE + 1.0)
        for pool in pools:  # gRPC leaves the pool it was given running
            pool.shutdown(wait=False, cancel_futures=True)
        if unix is not None:
            release_socket(self.path, self._owned)
            self._owned = None
        if servers:
            log.info("stopped")


@contextlib.contextmanager
def serve_control(
    engine: Controllable,
    path: Path | None = None,
    *,
    status: Callable[[EngineSnapshot], dict[str, Any]] | None = None,
    tcp: TcpEndpoint | None = None,
) -> Iterator[ControlServer | None]:
    """Serve the control API around a run; None (logged) when it cannot: the robot runs on.

    TCP: ``tcp``, else what the engine's options say (``[control] listen``)."""
    server = ControlServer(engine, path, status=status)
    serving = False
    try:
        server.start()
        serving = True
    except Exception as exc:  # never a reason to keep the robot from trading safely
        log.warning("not serving (%s); avin kill/resume use the status store", exc)
    try:
        if tcp is None:
            tcp = endpoint_from(getattr(getattr(engine, "options", None), "control", None))
        if tcp is not None:
            server.start_tcp(tcp)
            serving = True
    except Exception as exc:
        log.error("not serving on TCP (%s); the unix socket still is", exc)
    try:
        yield server if serving else None
    finally:
        try:
            server.stop()
        except Exception as exc:
            log.warning("stopping failed: %s", exc)


def engine_status(engine: Any) -> Callable[[EngineSnapshot], dict[str, Any]] | None:
    """The status JSON as the engine saves it (with what its last start recovered), when the
    engine has a state keeper; None: the snapshot's own JSON."""
    keeper = getattr(engine, "keeper", None)
    public = getattr(keeper, "public", None)
    if public is None:
        return None
    return lambda snap: public(snap.to_json())


def _handlers(
    service: ControlService, token: str | None = None, refusals: Refusals | None = None
) -> grpc.GenericRpcHandler:
    """The service's methods; with ``token`` each checks it first (the TCP endpoint)."""
    refusals = refusals or Refusals()
    unary, stream = grpc.unary_unary_rpc_method_handler, grpc.unary_stream_rpc_method_handler
    methods: dict[
        str, tuple[Any, Any, Any, Any]
    ] = {  # name: (kind, the servicer's method, the request, the reply)
        "Snapshot": (unary, service.Snapshot, pb.SnapshotRequest, pb.EngineSnapshot),
        "WatchSnapshots": (stream, service.WatchSnapshots, pb.WatchRequest, pb.EngineSnapshot),
        "Command": (unary, service.Command, pb.CommandRequest, pb.CommandReply),
        "Chart": (unary, service.Chart, pb.ChartRequest, pb.ChartReply),
        "Log": (unary, service.Log, pb.LogRequest, pb.LogBatch),
        "WatchLog": (stream, service.WatchLog, pb.LogRequest, pb.LogBatch),
        "Incidents": (unary, service.Incidents, pb.IncidentsRequest, pb.IncidentsReply),
        "Session": (unary, service.Session, pb.SessionRequest, pb.SessionInfo),
        "CheckStrategy": (
            unary,
            service.CheckStrategy,
            pb.StrategySpecRequest,
            pb.SpecCheckReply,
        ),
        "GetWorkspace": (unary, service.GetWorkspace, pb.WorkspaceRequest, pb.Workspace),
        "SaveWorkspace": (unary, service.SaveWorkspace, pb.Workspace, pb.Workspace),
        "OrderBook": (unary, service.OrderBook, pb.BookRequest, pb.OrderBookReply),
        "WatchBook": (unary, service.WatchBook, pb.BookRequest, pb.OrderBookReply),
        "Tape": (unary, service.Tape, pb.TapeRequest, pb.TapeReply),
        "Backtests": (unary, service.Backtests, pb.BacktestsRequest, pb.BacktestsReply),
    }
    return grpc.method_handlers_generic_handler(
        "avin.control.v1.Control",
        {
            name: kind(
                behaviour if token is None else guarded(behaviour, token, kind is stream, refusals),
                request_deserializer=parser(request),
                response_serializer=reply.SerializeToString,
            )
            for name, (kind, behaviour, request, reply) in methods.items()
        },
    )
