"""What an attached client reads besides the snapshot: chart bars, log records, incidents, the
session's instruments, a strategy row's check and the UI workspace.

Each is one call to the engine's public, thread-safe methods (``chart``, ``logbook``,
``check_strategy``, ``workspace``...), bounded in size. The log stream (``WatchLog``) reads the
engine's log book on its own turn, a batch at a time: a client that falls behind skips to the
newest records and is told how many it missed; one that stops reading holds only its own stream.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc

from engine.control.proto import control_pb2 as pb
from engine.model import TimeFrame

MAX_BARS = 5_000  # a chart keeps about this many bars
LOG_DEFAULT, LOG_MAX = 2_000, 5_000  # log records per answer / per batch
LOG_BATCH_BYTES = 4 * 1024 * 1024  # at most this much in one answer / batch (the newest kept)
LOG_TEXT = 32 * 1024  # characters of one record's message (or traceback) sent, at most
LOG_TURN = 0.1  # seconds between two looks at the log book of a WatchLog stream
LOG_KEEPALIVE = 1.0  # seconds: an empty batch (the newest seq) when nothing was written
INCIDENTS_DEFAULT, INCIDENTS_MAX = 200, 1_000
INCIDENTS_TAIL = 1 << 20  # bytes of incidents.log read at most
MAX_SPEC = 16 * 1024  # bytes of a strategy row's JSON
MAX_WORKSPACE = 64 * 1024  # bytes of the UI workspace's JSON
MAX_NESTING = 32  # levels of a JSON object a client sends


def abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> None:
    context.abort(code, message)


def invalid(context: grpc.ServicerContext, message: str) -> None:
    context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)


def method(engine: Any, name: str, context: grpc.ServicerContext) -> Any:
    """The engine's public method ``name``; UNIMPLEMENTED when this engine has none."""
    found = getattr(engine, name, None)
    if found is None:
        abort(context, grpc.StatusCode.UNIMPLEMENTED, f"this robot cannot {name.replace('_', ' ')}")
    return found


def micros(ts: datetime) -> int:
    return int(ts.timestamp()) * 1_000_000 + ts.microsecond


# --- chart ---------------------------------------------------------------------------------------


def chart(engine: Any, request: pb.ChartRequest, context: grpc.ServicerContext) -> pb.ChartReply:
    if not request.instrument or len(request.instrument) > 128:
        invalid(context, "instrument: a ticker (SBER) or a code (MOEX_SHARE_SBER) is needed")
    try:
        timeframe = TimeFrame(request.timeframe)
    except ValueError:
        names = " ".join(t.value for t in TimeFrame)
        invalid(context, f"timeframe {request.timeframe[:16]!r} is not one of {names}")
    if not 1 <= request.count <= MAX_BARS:
        invalid(context, f"count must be between 1 and {MAX_BARS}")
    bars = method(engine, "chart", context)(request.instrument, timeframe, request.count)
    return pb.ChartReply(
        bars=[
            pb.Bar(
                ts_us=micros(b.ts),
                open=b.open,
                high=b.high,
                low=b.low,
                close=b.close,
                volume=b.volume,
            )
            for b in bars
        ]
    )


# --- log -----------------------------------------------------------------------------------------


def _logbook(engine: Any, context: grpc.ServicerContext) -> Any:
    book = getattr(engine, "logbook", None)
    if book is None:
        abort(context, grpc.StatusCode.FAILED_PRECONDITION, "this robot keeps no log book")
    return book


def _limit(value: int, default: int, bound: int) -> int:
    return min(value or default, bound)


