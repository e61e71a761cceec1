"""The fuzz targets: one function per parser that states its contract for any input bytes.

Each ``check_*`` takes raw bytes and feeds them to a parser the way avin does. The contract:
the parser returns a well-formed result or raises the module's own error type with a message a
person can read; any other exception (or a result that breaks the parser's promises) escapes
and is the finding. The same checks run under atheris (``tests/fuzz/run.py``, ``make fuzz``,
coverage-guided) and under hypothesis in the normal test suite (``test_fuzz_targets.py``).

``SEEDS`` holds each target's starting corpus: valid inputs in every accepted layout, written
here so that the corpus is made by the harness and never goes stale.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="avin-fuzz-"))


def _readable(message: str) -> None:
    """An error message a person can read: a sentence, not a bare repr or an empty string."""
    assert message.strip(), "empty error message"
    assert len(message) < 20_000, "an error message of the size of the input"


# --- the history-archive CSV parser (headerless archives and headered CSVs) -----------------


def check_history_csv(data: bytes) -> None:
    """CSV files as ``avin data import`` reads them: a NUL byte separates files (up to four,
    parsed together as an archive's members are); headered CSVs are converted to archive lines
    first. Every valid bar obeys the bar rules, every rejected line is located in its file."""
    from engine.data.archive import Member, parse
    from engine.data.errors import ArchiveError
    from engine.data.headered import convert, detect

    members = [Member(f"f{i}.csv", part) for i, part in enumerate(data.split(b"\0", 3))]
    try:
        for i, member in enumerate(members):
            header = detect(member.data)
            if header is not None:
                converted = convert(member.name, member.data, header, ticker="SBER")
                members[i] = Member(member.name, converted)
        batch = parse(members)
    except ArchiveError as exc:
        _readable(exc.describe())
        return
    bars = batch.bars
    lines = {m.name: m.data.count(b"\n") + 1 for m in members}
    if bars.height:
        assert bars["uid"].null_count() == 0
        assert (bars["open"] > 0).all() and (bars["low"] > 0).all()
        assert (bars["high"] >= bars["open"]).all() and (bars["high"] >= bars["close"]).all()
        assert (bars["low"] <= bars["open"]).all() and (bars["low"] <= bars["close"]).all()
        assert (bars["volume"] >= 0).all()
        assert (bars["ts"].dt.epoch("ns") % 60_000_000_000 == 0).all()
        assert bars.select(["uid", "ts"]).is_duplicated().sum() == 0
    for bad in batch.bad:
        assert 1 <= bad.line <= lines[bad.file], (bad, lines)
        _readable(bad.reason)


def check_history_zip(data: bytes) -> None:
    """A ZIP archive as ``avin data import`` opens it (members parsed together)."""
    from engine.data.archive import parse, read_archive
    from engine.data.errors import ArchiveError

    path = _TMP / "fuzz.zip"
    path.write_bytes(data)
    try:
        batch = parse(read_archive(path))
    except ArchiveError as exc:
        _readable(exc.describe())
        return
    assert batch.bars.height >= 0


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return buffer.getvalue()


ARCHIVE_CSV = (
    b"e6123145-9665-43e0-8413-cd61b8aa9b13;2024-03-01T07:00:00Z;280.1;280.5;281;279.9;1200;\n"
    b"e6123145-9665-43e0-8413-cd61b8aa9b13;2024-03-01T07:01:00Z;280.5;280.2;280.6;280;900;\n"
    b"e6123145-9665-43e0-8413-cd61b8aa9b13;2024-03-01T07:02:00.000Z;280.2;280.3;280.4;280.1;5\n"
)
FINAM_CSV = (
    b"<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>\n"
    b"SBER,1,20240301,100000,280.1,281,279.9,280.5,1200\n"
    b"SBER,1,20240301,100100,280.5,280.6,280,280.2,900\n"
)
HEADERED_CSV = (
    b"date;time;open;high;low;close;volume\n"
    b"01.03.2024;10:00;280.1;281;279.9;280.5;1200\n"
    b"2024-03-01;10:01:00;280.5;280.6;280;280.2;900.0\n"
)
DATETIME_CSV = (
    b"datetime,open,high,low,close,volume\n"
    b"2024-03-01T10:00:00+03:00,280.1,281,279.9,280.5,1200\n"
    b"2024-03-01 10:01:00,280.5,280.6,280,280.2,900\n"
)


# --- the config loader (avin.toml) ----------------------------------------------------------


# a T-Invest token as the config could hold one (a mutated one with other characters is no token)
_TOKEN_LIKE = re.compile(r"\bt\.[A-Za-z0-9_\-]{20,}")


def check_config_toml(data: bytes) -> None:
    """``avin.toml`` with these bytes: settings, or a ConfigError listing readable problems
    that never show the token."""
    from engine.config import ConfigError, load_settings

    path = _TMP / "avin.toml"
    path.write_bytes(data)
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("AVIN_")}
    try:
        load_settings(path)
    except ConfigError as exc:
        assert exc.problems, "a ConfigError without problems"
        for problem in exc.problems:
            _readable(str(problem))
            assert not _TOKEN_LIKE.search(str(problem)), "a token in an error"
    finally:
        os.environ.update(saved)


CONFIG_TOML = Path(__file__).resolve().parents[2] / "configs" / "avin.example.toml"
WORKLIST_TOML = b"""
mode = "sandbox"
token = "t.fuzz-secret-token-0123456789abcdef"
[[strategies]]
name = "zigzag_breakout"
instrument = "SBER"
timeframe = "1M"
params = { lots = 1, term = 1 }
[[accounts]]
id = "2000123456"
[risk]
max_daily_loss = 5000
[risk.accounts."2000123456"]
max_position_lots = 10
"""


# --- the T-Invest message converters --------------------------------------------------------


def _messages() -> list[tuple[type, Callable[[object], object]]]:
    from decimal import Decimal

    from engine.broker.tinvest import convert as c
    from engine.broker.tinvest.proto import investapi_pb2 as pb
    from engine.model import Instrument

    share = Instrument("MOEX", "SHARE", "SBER", "uid-1", "figi-1", "TQBR", 10, Decimal("0.01"))
    return [
        (pb.Share, c.share_to_instrument),
        (pb.Instrument, c.instrument_to_model),
        (pb.HistoricCandle, c.historic_to_bar),
        (pb.Candle, c.candle_to_bar),
        (pb.OrderState, lambda m: c.order_from_state(m, instrument=share, account="a", key="k")),
        (
            pb.PostOrderResponse,
            lambda m: c.order_from_state(m, instrument=share, account="a", key="k"),
        ),
        (
            pb.OrderStateStreamResponse.OrderState,
            lambda m: c.order_from_stream(m, instrument=share, key="k"),
        ),
        (pb.StopOrder, lambda m: c.stop_order_to_model(m, instrument=share, account="a")),
    ]


def check_tinvest_message(data: bytes) -> None:
    """The first byte picks a message type, the rest is its wire form as the server might
    send it; the converter gives our model object or raises MessageError."""
    from google.protobuf.message import DecodeError

    from engine.broker.tinvest.convert import MessageError

    if not data:
        return
    kinds = _messages()
    kind, converter = kinds[data[0] % len(kinds)]
    message = kind()
    try:
        message.ParseFromString(data[1:])
    except DecodeError:
        return  # the gRPC layer refuses such a message before any converter sees it
    try:
        converter(message)
    except MessageError as exc:
        _readable(str(exc))


def _tinvest_seeds() -> list[bytes]:
    from datetime import UTC, datetime

    from engine.broker.tinvest.numbers import money, quotation, timestamp
    from engine.broker.tinvest.proto import investapi_pb2 as pb

    when = timestamp(datetime(2024, 3, 1, 7, tzinfo=UTC))
    price = quotation("280.15")
    candle = dict(open=price, high=price, low=price, close=price, volume=5, time=when)
    samples = [
        pb.Share(ticker="SBER", uid="u", figi="f", class_code="TQBR", lot=10, currency="rub",
                 min_price_increment=quotation("0.01"), name="Sber"),
        pb.Instrument(ticker="SBER", uid="u", lot=10, instrument_type="share",
                      min_price_increment=quotation("0.01")),
        pb.HistoricCandle(**candle),
        pb.Candle(**candle),
        pb.OrderState(order_id="o", execution_report_status=pb.EXECUTION_REPORT_STATUS_FILL,
                      lots_requested=2, lots_executed=2, order_type=pb.ORDER_TYPE_LIMIT,
                      initial_security_price=money("280.1"), order_date=when,
                      average_position_price=money("280.1"), direction=pb.ORDER_DIRECTION_BUY),
        pb.PostOrderResponse(order_id="o", lots_requested=1, executed_order_price=money("1.5"),
                             order_type=pb.ORDER_TYPE_MARKET),
        pb.OrderStateStreamResponse.OrderState(
            order_id="o", lots_requested=3, lot_size=10, order_type=pb.ORDER_TYPE_LIMIT,
            initial_order_price=money("8404.5"), created_at=when, account_id="acc"),
        pb.StopOrder(stop_order_id="s", lots_requested=1, stop_price=money("270"),
                     price=money("269"), order_type=pb.STOP_ORDER_TYPE_STOP_LIMIT,
                     create_date=when, status=pb.STOP_ORDER_STATUS_ACTIVE),
    ]  # fmt: skip
    return [bytes([index]) + msg.SerializeToString() for index, msg in enumerate(samples)]


# --- the workspace record -------------------------------------------------------------------


def check_workspace(data: bytes) -> None:
    """The stored workspace text: parse_workspace never raises; a record it accepts is a
    dict, and a record it refuses says why. The terminal app's load of it never raises either
    (the defaults and the reason), and what it loaded can be saved again as JSON."""
    import json

    from avin_tui.layout import READABLE, Workspace
    from engine.state.workspace import parse_workspace

    text = data.decode("utf-8", "replace")
    for versions in (None, READABLE):
        loaded = parse_workspace(text, versions)
        if loaded.data is not None:
            assert isinstance(loaded.data, dict) and loaded.problem is None
            assert isinstance(loaded.version, int)
        elif loaded.problem is not None:
            _readable(loaded.problem)
    if loaded.data is None and loaded.problem is None:
        return  # nothing saved: the app looks for the old ui.json file instead

    class Store:
        def put(self, name: str, value: object) -> None:
            json.dumps(value)

        def get_text(self, name: str) -> str:
            return text

    workspace = Workspace(Store())
    state, problem = workspace.load()
    if problem is not None:
        _readable(problem)
    workspace.save(state)


WORKSPACE_JSON = (
    b'{"kind": "avin.workspace", "version": 2, "saved_ts": "2024-03-01T07:00:00Z", '
    b'"data": {"chart": {"instrument": "MOEX_SHARE_SBER", "timeframe": "5M"}, "panes": []}}'
)


# --- the backtest data file (avin backtest --data FILE) -------------------------------------


def check_backtest_data(data: bytes) -> None:
    """``--data FILE`` as CSV (first byte even) or Parquet (odd): bars, a timeframe and an
    instrument for them, or a BarsFileError saying what is wrong with the file."""
    from engine.backtest.feed import (
        BarsFileError,
        file_instrument,
        infer_timeframe,
        read_bars_file,
    )

    suffix = ".parquet" if data[:1] and data[0] % 2 else ".csv"
    path = _TMP / f"bars{suffix}"
    path.write_bytes(data[1:])
    try:
        bars = read_bars_file(path)
    except BarsFileError as exc:
        _readable(exc.describe())
        return
    assert bars.columns == ["ts", "open", "high", "low", "close", "volume"]
    infer_timeframe(bars)
    file_instrument(bars, "fuzz")


BARS_CSV = (
    b"ts,open,high,low,close,volume\n"
    b"2024-03-01T07:00:00Z,280.1,281,279.9,280.5,1200\n"
    b"2024-03-01T07:01:00Z,280.5,280.6,280,280.2,900\n"
)


def _parquet_seed() -> bytes:
    import polars as pl

    buffer = io.BytesIO()
    pl.read_csv(io.BytesIO(BARS_CSV), try_parse_dates=True).write_parquet(buffer)
    return b"\x01" + buffer.getvalue()


def seeds(target: str) -> list[bytes]:
    """The starting corpus of ``target`` (valid inputs in each layout the parser accepts)."""
    if target == "history_csv":
        return [ARCHIVE_CSV, FINAM_CSV, HEADERED_CSV, DATETIME_CSV, b"", b"\n\n"]
    if target == "history_zip":
        return [_zip({"2024/day.csv": ARCHIVE_CSV}), _zip({"a.csv": ARCHIVE_CSV, "b.csv": b""})]
    if target == "config_toml":
        return [CONFIG_TOML.read_bytes(), WORKLIST_TOML, b""]
    if target == "tinvest_message":
        return _tinvest_seeds()
    if target == "workspace":
        return [WORKSPACE_JSON, b"null", b"{}"]
    if target == "backtest_data":
        return [b"\x00" + BARS_CSV, _parquet_seed()]
    raise KeyError(target)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "history_csv": check_history_csv,
    "history_zip": check_history_zip,
    "config_toml": check_config_toml,
    "tinvest_message": check_tinvest_message,
    "workspace": check_workspace,
    "backtest_data": check_backtest_data,
}
