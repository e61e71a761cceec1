"""A local ISS-shaped HTTP server for tests, benchmarks and trying the commands offline.

It serves what the public ISS serves, in the same shape, including what is inconvenient: times in
Moscow local time without a zone, volumes in shares, no candle for a minute without trades, pages
of at most 500 candles through ``start`` (the last one short or empty), ``till`` inclusive,
trades of one day only. Faults are injected per request: ``server.faults.append("500")`` makes
the next data request fail (``"500"``, ``"429"`` with ``Retry-After``, ``"timeout"``: no answer
until released, ``"malformed"``: not JSON, ``"empty"``: HTTP 200 without a body, ``"noblock"``:
JSON without the asked table);
``server.faults_at[(kind, start)]`` fails the page at that ``start`` of ``kind`` (``candles``,
``trades``) instead.

Run ``python -m engine.data.moex.fake [PORT]`` to serve generated SBER and GAZP minutes of the
last 10 weekdays; point ``AVIN_MOEX_URL`` at it.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CANDLE_COLUMNS = ["open", "close", "high", "low", "value", "volume", "begin", "end"]
TRADE_COLUMNS = [
    "TRADENO", "TRADETIME", "BOARDID", "SECID", "PRICE", "QUANTITY", "VALUE", "BUYSELL",
    "TRADEDATE",
]  # fmt: skip
SECURITY_COLUMNS = [
    "SECID", "BOARDID", "SHORTNAME", "LOTSIZE", "MINSTEP", "DECIMALS", "ISIN", "SECNAME",
    "CURRENCYID",
]  # fmt: skip
_PATH = re.compile(
    r"^/iss/engines/stock/markets/shares/boards/(?P<board>[^/]+)/securities/"
    r"(?P<secid>[^/.]+)(?P<tail>\.json|/candles\.json|/trades\.json)$"
)
_FMT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True, slots=True)
class Share:
    secid: str
    lot: int
    step: float
    decimals: int
    isin: str
    name: str
    price: float


@dataclass(slots=True)
class Minute:
    """One 1-minute candle as ISS keeps it (Moscow local start, volume in shares)."""

    begin: datetime  # naive, Moscow
    open: float
    high: float
    low: float
    close: float
    volume: int  # shares


def session_minutes(day: date) -> list[datetime]:
    """The minutes of the main (10:00-18:39) and evening (19:05-23:49) sessions, Moscow time."""
    out = []
    for start, stop in (((10, 0), (18, 40)), ((19, 5), (23, 50))):
        moment = datetime(day.year, day.month, day.day, *start)
        end = datetime(day.year, day.month, day.day, *stop)
        while moment < end:
            out.append(moment)
            moment += timedelta(minutes=1)
    return out


def generate_minutes(
    share: Share, days: list[date], *, seed: int = 1, gaps: float = 0.1, remainder: bool = False
) -> list[Minute]:
    """Random walk minutes on the price step; ``gaps`` of the minutes have no trades (no
    candle); volumes are whole lots in shares (``remainder``: some are not)."""
    rng = random.Random(seed)
    price = share.price
    out = []
    for day in days:
        for begin in session_minutes(day):
            if rng.random() < gaps:
                continue
            ticks = [price]
            for _ in range(3):
                price = max(share.step, price + share.step * rng.randint(-3, 3))
                ticks.append(price)
            lots = rng.randint(1, 500)
            extra = rng.randint(1, share.lot - 1) if remainder and share.lot > 1 else 0
            volume = lots * share.lot + extra
            o, h, lo, c = (
                round(x, share.decimals) for x in (ticks[0], max(ticks), min(ticks), ticks[-1])
            )
            out.append(Minute(begin, o, h, lo, c, volume))
    return out


def weekdays(last: date, count: int) -> list[date]:
    out: list[date] = []
    day = last
    while len(out) < count:
        if day.weekday() < 5:
            out.append(day)
        day -= timedelta(days=1)
    return sorted(out)


def _frame_start(moment: datetime, interval: int) -> datetime:
    if interval in (1, 10, 60):
        minutes = moment.hour * 60 + moment.minute
        minutes -= minutes % interval
        return moment.replace(hour=minutes // 60, minute=minutes % 60, second=0)
    day = datetime(moment.year, moment.month, moment.day)
    if interval == 24:
        return day
    if interval == 7:
        return day - timedelta(days=day.weekday())
    if interval == 31:
        return day.replace(day=1)
    raise ValueError(f"interval {interval}")


def candles(minutes: list[Minute], interval: int) -> list[list[Any]]:
    """ISS candle rows of ``interval`` built from minutes (the exchange's rule)."""
    rows: list[list[Any]] = []
    current: list[Any] | None = None
    key: datetime | None = None
    for m in minutes:
        start = _frame_start(m.begin, interval)
        if start != key:
            if current is not None:
                rows.append(current)
            key = start
            current = [m.open, m.close, m.high, m.low, 0.0, 0, start.strftime(_FMT), ""]
        assert current is not None
        current[1] = m.close
        current[2] = max(current[2], m.high)
        current[3] = min(current[3], m.low)
        current[4] = round(current[4] + m.close * m.volume, 2)
        current[5] += m.volume
        current[7] = m.begin.replace(second=59).strftime(_FMT)
    if current is not None:
        rows.append(current)
    return rows


@dataclass
class FakeIss:
    """The server's data, faults and request log (see the module doc)."""

    shares: dict[str, Share] = field(default_factory=dict)
    minutes: dict[str, list[Minute]] = field(default_factory=dict)
    trades: dict[str, list[list[Any]]] = field(default_factory=dict)
    board: str = "TQBR"
    candles_page: int = 500
    trades_page: int = 5000
    faults: list[str] = field(default_factory=list)
    faults_at: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    hang_seconds: float = 10.0  # a "timeout" answers after this at the latest
    retry_after: int = 3  # seconds a "429" asks the client to wait
    release: threading.Event = field(default_factory=threading.Event)
    base_url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _candles: dict[tuple[Any, ...], list[list[Any]]] = field(default_factory=dict)

    def add(self, share: Share, minutes: list[Minute]) -> None:
        self.shares[share.secid] = share
        self.minutes[share.secid] = minutes

    def add_trades(self, secid: str, day: date, rows: list[tuple[str, float, int, str]]) -> None:
        """Trades of ``day``: (``HH:MM:SS`` Moscow, price, QUANTITY in shares, ``B``/``S``)."""
        out = self.trades.setdefault(secid, [])
        for clock, price, shares, side in rows:
            number = len(out) + 1
            out.append(
                [number, clock, self.board, secid, price, shares, round(price * shares, 2), side,
                 day.isoformat()]
            )  # fmt: skip

    def _fault(self, kind: str, start: int) -> str | None:
        with self._lock:
            planned = self.faults_at.get((kind, start))
            if planned:
                return planned.pop(0)
            if self.faults:
                return self.faults.pop(0)
        return None

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, bytes]:
        with self._lock:
            self.requests.append((path, query))
        match = _PATH.match(path)
        if match is None or match["board"] != self.board:
            return 404, b"<html>not found</html>"
        secid, tail = match["secid"], match["tail"]
        kind = {".json": "securities", "/candles.json": "candles", "/trades.json": "trades"}[tail]
        start = int(query.get("start", "0") or 0)
        fault = self._fault(kind, start)
        if fault == "500":
            return 500, b"<html>Internal Server Error</html>"
        if fault == "429":
            return 429, b"<html>Too Many Requests</html>"
        if fault == "timeout":
            self.release.wait(self.hang_seconds)
            return 504, b""
        if fault == "malformed":
            return 200, b'{"candles": {"columns": ["open", '
        if fault == "empty":
            return 200, b""
        if fault == "noblock":
            return 200, json.dumps({"unexpected": {"columns": [], "data": []}}).encode()
        if kind == "securities":
            share = self.shares.get(secid)
            rows = [] if share is None else [_security_row(share, self.board)]
            return 200, _table("securities", SECURITY_COLUMNS, rows)
        if kind == "trades":
            tape = self.trades.get(secid, [])
            return 200, _table("trades", TRADE_COLUMNS, tape[start : start + self.trades_page])
        served = self.minutes.get(secid, [])
        key = (secid, query.get("interval", "10"), query.get("from"), query.get("till"),
               id(served), len(served))  # fmt: skip
        cached = self._candles.get(key)
        if cached is not None:
            rows = cached
        else:  # the pages of one query are cut from one computed answer
            since = _bound(query.get("from"), end=False)
            till = _bound(query.get("till"), end=True)
            minutes = [
                m
                for m in served
                if (since is None or m.begin >= since) and (till is None or m.begin <= till)
            ]
            rows = candles(minutes, int(query.get("interval", "10")))
            with self._lock:
                self._candles = {key: rows}
        return 200, _table("candles", CANDLE_COLUMNS, rows[start : start + self.candles_page])