def log_batch(book: Any, after: int, limit: int) -> pb.LogBatch:
    """The newest ``limit`` records after ``after``, at most LOG_BATCH_BYTES of them (a record's
    text cut at LOG_TEXT, saying so); ``skipped``: the older ones after ``after`` not in it."""
    last = int(book.last_seq)
    if after > last:  # a number from an earlier run of the robot: from the oldest kept
        after = 0
    entries = book.entries_since(after, limit=limit) if after < last else []
    records: list[pb.LogRecord] = []
    size = 0
    for e in reversed(entries):  # the newest first, until the batch is full
        record = pb.LogRecord(
            seq=e.seq,
            ts_us=micros(e.ts),
            level=e.level,
            source=_cut(e.source, 256),
            message=_cut(e.message, LOG_TEXT),
            detail=_cut(e.detail, LOG_TEXT),
        )
        size += record.ByteSize()
        if records and size > LOG_BATCH_BYTES:
            break
        records.append(record)
    records.reverse()
    first = records[0].seq if records else last + 1
    return pb.LogBatch(
        records=records,
        skipped=max(0, first - after - 1),
        last_seq=max(last, entries[-1].seq if entries else 0),
    )


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… (cut: {len(text)} characters in avin.log)"


def log(engine: Any, request: pb.LogRequest, context: grpc.ServicerContext) -> pb.LogBatch:
    book = _logbook(engine, context)
    return log_batch(book, request.after_seq, _limit(request.limit, LOG_DEFAULT, LOG_MAX))


def watch_log(
    engine: Any,
    request: pb.LogRequest,
    context: grpc.ServicerContext,
    stopping: threading.Event,
) -> Iterator[pb.LogBatch]:
    """Batches as records are written. The next batch is read only when the transport took the
    last one (a client's small receive window holds one or two), and it holds the newest
    ``limit`` records: a client that fell behind skips ahead (``skipped``), it never gets a
    backlog, and the engine never waits for it (this stream's thread reads the log book)."""
    book = _logbook(engine, context)
    limit = _limit(request.limit, LOG_DEFAULT, LOG_MAX)
    after = request.after_seq
    quiet = 0.0
    while context.is_active() and not stopping.is_set():
        batch = log_batch(book, after, limit)
        if batch.records or batch.skipped or quiet >= LOG_KEEPALIVE:
            quiet = 0.0
            after = batch.last_seq
            yield batch
        stopping.wait(LOG_TURN)
        quiet += LOG_TURN


# --- incidents -----------------------------------------------------------------------------------


def incidents(
    engine: Any, request: pb.IncidentsRequest, context: grpc.ServicerContext
) -> pb.IncidentsReply:
    book = getattr(engine, "logbook", None)
    log_path: Path | None = getattr(book, "log_path", None)
    if log_path is None:
        abort(context, grpc.StatusCode.FAILED_PRECONDITION, "this robot writes no log files")
        raise AssertionError("unreachable")
    limit = _limit(request.limit, INCIDENTS_DEFAULT, INCIDENTS_MAX)
    return pb.IncidentsReply(
        incidents=[pb.Incident(json=line) for line in tail_incidents(log_path.parent, limit)]
    )


