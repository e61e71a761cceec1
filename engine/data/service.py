"""The data service: the bar store and the instrument cache over Arrow Flight (``avin data serve``).

- ``do_get(ticket)``: the ticket is a bars request (JSON, :mod:`engine.data.flight_request`); the
  answer is the ``load_bars`` result as Arrow record batches (``ts`` timestamp[ns, UTC], open,
  high, low, close float64, volume int64), every timeframe derived from the 1-minute store.
- ``get_flight_info(descriptor)``: a command descriptor holding the same JSON gives the schema,
  the row count and the ticket to fetch it with.
- ``list_flights(criteria)``: one flight per stored instrument (or the one the criteria, a ticker
  or code, names): its command the whole stored 1-minute range, its endpoints the tickets of that
  range in pieces one request may span.
- ``do_action("instruments")``: the instrument cache as one Arrow IPC stream.

A request with ``"live": true`` joins the stored bars with the closed bars of the robot running on
this home (its control socket, :mod:`engine.data.live_bars`); with ``"follow": true`` the
``do_get`` stream stays open and sends the bars the robot closes, polling its chart every
``poll_interval`` seconds, until the client cancels. No robot: a Flight error saying so.

At most ``max_requests`` ``do_get`` streams and ``get_flight_info`` calls (which load the bars
too) run at once (a follow stream holds its place until it ends); one more is refused at once
with UNAVAILABLE "the data service is busy ... retry".

Every call carries ``authorization: Bearer <token>`` (:class:`TokenCheck`); a missing or wrong
token is UNAUTHENTICATED. A bad request is a Flight error whose message says what is wrong; an
unexpected failure is logged here and told to the client as an internal error without details.
The token is registered with the redaction of ``engine.model.redact`` and is never logged.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
import weakref
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.flight as flight

from engine.data.errors import DataError, MissingDataError, UnknownInstrumentError
from engine.data.flight_request import (
    AUTH_HEADER,
    INSTRUMENTS_ACTION,
    TOKEN_ENV,
    BarsRequest,
    RequestError,
    check_span,
    parse_bars_request,
    pieces,
)
from engine.data.instruments import InstrumentCache, instrument_row
from engine.data.live_bars import (
    MAX_BARS,
    POLL_BARS,
    NoRobotError,
    RobotChart,
    RobotOpener,
    join,
    no_robot,
    robot_bars,
    within,
)
from engine.data.loading import load_bars, resolve_code
from engine.data.schema import empty_bars
from engine.data.store import BarStore
from engine.model import TimeFrame
from engine.model.redact import register_secret

log = logging.getLogger(__name__)

BATCH_ROWS = 65_536
MAX_REQUESTS = 16  # do_get streams at once (each holds a server thread while it sends)
POLL_INTERVAL = 1.0  # seconds between two looks at the robot's chart in a follow stream
MIN_POLL, MAX_POLL = 0.01, 60.0
INSTRUMENT_COLUMNS = (
    "exchange",
    "category",
    "ticker",
    "class_code",
    "uid",
    "figi",
    "name",
    "lot",
    "step",
    "currency",
)


class ServiceSetupError(ValueError):
    """The service cannot start as asked (a public address without TLS, a missing cert)."""


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def address(host: str, port: int) -> str:
    """``HOST:PORT`` as clients write it (an IPv6 address in brackets)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{shown}:{port}"


def location(host: str, port: int, tls: bool) -> str:
    return f"grpc+{'tls' if tls else 'tcp'}://{address(host, port)}"


class TokenCheck(flight.ServerMiddlewareFactory):
    """Refuses every call whose ``authorization`` header is not ``Bearer <token>``."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._expected = f"Bearer {token}".encode()

    def start_call(self, info: Any, headers: dict[str, list[Any]]) -> None:
        given = headers.get(AUTH_HEADER) or []
        value = given[0] if given else b""
        value = value.encode() if isinstance(value, str) else bytes(value)
        if not hmac.compare_digest(value, self._expected):
            log.warning("data service: refused a call without the right token (%s)", info.method)
            raise flight.FlightUnauthenticatedError(
                "a valid token is required: send the header 'authorization: Bearer <token>' "
                "(avin data serve prints where the token is)"
            )
        return None


def _bad(message: str) -> flight.FlightServerError:
    return flight.FlightServerError(f"bad request: {message}")


class Slots:
    """Places for ``limit`` requests at once; :meth:`take` refuses one more (never waits)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0
        self._lock = threading.Lock()

    def take(self) -> Slot:
        with self._lock:
            if self.in_use >= self.limit:
                raise flight.FlightUnavailableError(
                    f"the data service is busy: it answers at most {self.limit} request"
                    f"{'s' if self.limit != 1 else ''} at once "
                    "and that many are running; retry in a moment (the server's "
                    "`avin data serve --max-requests N` raises the limit)"
                )
            self.in_use += 1
        return Slot(self)

    def _give_back(self) -> None:
        with self._lock:
            self.in_use -= 1


