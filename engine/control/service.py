"""The ``Control`` servicer: snapshots the engine already built, commands through its hand-off.

The engine is reached only through its public control methods (``snapshot``, ``kill``,
``reduce``, ``flatten``, ``resume_trading``, ``pause_strategy``, ``resume_strategy``,
``cancel_order``): synchronous, thread-safe, they return at once (work that needs the engine's
loop is handed to it), so a client never blocks the engine. A kill acts in the call, as the
TUI's kill key does: the switch is HALTED and the cancels are queued before the answer leaves.

Snapshots: the engine's versioned snapshot (built only when the version moved), encoded once per
version for every client. ``WatchSnapshots`` sends one when the version moved, at most every
``min_interval``; the next one is taken when the client is ready for it, so a client that fell
behind gets the newest, never a queue of old ones, and a client that stops reading only holds
its own stream (the number of streams, snapshots and log alike, is bounded so commands always
find a worker). Chart bars, log records, incidents and the other reads: :mod:`engine.control.reads`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import grpc

from engine.control import depth, reads
from engine.control.patch import diff
from engine.control.proto import control_pb2 as pb
from engine.model.snapshot import EngineSnapshot, TradingState

log = logging.getLogger("avin.control")

MAX_REASON = 200
MAX_TARGET = 128
MAX_WATCHERS = 16  # streams at once (snapshots and log): two per attached TUI
WATCH_DEFAULT = 0.2  # seconds between two snapshots of a stream, unless the client asks
WATCH_BOUNDS = (0.02, 10.0)


class Controllable(Protocol):
    """What the server needs of the engine: its public control methods."""

    @property
    def trading_state(self) -> TradingState: ...
    @property
    def halt_reason(self) -> str: ...
    def snapshot(self) -> EngineSnapshot: ...
    def kill(self, reason: str = "manual") -> None: ...
    def reduce(self, reason: str = "manual") -> None: ...
    def flatten(self, reason: str = "manual") -> None: ...
    def resume_trading(self, reason: str = "") -> None: ...
    def pause_strategy(self, strategy_id: str) -> None: ...
    def resume_strategy(self, strategy_id: str) -> None: ...
    def cancel_order(self, order_key: str) -> None: ...


class Malformed:
    """A request whose bytes are not the expected message (answered INVALID_ARGUMENT)."""

    def __init__(self, name: str) -> None:
        self.name = name


def parser(message: type[Any]) -> Callable[[bytes], Any]:
    """A request deserializer that never raises (gRPC's own answer would be a bare INTERNAL)."""

    def parse(data: bytes) -> Any:
        try:
            return message.FromString(data)
        except Exception:
            return Malformed(message.DESCRIPTOR.name)

    return parse


class ControlService:
    def __init__(
        self,
        engine: Controllable,
        *,
        status: Callable[[EngineSnapshot], dict[str, Any]] | None = None,
        stopping: threading.Event | None = None,
    ) -> None:
        self.engine = engine
        self._status = status or (lambda snap: snap.to_json())
        self.stopping = stopping or threading.Event()
        self._lock = threading.Lock()
        self._encoded: tuple[EngineSnapshot, pb.EngineSnapshot] | None = None
        self._plain: tuple[pb.EngineSnapshot, dict[str, Any]] | None = None  # for diffs
        self.watchers = 0
        self.sent = 0  # snapshots sent on streams (tests, the bench)
        self.log_batches = 0  # log batches sent on streams

    # --- snapshots ------------------------------------------------------------------------------

    def current(self) -> pb.EngineSnapshot:
        """The engine's snapshot as a message, encoded once per snapshot."""
        snap = self.engine.snapshot()
        cached = self._encoded
        if cached is not None and cached[0] is snap:
            return cached[1]
        data = self._status(snap)
        message = pb.EngineSnapshot(
            version=snap.version,
            trading_state=snap.trading_state.value,
            running=snap.running,
            pid=snap.pid,
            status_json=json.dumps(data, ensure_ascii=False).encode(),
        )
        self._encoded = (snap, message)
        return message

    def Snapshot(self, request: Any, context: grpc.ServicerContext) -> pb.EngineSnapshot:
        _reject_malformed(request, context)
        return self.current()

    def WatchSnapshots(
        self, request: Any, context: grpc.ServicerContext
    ) -> Iterator[pb.EngineSnapshot]:
        _reject_malformed(request, context)
        interval = request.min_interval or WATCH_DEFAULT
        if not WATCH_BOUNDS[0] <= interval <= WATCH_BOUNDS[1]:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"min_interval must be between {WATCH_BOUNDS[0]} and {WATCH_BOUNDS[1]} seconds",
            )
        with self._stream(context):
            last = -1
            base: dict[str, Any] | None = None  # diffs: what this client has
            while context.is_active() and not self.stopping.is_set():
                message = self.current()  # taken when the client is ready: always the newest
                if message.version != last:
                    if request.diffs:
                        data = self._decoded(message)
                        sent = message if base is None else _patch(message, last, base, data)
                        base = data
                    else:
                        sent = message
                    last = message.version
                    self.sent += 1
                    yield sent
                self.stopping.wait(interval)

    def _decoded(self, message: pb.EngineSnapshot) -> dict[str, Any]:
        """The status object of ``message`` as the client decodes it, once per snapshot."""
        cached = self._plain
        if cached is not None and cached[0] is message:
            return cached[1]
        data: dict[str, Any] = json.loads(message.status_json)
        self._plain = (message, data)
        return data

    @contextlib.contextmanager
    def _stream(self, context: grpc.ServicerContext) -> Iterator[None]:
        with self._lock:
            if self.watchers >= MAX_WATCHERS:
                context.abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"at most {MAX_WATCHERS} streams (snapshots and log) at once: close one "
                    "and retry",
                )
            self.watchers += 1
        try:
            yield
        finally:
            with self._lock:
                self.watchers -= 1

    # --- reads (engine.control.reads) -----------------------------------------------------------

    def Chart(self, request: Any, context: grpc.ServicerContext) -> pb.ChartReply:
        _reject_malformed(request, context)
        return reads.chart(self.engine, request, context)

    def Log(self, request: Any, context: grpc.ServicerContext) -> pb.LogBatch:
        _reject_malformed(request, context)
        return reads.log(self.engine, request, context)

    def WatchLog(self, request: Any, context: grpc.ServicerContext) -> Iterator[pb.LogBatch]:
        _reject_malformed(request, context)
        with self._stream(context):
            for batch in reads.watch_log(self.engine, request, context, self.stopping):
                self.log_batches += 1
                yield batch

    def Incidents(self, request: Any, context: grpc.ServicerContext) -> pb.IncidentsReply:
        _reject_malformed(request, context)
        return reads.incidents(self.engine, request, context)

    def Session(self, request: Any, context: grpc.ServicerContext) -> pb.SessionInfo:
        _reject_malformed(request, context)
        return reads.session(self.engine, context)

    def CheckStrategy(self, request: Any, context: grpc.ServicerContext) -> pb.SpecCheckReply:
        _reject_malformed(request, context)
        return reads.check_strategy(self.engine, request, context)

    def GetWorkspace(self, request: Any, context: grpc.ServicerContext) -> pb.Workspace:
        _reject_malformed(request, context)
        return reads.get_workspace(self.engine, context)

    def SaveWorkspace(self, request: Any, context: grpc.ServicerContext) -> pb.Workspace:
        _reject_malformed(request, context)
        return reads.save_workspace(self.engine, request, context)

    def OrderBook(self, request: Any, context: grpc.ServicerContext) -> pb.OrderBookReply:
        _reject_malformed(request, context)
        return depth.order_book(self.engine, request, context)

    def WatchBook(self, request: Any, context: grpc.ServicerContext) -> pb.OrderBookReply:
        _reject_malformed(request, context)
        return depth.watch_book(self.engine, request, context)

    def Tape(self, request: Any, context: grpc.ServicerContext) -> pb.TapeReply:
        _reject_malformed(request, context)
        return depth.tape(self.engine, request, context)

    def Backtests(self, request: Any, context: grpc.ServicerContext) -> pb.BacktestsReply:
        _reject_malformed(request, context)
        return reads.backtests(request)

    # --- commands -------------------------------------------------------------------------------

    def Command(self, request: Any, context: grpc.ServicerContext) -> pb.CommandReply:
        _reject_malformed(request, context)
        reason = _checked_text(request.reason, "reason", MAX_REASON, context)
        target = _checked_text(request.target, "target", MAX_TARGET, context)
        kind = request.kind
        engine = self.engine
        if kind not in _PROTECTIVE and not context.is_active():
            # the caller gave up (its deadline passed while this robot was busy or stopped): a
            # resume or a strategy command it no longer waits for is not acted on; a kill is
            context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "the caller's deadline passed")
        if kind in _STATE_COMMANDS:
            if target:
                _invalid(context, f"{pb.CommandKind.Name(kind)} takes no target")
            name = pb.CommandKind.Name(kind).lower()
            log.warning("%s (%s)", name, reason or "no reason given")
            default = f"control {name}"
            if kind == pb.KILL:
                engine.kill(reason or default)  # HALTED now, the cancels queued: the fast path
            elif kind == pb.REDUCE:
                engine.reduce(reason or default)
            elif kind == pb.FLATTEN:
                engine.flatten(reason or default)
            else:
                engine.resume_trading(reason or default)
            return self._reply()
        if kind in (pb.PAUSE_STRATEGY, pb.RESUME_STRATEGY):
            if not target:
                _invalid(context, "a strategy command needs target: the strategy id")
            if _strategy_state(engine.snapshot(), target) is None:
                context.abort(grpc.StatusCode.NOT_FOUND, f"no strategy {target!r} in this robot")
            log.warning("%s %s", pb.CommandKind.Name(kind).lower(), target)
            if kind == pb.PAUSE_STRATEGY:
                engine.pause_strategy(target)
            else:
                engine.resume_strategy(target)
            return self._reply(_strategy_state(engine.snapshot(), target) or "")
        if kind == pb.CANCEL_ORDER:
            if not target:
                _invalid(context, "cancel_order needs target: the order key")
            if not any(o.key == target for o in engine.snapshot().orders):
                context.abort(grpc.StatusCode.NOT_FOUND, f"no order {target[:8]!r} in this robot")
            log.warning("cancel order %s", target[:8])
            engine.cancel_order(target)
            return self._reply()
        if kind in _ROW_COMMANDS:
            return self._row_command(kind, target, request.spec_json, context)
        if kind == pb.STOP:
            if target:
                _invalid(context, "STOP takes no target")
            log.warning("stop the robot (%s)", reason or "no reason given")
            reads.method(engine, "request_stop", context)()
            return self._reply()
        _invalid(context, f"unknown command kind {kind}: use one of {_KIND_NAMES}")
        raise AssertionError("unreachable")  # context.abort raises

    def _row_command(
        self, kind: int, target: str, spec_json: bytes, context: grpc.ServicerContext
    ) -> pb.CommandReply:
        """The worklist by hand: add, remove, stop, start a row, close a row's position. The
        engine's refusal (it holds a position, the row would duplicate one) comes back as
        FAILED_PRECONDITION with its words, an unknown row as NOT_FOUND."""
        name = pb.CommandKind.Name(kind).lower()
        argument: Any
        if kind == pb.ADD_STRATEGY:
            if target:
                _invalid(context, "add_strategy takes spec_json, not a target")
            argument = reads.spec_of(spec_json, context)
            what = f"{argument.name} {argument.instrument}"
        else:
            if not target:
                _invalid(context, f"{name} needs target: the strategy id")
            if _strategy_state(self.engine.snapshot(), target) is None:
                context.abort(grpc.StatusCode.NOT_FOUND, f"no strategy {target!r} in this robot")
            argument = what = target
        call = reads.method(self.engine, _ROW_COMMANDS[kind], context)
        log.warning("%s %s", name, what)
        try:
            result = call(argument)
        except KeyError as exc:
            context.abort(grpc.StatusCode.NOT_FOUND, str(exc.args[0] if exc.args else exc))
        except (ValueError, RuntimeError) as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        state = "" if kind == pb.ADD_STRATEGY else _strategy_state(self.engine.snapshot(), target)
        reply = self._reply(state or "")
        reply.result = "" if result is None else str(result)
        return reply

    def _reply(self, strategy_state: str = "") -> pb.CommandReply:
        engine = self.engine
        return pb.CommandReply(
            trading_state=engine.trading_state.value,
            halt_reason=engine.halt_reason,
            strategy_state=strategy_state,
            pid=_pid(),
        )