def tail_incidents(logs_dir: Path, limit: int) -> list[bytes]:
    """The newest ``limit`` incidents of ``incidents.log`` as JSON objects (a line that is not
    one, from an older avin, becomes ``{"what": line}``), oldest first."""
    path = logs_dir / "incidents.log"
    try:
        with path.open("rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - INCIDENTS_TAIL))
            data = f.read()
    except FileNotFoundError:
        return []
    lines = data.splitlines()
    if len(data) == INCIDENTS_TAIL and lines:
        lines = lines[1:]  # the first one is cut
    out: list[bytes] = []
    for raw in lines[-limit:]:
        text = raw.decode("utf-8", errors="replace").strip()
        if not text:
            continue
        try:
            ok = isinstance(json.loads(text), dict)
        except ValueError:
            ok = False
        out.append(text.encode() if ok else json.dumps({"what": text}).encode())
    return out


# --- session, strategy rows, workspace ----------------------------------------------------------


def session(engine: Any, context: grpc.ServicerContext) -> pb.SessionInfo:
    instruments = getattr(engine, "instruments", None) or {}
    restored = getattr(engine, "restored_orders", None)
    snap = engine.snapshot()
    return pb.SessionInfo(
        pid=snap.pid,
        instruments_json=json.dumps(
            [_instrument(i) for i in list(dict(instruments).values())], ensure_ascii=False
        ).encode(),
        restored_orders=sorted(restored or ()),
        recovery_over=restored is not None,
        mode=snap.mode.value,
    )


def _instrument(instrument: Any) -> dict[str, Any]:
    fields = ("exchange", "category", "ticker", "uid", "figi", "class_code", "lot", "step")
    data = {name: getattr(instrument, name) for name in fields}
    data["currency"] = getattr(instrument, "currency", "rub")
    data["name"] = getattr(instrument, "name", "")
    data["step"] = str(Decimal(data["step"]))
    return data


def json_object(raw: bytes, what: str, context: grpc.ServicerContext) -> dict[str, Any]:
    """``raw`` as a JSON object nested at most MAX_NESTING deep, or INVALID_ARGUMENT."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        invalid(context, f"{what} is not JSON: {str(exc)[:200]}")
    if not isinstance(data, dict):
        invalid(context, f"{what} must be a JSON object")
    level, depth = [data], 1
    while level:
        if depth > MAX_NESTING:
            invalid(context, f"{what} is nested more than {MAX_NESTING} levels deep")
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        depth += 1
    result: dict[str, Any] = data
    return result


def spec_of(raw: bytes, context: grpc.ServicerContext) -> Any:
    """The StrategySpec in ``raw`` (StrategySpec.to_json), or INVALID_ARGUMENT saying why not."""
    from engine.runtime.worklist import StrategySpec

    if not raw:
        invalid(context, "spec_json is needed: the row as JSON (StrategySpec.to_json)")
    if len(raw) > MAX_SPEC:
        invalid(context, f"spec_json is {len(raw)} bytes; at most {MAX_SPEC}")
    data = json_object(raw, "spec_json", context)
    try:
        return StrategySpec.from_json(data)
    except KeyError as exc:
        invalid(context, f"spec_json lacks {exc}: name and instrument are needed")
    except (ValueError, TypeError, ArithmeticError) as exc:
        invalid(context, f"spec_json is not a strategy row: {exc}")


def check_strategy(
    engine: Any, request: pb.StrategySpecRequest, context: grpc.ServicerContext
) -> pb.SpecCheckReply:
    spec = spec_of(request.spec_json, context)
    checked = method(engine, "check_strategy", context)(spec)
    return pb.SpecCheckReply(errors=list(checked.errors), warnings=list(checked.warnings))


def get_workspace(engine: Any, context: grpc.ServicerContext) -> pb.Workspace:
    data = method(engine, "workspace", context)()
    return pb.Workspace(json=json.dumps(data or {}, ensure_ascii=False).encode())


def save_workspace(
    engine: Any, request: pb.Workspace, context: grpc.ServicerContext
) -> pb.Workspace:
    if len(request.json) > MAX_WORKSPACE:
        invalid(context, f"the workspace is {len(request.json)} bytes; at most {MAX_WORKSPACE}")
    data = json_object(request.json or b"{}", "the workspace", context)
    method(engine, "save_workspace", context)(data)
    return pb.Workspace(json=json.dumps(data, ensure_ascii=False).encode())


# --- backtests -----------------------------------------------------------------------------------

BACKTESTS_DEFAULT, BACKTESTS_MAX = 50, 500
BACKTESTS_BYTES = 16 * 1024 * 1024  # of reports in one answer


def backtests(request: pb.BacktestsRequest) -> pb.BacktestsReply:
    """The backtests saved in this robot's data home, newest first (report.json of each), at
    most BACKTESTS_BYTES of reports in one answer."""
    from engine.backtest.storage import list_backtests

    limit = _limit(request.limit, BACKTESTS_DEFAULT, BACKTESTS_MAX)
    reply = pb.BacktestsReply()
    size = 0
    for saved in list_backtests()[:limit]:
        report = json.dumps(saved.doc, ensure_ascii=False).encode()
        size += len(report)
        if reply.backtests and size > BACKTESTS_BYTES:
            break
        reply.backtests.append(pb.Backtest(id=saved.id, report_json=report))
    return reply