def _bound(text: str | None, *, end: bool) -> datetime | None:
    """A ``from``/``till`` value; a date alone is the whole day (``till`` inclusive)."""
    if not text:
        return None
    if len(text) == 10:
        day = datetime.strptime(text, "%Y-%m-%d")
        return day + timedelta(days=1) - timedelta(seconds=1) if end else day
    return datetime.strptime(text, _FMT)


def _security_row(share: Share, board: str) -> list[Any]:
    return [
        share.secid, board, share.secid, share.lot, share.step, share.decimals, share.isin,
        share.name, "SUR",
    ]  # fmt: skip


def _table(block: str, columns: list[str], rows: list[list[Any]]) -> bytes:
    return json.dumps({block: {"columns": columns, "data": rows}}).encode()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as the public service
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK wait

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        status, body = self.server.fake.answer(parts.path, query)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            if status == 429:
                self.send_header("Retry-After", str(self.server.fake.retry_after))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            pass

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeIss, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.fake = fake


@contextlib.contextmanager
def serve(fake: FakeIss, port: int = 0) -> Iterator[FakeIss]:
    """Serve ``fake`` on 127.0.0.1 (port 0: the OS chooses) until the block ends."""
    server = _Server(fake, port)
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-iss", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


SBER = Share("SBER", 10, 0.01, 2, "RU0009029540", "Sberbank", 280.0)
GAZP = Share("GAZP", 10, 0.01, 2, "RU0007661625", "Gazprom", 160.0)


def demo(days: int = 10) -> FakeIss:
    fake = FakeIss()
    last = date.today() - timedelta(days=1)
    for number, share in enumerate((SBER, GAZP), 1):
        fake.add(share, generate_minutes(share, weekdays(last, days), seed=number))
    return fake


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - a manual tool
    args = sys.argv[1:] if argv is None else argv
    port = int(args[0]) if args else 0
    with serve(demo(), port) as fake:
        print(f"fake ISS at {fake.base_url} (Ctrl+C stops): AVIN_MOEX_URL={fake.base_url}")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