_STATE_COMMANDS = (pb.KILL, pb.REDUCE, pb.FLATTEN, pb.RESUME)
_ROW_COMMANDS: dict[int, str] = {  # kind: the engine method (ADD_STRATEGY takes the spec)
    pb.ADD_STRATEGY: "add_strategy",
    pb.REMOVE_STRATEGY: "remove_strategy",
    pb.STOP_STRATEGY: "stop_strategy",
    pb.START_STRATEGY: "start_strategy",
    pb.CLOSE_POSITION: "close_strategy_position",
}
_PROTECTIVE = (pb.KILL, pb.REDUCE, pb.FLATTEN)  # acted on even when the caller gave up
_KIND_NAMES = ", ".join(
    n
    for n in pb.CommandKind.keys()  # noqa: SIM118 (an enum wrapper, not a dict)
    if n != "COMMAND_KIND_UNSPECIFIED"
)


def _patch(
    message: pb.EngineSnapshot, base_version: int, base: dict[str, Any], data: dict[str, Any]
) -> pb.EngineSnapshot:
    return pb.EngineSnapshot(
        version=message.version,
        trading_state=message.trading_state,
        running=message.running,
        pid=message.pid,
        patch_json=json.dumps(diff(base, data), ensure_ascii=False).encode(),
        base_version=base_version,
    )


def _pid() -> int:
    return os.getpid()


def _strategy_state(snap: EngineSnapshot, strategy_id: str) -> str | None:
    for row in snap.strategies:
        if row.id == strategy_id:
            return str(row.state)
    return None


def _reject_malformed(request: Any, context: grpc.ServicerContext) -> None:
    if isinstance(request, Malformed):
        _invalid(context, f"the request is not a valid {request.name} message")


def _invalid(context: grpc.ServicerContext, message: str) -> None:
    context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)


def _checked_text(text: str, field: str, limit: int, context: grpc.ServicerContext) -> str:
    if len(text) > limit:
        _invalid(context, f"{field} is {len(text)} characters long; at most {limit}")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        _invalid(context, f"{field} holds control characters: use plain text")
    return text.strip()