class Slot:
    """One taken place; :meth:`release` gives it back once, however often it is called."""

    def __init__(self, slots: Slots) -> None:
        self._slots: Slots | None = slots
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            slots, self._slots = self._slots, None
        if slots is not None:
            slots._give_back()


class DataService(flight.FlightServerBase):
    """Serves ``store`` (default: the data home's) to clients holding ``token``."""

    def __init__(
        self,
        token: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        store: BarStore | None = None,
        instruments: InstrumentCache | None = None,
        max_requests: int = MAX_REQUESTS,
        poll_interval: float = POLL_INTERVAL,
        robot: RobotOpener | None = None,
    ) -> None:
        if max_requests < 1:
            raise ServiceSetupError(f"--max-requests must be at least 1, not {max_requests}")
        if not MIN_POLL <= poll_interval <= MAX_POLL:
            raise ServiceSetupError(
                f"the poll interval must be {MIN_POLL:g}..{MAX_POLL:g} s, not {poll_interval:g}"
            )
        if len(token) < 16:
            raise ServiceSetupError(
                f"the token (${TOKEN_ENV}) must be at least 16 characters; unset it for a random one"
            )
        if (tls_cert is None) != (tls_key is None):
            raise ServiceSetupError("TLS needs both --tls-cert and --tls-key")
        tls = tls_cert is not None and tls_key is not None
        if not tls and not is_loopback(host):
            raise ServiceSetupError(
                f"refusing to serve on {host} without TLS: the token and the data would cross "
                "the network in clear text. Give --tls-cert and --tls-key, or serve on "
                "127.0.0.1 and reach it through an SSH tunnel (ssh -L PORT:127.0.0.1:PORT host)"
            )
        certificates = []
        if tls_cert is not None and tls_key is not None:
            try:
                certificates = [(tls_cert.read_bytes(), tls_key.read_bytes())]
            except OSError as exc:
                raise ServiceSetupError(
                    f"cannot read the TLS certificate or key: {exc.strerror} ({exc.filename})"
                ) from None
        register_secret(token)
        self.store = store if store is not None else BarStore()
        self.instrument_cache = instruments if instruments is not None else InstrumentCache()
        self.tls = tls
        self.host = host
        self.slots = Slots(max_requests)
        self.poll_interval = poll_interval
        self._robot = robot
        self._stopping = threading.Event()
        super().__init__(
            location(host, port, tls),
            tls_certificates=certificates,
            middleware={"token": TokenCheck(token)},
        )

    def shutdown(self) -> None:
        self._stopping.set()  # follow streams end at their next look at the robot
        super().shutdown()

    @property
    def robot(self) -> RobotOpener:
        """Opens the charts of the robot on this home (the source of live bars; the command
        line gives :func:`engine.control.charts.robot_on`)."""
        if self._robot is None:
            raise NoRobotError(
                "this data service was started without a robot to ask for live bars",
                'Ask without "live" (--live) for the stored bars',
            )
        return self._robot

    @property
    def endpoint(self) -> str:
        return location(self.host, self.port, self.tls)

    @property
    def client_address(self) -> str:
        """``HOST:PORT`` for clients (a wildcard bind: this machine's name)."""
        host = self.host
        if host in ("0.0.0.0", "::", "[::]"):
            import socket

            host = socket.gethostname()
        return address(host, self.port)

    # --- bars -----------------------------------------------------------------------------

    def _code(self, request: BarsRequest) -> str:
        try:
            return resolve_code(request.ticker, store=self.store, cache=self.instrument_cache)
        except UnknownInstrumentError:
            if not request.live:
                raise
            return request.ticker  # unknown here, maybe not to the robot (it resolves tickers)

    def _load(self, request: BarsRequest) -> pa.Table:
        code = self._code(request)
        if request.live:
            return self._live(code, request).to_arrow()
        assert request.end is not None  # only a live request may leave it out
        return self._stored(code, request.timeframe, request.begin, request.end).to_arrow()

    def _stored(self, code: str, tf: TimeFrame, begin: datetime, end: datetime) -> pl.DataFrame:
        try:
            return load_bars(code, tf, begin, end, store=self.store)
        except MissingDataError:
            if not self.store.has(code):
                raise
            return empty_bars()  # an empty answer, not an error

    def _live(self, code: str, request: BarsRequest) -> pl.DataFrame:
        """The stored bars in the range joined with the robot's closed bars newer than them."""
        end = request.end
        if end is None:  # up to the last stored bar
            bounds = self.store.bounds(code)
            end = bounds[1] + timedelta(minutes=1) if bounds is not None else request.begin
        stored = empty_bars()
        if end > request.begin and self.store.has(code):
            check_span(request.begin, end, request.timeframe)
            stored = self._stored(code, request.timeframe, request.begin, end)
        robot = robot_bars(code, request.timeframe, MAX_BARS, self.robot)
        if robot.is_empty():
            raise NoRobotError(
                f"the robot running on this home has no closed {request.timeframe.code} bars of "
                f"{code}: it charts only the instruments of its strategies",
                "`avin status` on the server shows them",
            )
        return join(stored, within(robot, request.begin, request.end))

    def _answer(self, raw: bytes, what: str) -> tuple[BarsRequest, pa.Table]:
        try:
            request = parse_bars_request(raw)
            if request.follow and what != "get":
                raise RequestError('"follow" is a stream: ask it with DoGet')
            table = self._load(request)
        except NoRobotError as exc:
            log.info("data service: live %s refused: %s", what, exc.describe())
            raise flight.FlightServerError(exc.describe()) from None
        except (RequestError, UnknownInstrumentError, MissingDataError) as exc:
            message = exc.describe() if isinstance(exc, DataError) else str(exc)
            log.info("data service: %s refused: %s", what, message)
            raise _bad(message) from None
        except DataError as exc:  # the store's fault (a damaged file), not the request's
            log.error("data service: %s failed: %s", what, exc.describe())
            raise flight.FlightServerError(f"the data service failed: {exc.describe()}") from None
        except flight.FlightError:
            raise
        except Exception:
            log.exception("data service: %s failed", what)
            raise flight.FlightInternalError(
                f"the data service failed to answer this {what} (its log has the details)"
            ) from None
        log.info(
            "data service: %s%s %r %s %s..%s: %d rows",
            what,
            " live" if request.live else "",
            request.ticker,
            request.timeframe.code,
            request.begin,
            request.end or "",
            table.num_rows,
        )
        return request, table

    def do_get(self, context: Any, ticket: flight.Ticket) -> flight.FlightDataStream:
        slot = self.slots.take()
        try:
            request, table = self._answer(ticket.ticket, "get")
        except BaseException:
            slot.release()
            raise
        batches = self._send(context, slot, request, table)
        weakref.finalize(batches, slot.release)  # a stream dropped before its first batch
        return flight.GeneratorStream(table.schema, batches)

    def _send(
        self, context: Any, slot: Slot, request: BarsRequest, table: pa.Table
    ) -> Iterator[pa.RecordBatch]:
        try:
            yield from table.to_batches(max_chunksize=BATCH_ROWS)
            if request.follow:
                last = table.column("ts")[-1].as_py() if table.num_rows else None
                yield from self._follow(context, request, last)
        finally:
            slot.release()

    def _follow(
        self, context: Any, request: BarsRequest, last: datetime | None
    ) -> Iterator[pa.RecordBatch]:
        """The bars the robot closes after ``last``, each look ``poll_interval`` apart (one
        control client for the whole stream), until the client cancels, the service stops or
        (with an end) the robot's bars reach it."""
        code = self._code(request)
        tf, opener = request.timeframe, self.robot
        robot: RobotChart | None = None
        where = "the robot's control socket"
        try:
            while not self._stopping.wait(self.poll_interval):
                if context.is_cancelled():
                    return
                try:
                    robot = robot or RobotChart(opener)
                    where = robot.where
                    bars = robot.closed_bars(code, tf, POLL_BARS)
                    if last is not None and not bars.is_empty() and bars["ts"][0] > last:
                        bars = robot.closed_bars(code, tf, MAX_BARS)  # more than one look holds
                except NoRobotError:
                    gone = no_robot(where, stopped=True).describe()
                    log.info("data service: a live stream of %s ended: %s", code, gone)
                    raise flight.FlightServerError(gone) from None
                if last is not None:
                    bars = bars.filter(pl.col("ts") > last)
                new = within(bars, request.begin, request.end)
                if not new.is_empty():
                    last = new["ts"][-1]
                    yield from new.to_arrow().to_batches(max_chunksize=BATCH_ROWS)
                if (
                    request.end is not None
                    and not bars.is_empty()
                    and bars["ts"][-1] >= request.end
                ):
                    return
        finally:
            if robot is not None:
                robot.close()

    def get_flight_info(
        self, context: Any, descriptor: flight.FlightDescriptor
    ) -> flight.FlightInfo:
        if descriptor.descriptor_type != flight.DescriptorType.CMD:
            raise _bad("use a command descriptor holding the bars request JSON")
        slot = self.slots.take()  # it loads the bars as DoGet does
        try:
            _, table = self._answer(descriptor.command, "info")
        finally:
            slot.release()
        endpoint = flight.FlightEndpoint(flight.Ticket(descriptor.command), [])
        return flight.FlightInfo(table.schema, descriptor, [endpoint], table.num_rows, -1)

    def list_flights(self, context: Any, criteria: bytes) -> Iterator[flight.FlightInfo]:
        try:
            codes = self._codes(criteria)
            schema = empty_bars().to_arrow().schema
            for code in codes:
                bounds = self.store.bounds(code)
                if bounds is None:
                    continue
                begin, end = bounds[0], bounds[1] + timedelta(minutes=1)
                command = BarsRequest(code, TimeFrame.M1, begin, end).encode()
                descriptor = flight.FlightDescriptor.for_command(command)
                endpoints = [
                    flight.FlightEndpoint(
                        flight.Ticket(BarsRequest(code, TimeFrame.M1, lo, hi).encode()), []
                    )
                    for lo, hi in pieces(begin, end, TimeFrame.M1)
                ]
                yield flight.FlightInfo(schema, descriptor, endpoints, -1, -1)
        except flight.FlightError:
            raise
        except Exception:
            log.exception("data service: list_flights failed")
            raise flight.FlightInternalError(
                "the data service failed to list the store (its log has the details)"
            ) from None

    def _codes(self, criteria: bytes) -> list[str]:
        """Every stored code, or the one the criteria (a ticker or code) names."""
        if not criteria:
            return self.store.codes()
        try:
            text = criteria.decode("utf-8")
        except UnicodeDecodeError:
            raise _bad("the list criteria must be a ticker or code in UTF-8") from None
        if len(text) > 64:
            raise _bad("the list criteria must be a ticker (SBER) or a code (MOEX_SHARE_SBER)")
        try:
            code = resolve_code(text, store=self.store, cache=self.instrument_cache)
        except DataError as exc:
            raise _bad(exc.describe()) from None
        return [code] if self.store.has(code) else []

    # --- instruments ----------------------------------------------------------------------

    def list_actions(self, context: Any) -> list[tuple[str, str]]:
        return [(INSTRUMENTS_ACTION, "the instrument cache as an Arrow IPC stream")]

    def do_action(self, context: Any, action: flight.Action) -> Iterator[flight.Result]:
        if action.type != INSTRUMENTS_ACTION:
            raise _bad(f"unknown action {action.type!r}; known: {INSTRUMENTS_ACTION}")
        try:
            table = instruments_table(self.instrument_cache)
        except Exception:
            log.exception("data service: the instruments action failed")
            raise flight.FlightInternalError(
                "the data service failed to read the instrument cache (its log has the details)"
            ) from None
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return iter([flight.Result(sink.getvalue())])


def instruments_table(cache: InstrumentCache) -> pa.Table:
    rows = [instrument_row(item) for item in cache.all()]
    schema = pa.schema(
        [(name, pa.int64() if name == "lot" else pa.string()) for name in INSTRUMENT_COLUMNS]
    )
    return pa.Table.from_pylist(rows, schema=schema)
