"""A client of the data service (``avin data serve``, :mod:`engine.data.service`).

::

    remote = RemoteStore("127.0.0.1:8815", token)           # or "grpc+tls://host:8815"
    bars = remote.bars("SBER", "1H", date(2024, 1, 1), date(2024, 4, 1))   # polars DataFrame
    remote.instruments()                                     # list[Instrument]
    remote.stored()                                          # {code: (first bar, last bar)}
    remote.live_bars("SBER", "1M", date(2024, 3, 1))         # stored + the running robot's bars
    for new in remote.follow("SBER", "1M", since):           # then each bar the robot closes
        ...

``bars`` answers like ``load_bars``: the bars whose frame start is in ``[begin, end)``, the same
columns and types, :class:`MissingDataError` when there are none. Ranges longer than one request
may span are fetched piece by piece. Server errors become :class:`RemoteError` (a ``DataError``)
with the server's message; a refused token is :class:`~engine.data.errors.TokenError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.flight as flight

from engine.data.errors import DataError, MissingDataError, TokenError
from engine.data.export import export_range, output_format, write_bars
from engine.data.flight_request import (
    AUTH_HEADER,
    INSTRUMENTS_ACTION,
    TOKEN_ENV,
    BarsRequest,
    parse_bars_request,
    pieces,
    token_path,
)
from engine.data.schema import BAR_SCHEMA
from engine.model import Instrument, TimeFrame

TimeLike = datetime | date
DEFAULT_TIMEOUT = 60.0


class RemoteError(DataError):
    """The data service refused a request or could not be reached."""


class BusyError(RemoteError):
    """The data service answers as many requests as it may at once: retry in a moment."""


def endpoint_uri(endpoint: str, tls: bool = False) -> str:
    """``HOST:PORT`` as a Flight location (``grpc+tls://`` with ``tls``); a URI is kept as is."""
    if "://" in endpoint:
        return endpoint
    return f"grpc+{'tls' if tls else 'tcp'}://{endpoint}"


def local_token() -> str | None:
    """``AVIN_DATA_TOKEN``, else the token file a service on this home wrote, else None."""
    value = os.environ.get(TOKEN_ENV, "").strip()
    if value:
        return value
    try:
        return token_path().read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _message(exc: Exception) -> str:
    text = str(exc)
    for cut in (". Detail:", ". gRPC client debug context"):
        text = text.split(cut, 1)[0]
    return text.removeprefix("bad request: ")


class RemoteStore:
    """Bars and instruments from a data service at ``endpoint`` (``HOST:PORT`` or a URI)."""

    def __init__(
        self,
        endpoint: str,
        token: str,
        *,
        tls_root_cert: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.endpoint = endpoint
        kwargs: dict[str, Any] = {}
        if tls_root_cert is not None:
            kwargs["tls_root_certs"] = tls_root_cert.read_bytes()
        uri = endpoint_uri(endpoint, tls=tls_root_cert is not None)
        try:
            self._client = flight.FlightClient(uri, **kwargs)
        except (flight.FlightError, pa.ArrowException) as exc:
            raise RemoteError(
                f"cannot use the data service address {endpoint!r}: {_message(exc)}",
                "Give HOST:PORT as printed by `avin data serve`.",
            ) from None
        headers = [(AUTH_HEADER.encode(), f"Bearer {token}".encode())]
        self._options = flight.FlightCallOptions(headers=headers, timeout=timeout)
        self._stream_options = flight.FlightCallOptions(headers=headers)  # no end: follow

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RemoteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, what: str, action: Any) -> Any:
        try:
            return action()
        except flight.FlightUnauthenticatedError:
            raise TokenError(
                f"the data service at {self.endpoint} refused the token",
                f"Set {TOKEN_ENV} to the token `avin data serve` printed (on the server's "
                f"machine it is in {token_path().name} in the state home).",
            ) from None
        except flight.FlightUnavailableError as exc:
            if "is busy" in str(exc):
                raise BusyError(_message(exc)) from None  # the message says to retry
            raise RemoteError(
                f"the data service at {self.endpoint} is not reachable: {_message(exc)}",
                "Is `avin data serve` running there, on this port? If it serves TLS (it "
                "printed grpc+tls://), trust its certificate: --tls-root-cert CERT.pem "
                "(RemoteStore(..., tls_root_cert=...)).",
            ) from None
        except (flight.FlightError, pa.ArrowException) as exc:
            raise RemoteError(f"the data service refused {what}: {_message(exc)}", "") from None

    def fetch(self, request: BarsRequest) -> pl.DataFrame:
        """One request as the service answers it (empty when the range holds no bars)."""

        def get() -> pa.Table:
            return self._client.do_get(flight.Ticket(request.encode()), self._options).read_all()

        frame = pl.from_arrow(self._call(f"{request.ticker} {request.timeframe.code}", get))
        assert isinstance(frame, pl.DataFrame)
        return frame.cast(dict(BAR_SCHEMA))  # type: ignore[arg-type]

    def bars(
        self, ticker: str, timeframe: TimeFrame | str, begin: TimeLike, end: TimeLike
    ) -> pl.DataFrame:
        """Bars of ``timeframe`` whose frame start is in ``[begin, end)``, as ``load_bars``."""
        from engine.data.loading import to_utc

        tf = timeframe if isinstance(timeframe, TimeFrame) else TimeFrame.from_code(timeframe)
        start, stop = to_utc(begin), to_utc(end)
        if stop <= start:
            raise ValueError(f"empty range: begin {start:%Y-%m-%d %H:%M} is not before end {stop}")
        frames = [self.fetch(BarsRequest(ticker, tf, lo, hi)) for lo, hi in pieces(start, stop, tf)]
        frame = pl.concat(frames).rechunk()
        if frame.is_empty():
            raise MissingDataError(
                f"no {tf.code} bars of {ticker} in [{start:%Y-%m-%d %H:%M}, "
                f"{stop:%Y-%m-%d %H:%M}) UTC at the data service {self.endpoint}",
                "`avin data list` on the server's machine shows what it stores.",
            )
        return frame

    def stored(self, ticker: str = "") -> dict[str, tuple[datetime, datetime]]:
        """Stored instrument codes (every one, or the one ``ticker`` names) with their first and
        last 1-minute bar."""

        def listing() -> list[flight.FlightInfo]:
            return list(self._client.list_flights(ticker.encode(), self._options))

        out = {}
        for info in self._call("the store listing", listing):
            request = parse_bars_request(info.descriptor.command, limit=False)
            assert request.end is not None  # a listed flight has its range
            out[request.ticker] = (request.begin, request.end - timedelta(minutes=1))
        return out

    def live_bars(
        self, ticker: str, timeframe: TimeFrame | str, begin: TimeLike, end: TimeLike | None = None
    ) -> pl.DataFrame:
        """The stored bars from ``begin`` (to ``end``, else to the last stored one) joined with
        the closed bars of the robot running on the service's home, newer than them (docs/data.md,
        "Live bars"). No robot there: :class:`RemoteError` saying so."""
        from engine.data.loading import to_utc

        tf = timeframe if isinstance(timeframe, TimeFrame) else TimeFrame.from_code(timeframe)
        start, stop = to_utc(begin), None if end is None else to_utc(end)
        if stop is not None and stop <= start:
            raise ValueError(f"empty range: begin {start:%Y-%m-%d %H:%M} is not before end {stop}")
        stored = self.stored(ticker)
        history_end = stop
        if history_end is None and stored:
            history_end = next(iter(stored.values()))[1] + timedelta(minutes=1)
        parts = pieces(start, history_end, tf) if history_end is not None else []
        frames = [self.fetch(BarsRequest(ticker, tf, lo, hi)) for lo, hi in parts[:-1]]
        live_from = parts[-1][0] if parts else start
        frames.append(self.fetch(BarsRequest(ticker, tf, live_from, stop, live=True)))
        return pl.concat(frames).rechunk()

    def follow(
        self, ticker: str, timeframe: TimeFrame | str, begin: TimeLike, end: TimeLike | None = None
    ) -> Iterator[pl.DataFrame]:
        """One live request kept open: first the bars :meth:`live_bars` would give (``begin``
        within one request's span of the last stored bar), then each batch of bars the robot
        closes, as they come, until the loop stops (closing the generator cancels the stream) or,
        with ``end``, the robot's bars reach it."""
        from engine.data.loading import to_utc

        tf = timeframe if isinstance(timeframe, TimeFrame) else TimeFrame.from_code(timeframe)
        request = BarsRequest(
            ticker, tf, to_utc(begin), None if end is None else to_utc(end), live=True, follow=True
        )
        what = f"{ticker} {tf.code} live"
        ticket = flight.Ticket(request.encode())
        reader = self._call(what, lambda: self._client.do_get(ticket, self._stream_options))
        try:
            while True:
                try:
                    chunk = self._call(what, reader.read_chunk)
                except StopIteration:
                    return
                frame = pl.from_arrow(chunk.data)
                assert isinstance(frame, pl.DataFrame)
                yield frame.cast(dict(BAR_SCHEMA))  # type: ignore[arg-type]
        finally:
            reader.cancel()

    def instruments(self) -> list[Instrument]:
        """The server's instrument cache."""

        def action() -> list[Any]:
            call = flight.Action(INSTRUMENTS_ACTION, b"")
            return list(self._client.do_action(call, self._options))

        results = self._call("the instrument list", action)
        table = pa.ipc.open_stream(results[0].body).read_all()
        return [
            Instrument(
                exchange=row["exchange"],
                category=row["category"],
                ticker=row["ticker"],
                uid=row["uid"],
                figi=row["figi"],
                class_code=row["class_code"],
                lot=int(row["lot"]),
                step=Decimal(row["step"]),
                currency=row["currency"],
                name=row["name"],
            )
            for row in table.to_pylist()
        ]


def export_remote(
    remote: RemoteStore,
    ticker: str,
    timeframe: TimeFrame,
    output: Path,
    *,
    begin: datetime | None = None,
    end: datetime | None = None,
    live: bool = False,
) -> int:
    """``avin data export --remote``: the local export's file, from the data service's bars;
    ``live``: joined with the running robot's closed bars (:meth:`RemoteStore.live_bars`)."""
    output_format(output)
    stored = remote.stored(ticker)
    if live:
        if begin is None and not stored:
            raise MissingDataError(
                f"the data service at {remote.endpoint} stores no bars of {ticker}",
                "Give --from: the export then holds the running robot's bars from that day.",
            )
        start = begin if begin is not None else timeframe.floor(next(iter(stored.values()))[0])
        return write_bars(remote.live_bars(ticker, timeframe, start, end), output)
    if not stored:
        raise MissingDataError(
            f"the data service at {remote.endpoint} stores no bars of {ticker}",
            "`avin data list` on the server's machine shows what it stores.",
        )
    [(code, bounds)] = stored.items()
    start, stop = export_range(timeframe, bounds, begin, end)
    if stop <= start:
        raise MissingDataError(
            f"no {timeframe.code} bars of {code} in the range asked for: the data service stores "
            f"{bounds[0]:%Y-%m-%d %H:%M} .. {bounds[1]:%Y-%m-%d %H:%M} UTC",
            "Check --from and --to.",
        )
    return write_bars(remote.bars(code, timeframe, start, stop), output)
