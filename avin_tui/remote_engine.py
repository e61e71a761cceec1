"""A running robot seen through its control API: what the terminal app calls on its engine.

``avin attach`` gives the app a :class:`RemoteEngine` instead of an engine of its own. A
background thread keeps a ``WatchSnapshots`` stream open and holds the newest snapshot, so the
app's poll reads it without waiting on the socket; commands (the kill key first) are one call
each on the same channel. When the robot goes away the thread says why (``problem``) and
connects again as soon as a robot serves the socket; :meth:`snapshot` raises
:class:`RobotUnreachable` meanwhile, and the app shows the last snapshot under a banner.

Leaving the app never stops the robot: :meth:`request_stop` (what the app calls as it ends, a
hang-up included) only detaches. Stopping the robot is the explicit :meth:`stop_robot`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from avin_tui.remote_market import bars_of, book_of, tape_of, utc
from avin_tui.remote_records import RemoteKeeper, RemoteLog, report_of
from engine.control.client import ControlClient, ControlError, status_of
from engine.control.endpoint import is_live
from engine.control.proto import control_pb2 as pb
from engine.model import Bar, TimeFrame
from engine.model.market_data import MarketTrade, OrderBook
from engine.model.snapshot import EngineSnapshot
from engine.runtime.worklist import SpecCheck, StrategySpec

MAX_BARS = 5000  # the server's bound on one chart answer
MAX_TAPE = 1000  # the server's bound on one tape answer
LOG_BATCH = 2000  # log records per batch of the log stream
REFUSED_RETRY = 10.0  # seconds between two attempts after the robot refused this client
RETRY = 0.5  # seconds between two attempts to reach a robot that went away
COMMAND_TIMEOUT = 2.0  # seconds for one command (a robot answers in milliseconds)
CHECK_TIMEOUT = 20.0  # seconds for the check of a new worklist row (it may ask the broker)


HUNG = (
    "the robot stopped answering with its socket still open (hung or stopped?); `avin kill` "
    "from another shell latches HALTED for when it runs again"
)
_REFUSED = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)


class RobotUnreachable(ConnectionError):
    """No robot answers on the socket now (the message says why and what happens next)."""


def no_robot_message(path: Path, home: str | None = None) -> str:
    """What ``avin attach`` says when nothing serves ``path``: the socket of the ``home`` it
    looked at, or a path given with ``--endpoint`` (``home`` None)."""
    start = (
        "start one with `avin run --headless` (or under systemd, docs/operations.md), "
        "then `avin attach`"
    )
    if home is not None:
        return f"no robot runs on {home} (nothing serves {path}): {start}"
    if not path.exists():
        return (
            f"there is no control socket at {path}: --endpoint is a robot's socket "
            "(state/control.sock in its home) or HOST:PORT of its [control] listen"
        )
    return f"no robot answers on {path} (the robot of that home is not running): {start}"


class RemoteEngine:
    """The app's engine, attached to the robot serving ``path`` (see the module docstring)."""

    remote = True  # the app: no engine thread of its own; q asks detach or stop

    def __init__(
        self,
        path: Path | None,
        *,
        store: Any = None,
        interval: float = 0.25,
        retry: float = RETRY,
        connect: Callable[[], ControlClient] | None = None,
        where: str = "",
    ) -> None:
        """``path``: the robot's unix socket; or ``connect`` (``path`` None): a client of a
        TCP endpoint (``engine.control.client.connect_endpoint``), ``where`` naming it."""
        self.path = path
        self.where = where or str(path)
        self._connect = connect or (lambda: ControlClient(path, COMMAND_TIMEOUT))
        self.store = store  # the robot's state store: the user's workspace lives there
        self.interval = interval
        self.retry = retry
        self.logbook = RemoteLog()
        self.problem = "connecting"
        self.connects = 0  # streams opened (tests: a reconnect is a second one)
        self.received = 0  # snapshots received
        self.connected = threading.Event()
        self.refused = False  # the robot refused this client (its token): retried seldom
        self._latest: EngineSnapshot | None = None
        self._client: ControlClient | None = None
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._known: frozenset[str] | None = None
        self._recovery: dict[str, Any] | None = None
        self.keeper = RemoteKeeper(None)  # the robot's recovery report, as the app reads it
        self._last_chart: tuple[Any, list[Bar]] = (None, [])
        self._log_pid = 0  # the robot whose log is followed, and its last record's number
        self._log_after = 0
        self._thread: threading.Thread | None = None

    # --- the connection -------------------------------------------------------------------------

    def start(self) -> RemoteEngine:
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="avin-attach", daemon=True)
            self._thread.start()
        return self

    def wait_connected(self, timeout: float) -> bool:
        """Wait until a first snapshot came (True), the robot refused this client or
        ``timeout`` passed (False; ``problem`` says why)."""
        with self._changed:
            self._changed.wait_for(lambda: self._latest is not None or self.refused, timeout)
            return self._latest is not None

    def wait_version(self, version: int, timeout: float) -> EngineSnapshot | None:
        """Wait until a snapshot of at least ``version`` came; None after ``timeout``."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._latest is not None and self._latest.version >= version, timeout
            )
            latest = self._latest
        return latest if latest is not None and latest.version >= version else None

    def _watch(self) -> None:
        while not self._stop.is_set():
            if self.path is not None and not self.robot_alive():
                self._lost(f"no robot serves {self.path}")
                self._stop.wait(self.retry)
                continue
            try:
                client = self._connect()
            except Exception as exc:  # no token, a certificate that cannot be read
                self._lost(str(exc))
                self._stop.wait(self.retry)
                continue
            try:
                first = True
                for message in client.watch(self.interval):
                    data = status_of(message)
                    self.take(
                        EngineSnapshot.from_json(data),
                        client if first else None,
                        recovery=data.get("recovery"),
                    )
                    first = False
                    if self._stop.is_set():
                        break
                self._lost("the robot ended the stream (it is stopping?)")
            except ControlError as exc:
                if exc.code in _REFUSED:  # a token it does not take: no use asking again soon
                    self._lost(f"the robot refused this client ({exc.code.name}: {exc})", True)
                elif exc.code is grpc.StatusCode.UNAVAILABLE and "ping timeout" in str(exc):
                    self._lost(HUNG)  # the keepalive of engine.control.client went unanswered
                elif exc.code is grpc.StatusCode.UNAVAILABLE:
                    self._lost(f"the robot went away ({exc})")
                else:  # e.g. RESOURCE_EXHAUSTED: too many clients watch it now
                    self._lost(f"the robot gave no snapshots ({exc.code.name}: {exc})")
            except Exception as exc:  # a message this client cannot read: say so, try again
                self._lost(f"cannot read the robot's snapshot ({type(exc).__name__}: {exc})")
            finally:
                with self._lock:
                    if self._client is client:
                        self._client = None
                client.close()
            self._stop.wait(REFUSED_RETRY if self.refused else self.retry)

    def take(
        self,
        snap: EngineSnapshot,
        connected_by: ControlClient | None = None,
        *,
        recovery: dict[str, Any] | None = None,
    ) -> None:
        """A snapshot from the stream; ``connected_by``: the first of a new connection;
        ``recovery``: what the robot's start-up recovered (its status JSON's ``recovery``)."""
        with self._changed:
            if recovery is not None and recovery != self._recovery:
                self._recovery = recovery
                self.keeper = RemoteKeeper(report_of(recovery))
            if connected_by is not None:
                self._client = connected_by
                self.connects += 1
                # what the robot did before this client watched was announced where it was seen
                self._known = frozenset(o.key for o in snap.orders)
                self._follow_log(connected_by, snap.pid)
            self._latest = snap
            self.received += 1
            self.problem = ""
            self.refused = False
            self.connected.set()
            self._changed.notify_all()

    @property
    def restored_orders(self) -> frozenset[str] | None:
        """The orders the robot had when this client (last) connected: their rejections are not
        news here (avin_tui.notices); None before the first snapshot."""
        return self._known

    def _lost(self, why: str, refused: bool = False) -> None:
        with self._changed:
            self.connected.clear()
            self.problem = why
            self.refused = refused
            self._changed.notify_all()

    def robot_alive(self) -> bool:
        """Whether a process serves the socket now (blocks up to 0.2 s: not on the UI loop); on
        TCP, whether the snapshot stream is up."""
        if self.path is None:
            return self.connected.is_set()
        return self.path.exists() and is_live(self.path)

    def request_stop(self) -> None:
        """Detach: the stream and the channel closed; the robot keeps running."""
        self._stop.set()
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()  # ends the stream the thread waits on
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(2.0)

    # --- what the app reads ---------------------------------------------------------------------

    def snapshot(self) -> EngineSnapshot:
        """The newest snapshot the stream brought; RobotUnreachable while the robot is away."""
        latest = self._latest
        if latest is None or not self.connected.is_set():
            raise RobotUnreachable(self.problem or "connecting")
        return latest

    def chart(self, instrument: str, timeframe: TimeFrame, count: int) -> list[Bar]:
        """The robot's newest ``count`` bars of ``instrument`` (one call, a few milliseconds)."""
        key = (instrument, timeframe, count)
        try:
            client = self._connected_client()
        except RobotUnreachable:
            if self._last_chart[0] == key:  # the last state stays on screen while away
                return self._last_chart[1]
            raise
        request = pb.ChartRequest(
            instrument=instrument, timeframe=timeframe.value, count=max(1, min(count, MAX_BARS))
        )
        bars = bars_of(self._read(client, "Chart", request))
        self._last_chart = (key, bars)
        return bars

    def order_book(self, instrument: str) -> OrderBook | None:
        """The robot's newest order book of ``instrument`` (after :meth:`watch_book`), or None."""
        request = pb.BookRequest(instrument=instrument)
        return book_of(self._read(self._connected_client(), "OrderBook", request))

    def watch_book(self, instrument: str, depth: int) -> None:
        """Have the robot stream the book of ``instrument`` at ``depth`` (0: stop)."""
        request = pb.BookRequest(instrument=instrument, depth=depth)
        self._read(self._connected_client(), "WatchBook", request)

    def tape(self, instrument: str, count: int) -> list[MarketTrade]:
        """The newest ``count`` trades on the robot's tape of ``instrument``, newest first."""
        request = pb.TapeRequest(instrument=instrument, count=max(1, min(count, MAX_TAPE)))
        return tape_of(self._read(self._connected_client(), "Tape", request))

    def _read(self, client: ControlClient, method: str, request: Any) -> Any:
        """One read call; the robot's refusal or absence as RobotUnreachable with its words."""
        try:
            call = getattr(client.stub, method)
            return call(request, timeout=COMMAND_TIMEOUT, metadata=client.metadata)
        except grpc.RpcError as exc:
            raise RobotUnreachable(f"{method}: {exc.details() or exc.code().name}") from None
        except ValueError as exc:  # the channel was closed under us
            raise RobotUnreachable(str(exc)) from None

    # --- commands -------------------------------------------------------------------------------

    def kill(self, reason: str = "manual") -> None:
        self._command(pb.KILL, reason)

    def reduce(self, reason: str = "manual") -> None:
        self._command(pb.REDUCE, reason)

    def flatten(self, reason: str = "manual") -> None:
        self._command(pb.FLATTEN, reason)

    def resume_trading(self, reason: str = "") -> None:
        self._command(pb.RESUME, reason)

    def pause_strategy(self, strategy_id: str) -> None:
        self._command(pb.PAUSE_STRATEGY, target=strategy_id)

    def resume_strategy(self, strategy_id: str) -> None:
        self._command(pb.RESUME_STRATEGY, target=strategy_id)

    def stop_strategy(self, strategy_id: str) -> None:
        self._command(pb.STOP_STRATEGY, target=strategy_id)

    def start_strategy(self, strategy_id: str) -> None:
        self._command(pb.START_STRATEGY, target=strategy_id)

    def remove_strategy(self, strategy_id: str) -> None:
        self._command(pb.REMOVE_STRATEGY, target=strategy_id)

    def close_strategy_position(self, strategy_id: str) -> int:
        reply = self._command(pb.CLOSE_POSITION, target=strategy_id)
        return int(reply.result or 0)

    def cancel_order(self, order_key: str) -> None:
        self._command(pb.CANCEL_ORDER, target=order_key)

    def check_strategy(self, spec: StrategySpec) -> SpecCheck:
        """The robot's check of a worklist row (the add form asks before it adds)."""
        client = self._connected_client()
        request = pb.StrategySpecRequest(spec_json=json.dumps(spec.to_json()).encode())
        try:
            reply = client.stub.CheckStrategy(
                request, timeout=CHECK_TIMEOUT, metadata=client.metadata
            )
        except grpc.RpcError as exc:
            raise ControlError(exc.code(), exc.details() or exc.code().name) from None
        return SpecCheck(spec, tuple(reply.errors), tuple(reply.warnings))

    def add_strategy(self, spec: StrategySpec) -> str:
        """Add the row to the robot's worklist; the new strategy's id."""
        client = self._connected_client()
        request = pb.CommandRequest(
            kind=pb.ADD_STRATEGY, spec_json=json.dumps(spec.to_json()).encode()
        )
        try:
            return str(
                client.stub.Command(
                    request, timeout=COMMAND_TIMEOUT, metadata=client.metadata
                ).result
            )
        except grpc.RpcError as exc:
            raise ControlError(exc.code(), exc.details() or exc.code().name) from None

    def stop_robot(self, reason: str = "attached client") -> None:
        """Stop the robot (a clean stop, as SIGTERM): its state saved, its orders kept."""
        self._command(pb.STOP, reason)

    async def run(self, duration: float | None = None) -> None:
        raise RuntimeError("an attached app runs no engine of its own")

    def control_client(self) -> ControlClient:
        """The client of the connection now (RobotUnreachable while the robot is away)."""
        return self._connected_client()

    def _connected_client(self) -> ControlClient:
        with self._lock:
            client = self._client
        if client is None or not self.connected.is_set():
            raise RobotUnreachable(self.problem or "not connected")
        return client

    def _command(self, kind: Any, reason: str = "", target: str = "") -> pb.CommandReply:
        """One command; RobotUnreachable when no robot answered, else the robot's refusal as
        ControlError with its words."""
        client = self._connected_client()
        request = pb.CommandRequest(kind=kind, reason=reason[:200], target=target)
        try:
            return client.stub.Command(request, timeout=COMMAND_TIMEOUT, metadata=client.metadata)
        except grpc.RpcError as exc:
            code = exc.code()
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                raise RobotUnreachable(f"the robot did not answer: {exc.details()}") from None
            raise ControlError(code, exc.details() or code.name) from None
        except ValueError as exc:  # the channel was closed under us (the robot went away)
            raise RobotUnreachable(f"the robot went away: {exc}") from None

    # --- the log --------------------------------------------------------------------------------

    def _follow_log(self, client: ControlClient, pid: int) -> None:
        """The robot's log records into ``logbook``, from a stream of their own (a robot that
        restarted, another pid, is followed from its first record)."""
        if pid != self._log_pid:
            self._log_pid, self._log_after = pid, 0
        thread = threading.Thread(
            target=self._read_log, args=(client,), name="avin-attach-log", daemon=True
        )
        thread.start()

    def _read_log(self, client: ControlClient) -> None:
        request = pb.LogRequest(after_seq=self._log_after, limit=LOG_BATCH)
        try:
            for batch in client.stub.WatchLog(request, metadata=client.metadata):
                for record in batch.records:
                    self.logbook.add(
                        utc(record.ts_us),
                        record.level,
                        record.source,
                        record.message,
                        record.detail,
                    )
                    self._log_after = record.seq
                if self._stop.is_set():
                    return
        except (grpc.RpcError, ValueError):
            return  # the robot went away: the snapshot thread connects again and follows anew
