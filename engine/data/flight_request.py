"""What the data service (``engine.data.service``) and its client (``engine.data.remote``) agree
on: the JSON of a bars request, the range limits, the token header and the local token file.

A bars request is the ticket (``do_get``) or the command of a ``FlightDescriptor``
(``get_flight_info``)::

    {"ticker": "SBER", "tf": "1H", "from": "2024-01-01T00:00:00Z", "to": "2024-04-01"}

``from`` is inclusive, ``to`` exclusive (the frame start of a bar, as in ``load_bars``); ISO 8601
dates or times, naive means UTC. One request spans at most ``MAX_SPAN[tf]``; the client splits
longer ranges (a bar belongs to the piece its frame start falls in, so the pieces join exactly).

A live request adds ``"live": true``: the stored bars joined with the closed bars of the robot
running on the server's home (its control socket) newer than them; ``to`` may then be left out
(no end: the stored bars up to the last one, then the robot's). ``"follow": true`` (with
``live``, ``DoGet`` only) keeps the stream open and sends each bar the robot closes from then on,
until the client cancels (or, with ``to``, until the robot's bars reach it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from engine.data.errors import DataError
from engine.model import TimeFrame, as_utc
from engine.paths import homes

TOKEN_ENV = "AVIN_DATA_TOKEN"
TOKEN_FILE = "data-service.token"
AUTH_HEADER = "authorization"
MAX_TICKET_BYTES = 4096
INSTRUMENTS_ACTION = "instruments"
FIELDS = ("ticker", "tf", "from", "to", "live", "follow")
FIRST_YEAR, LAST_YEAR = 1970, 2200

_MINUTES = (TimeFrame.M1, TimeFrame.M5, TimeFrame.M10, TimeFrame.M15)
MAX_SPAN: dict[TimeFrame, timedelta] = {
    tf: timedelta(days=366 if tf in _MINUTES else 3660 if tf.step else 36600) for tf in TimeFrame
}


class RequestError(ValueError):
    """A request the service cannot answer as asked (the message says what to change)."""


@dataclass(frozen=True, slots=True)
class BarsRequest:
    ticker: str
    timeframe: TimeFrame
    begin: datetime
    end: datetime | None  # None: a live request without an end
    live: bool = False
    follow: bool = False

    def encode(self) -> bytes:
        data: dict[str, object] = {"ticker": self.ticker, "tf": self.timeframe.code}
        data["from"] = iso(self.begin)
        if self.end is not None:
            data["to"] = iso(self.end)
        if self.live:
            data["live"] = True
        if self.follow:
            data["follow"] = True
        return json.dumps(data).encode()


def iso(ts: datetime) -> str:
    return as_utc(ts).strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


def token_path() -> Path:
    """The file a running service keeps its token in (0600, state home) for local clients."""
    return homes().state / TOKEN_FILE


def _time(value: object, name: str) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise RequestError(f'"{name}" must be an ISO 8601 date or time like "2024-03-01"')
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise RequestError(f'"{name}" {value!r} is not an ISO 8601 date or time') from None
    result = as_utc(parsed) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if not FIRST_YEAR <= result.year <= LAST_YEAR:
        raise RequestError(f'"{name}" {value!r} is outside the years {FIRST_YEAR}..{LAST_YEAR}')
    return result


def parse_bars_request(raw: bytes, *, limit: bool = True) -> BarsRequest:
    """The request in ``raw`` (JSON), validated; :class:`RequestError` says what is wrong.
    ``limit=False`` accepts any span (a listed flight's whole range, see ``list_flights``)."""
    if len(raw) > MAX_TICKET_BYTES:
        raise RequestError(f"the request is {len(raw)} bytes, more than {MAX_TICKET_BYTES}")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(
            f'the request is not JSON ({exc}); send {{"ticker": "SBER", "tf": "1H", '
            '"from": "2024-01-01", "to": "2024-02-01"}'
        ) from None
    if not isinstance(data, dict):
        raise RequestError("the request must be a JSON object with ticker, tf, from and to")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise RequestError(f"unknown request fields {unknown}; known: {', '.join(FIELDS)}")
    live, follow = data.get("live", False), data.get("follow", False)
    if not isinstance(live, bool) or not isinstance(follow, bool):
        raise RequestError('"live" and "follow" must be true or false')
    if follow and not live:
        raise RequestError('"follow" streams a running robot\'s bars: it needs "live": true')
    ticker = data.get("ticker")
    if not isinstance(ticker, str) or not ticker.strip() or len(ticker) > 64:
        raise RequestError('"ticker" must be a ticker (SBER) or a code (MOEX_SHARE_SBER)')
    tf_code = data.get("tf")
    try:
        timeframe = TimeFrame.from_code(str(tf_code))
    except (ValueError, KeyError):
        codes = " ".join(tf.code for tf in TimeFrame)
        raise RequestError(f'unknown timeframe "tf": {tf_code!r}; one of {codes}') from None
    begin = _time(data.get("from"), "from")
    if live and data.get("to") is None:
        return BarsRequest(ticker.strip(), timeframe, begin, None, live, follow)
    end = _time(data.get("to"), "to")
    if end <= begin:
        raise RequestError(f'empty range: "from" {iso(begin)} is not before "to" {iso(end)}')
    if limit:
        check_span(begin, end, timeframe)
    return BarsRequest(ticker.strip(), timeframe, begin, end, live, follow)


def check_span(begin: datetime, end: datetime, timeframe: TimeFrame) -> None:
    span = MAX_SPAN[timeframe]
    if end - begin > span:
        raise RequestError(
            f"the range {iso(begin)} .. {iso(end)} is longer than {span.days} days, the most one "
            f"{timeframe.code} request may span; split it (engine.data.remote does)"
        )


def pieces(begin: datetime, end: datetime, timeframe: TimeFrame) -> list[tuple[datetime, datetime]]:
    """``[begin, end)`` cut into consecutive ranges no longer than one request may span."""
    span = MAX_SPAN[timeframe]
    out = []
    start = begin
    while start < end:
        stop = min(end, start + span)
        out.append((start, stop))
        start = stop
    return out


def flight_missing() -> DataError:
    """The error where pyarrow (Arrow Flight) is not shipped: the binary leaves it out."""
    return DataError(
        "the data service (Arrow Flight) needs pyarrow, which this build of avin leaves out",
        "Serve or read remote data with avin installed from its wheel (pip install avin)",
    )
