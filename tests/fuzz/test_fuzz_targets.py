"""The fuzz targets in the normal test suite: every saved finding replayed, the seeds, and a few
hypothesis examples per target (random bytes and inputs built field by field), so that the
harness cannot rot between ``make fuzz`` runs. The contract is in ``targets.py``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.targets import (
    ARCHIVE_CSV,
    TARGETS,
    WORKSPACE_JSON,
    check_backtest_data,
    check_config_toml,
    check_history_csv,
    check_tinvest_message,
    check_workspace,
    seeds,
)

REGRESSIONS = Path(__file__).parent / "regressions"
FEW = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _saved() -> list[tuple[str, Path]]:
    return sorted(
        (folder.name, path)
        for folder in REGRESSIONS.iterdir()
        if folder.is_dir()
        for path in folder.iterdir()
        if path.is_file()
    )


@pytest.mark.parametrize(("target", "path"), _saved(), ids=lambda v: getattr(v, "name", v))
def test_a_saved_finding_keeps_to_the_contract(target: str, path: Path) -> None:
    TARGETS[target](path.read_bytes())


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_the_seeds_keep_to_the_contract(target: str) -> None:
    for data in seeds(target):
        TARGETS[target](data)


@pytest.mark.parametrize("target", sorted(TARGETS))
@FEW
@given(data=st.binary(max_size=600))
def test_random_bytes_keep_to_the_contract(target: str, data: bytes) -> None:
    TARGETS[target](data)


@pytest.mark.parametrize("target", sorted(TARGETS))
@FEW
@given(data=st.data())
def test_a_seed_with_bytes_changed_keeps_to_the_contract(target: str, data: st.DataObject) -> None:
    seed = bytearray(data.draw(st.sampled_from(seeds(target))))
    for _ in range(data.draw(st.integers(1, 8))):
        if not seed:
            break
        at = data.draw(st.integers(0, len(seed) - 1))
        seed[at] = data.draw(st.integers(0, 255))
    TARGETS[target](bytes(seed))


# --- inputs built field by field ----------------------------------------------------------

NUMBER = st.one_of(
    st.sampled_from(["280.1", "0", "-1", "1e308", "inf", "NaN", "", " ", "1,5", "9" * 30]),
    st.floats(allow_nan=True).map(str),
    st.integers(-(2**70), 2**70).map(str),
)
WHEN = st.one_of(
    st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30)).map(lambda d: d.isoformat() + "Z"),
    st.sampled_from(["2024-03-01T07:00:00Z", "2024-02-30T07:00:00Z", "", "99999-01-01T00:00Z"]),
    st.text(max_size=12),
)
FIELD = st.one_of(NUMBER, WHEN, st.text(max_size=8))


@FEW
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["u1", "", "u2"]), WHEN, NUMBER, NUMBER, NUMBER, NUMBER, NUMBER),
        max_size=8,
    ),
    header=st.sampled_from(["", "date;time;open;high;low;close;volume\n"]),
)
def test_archive_lines_built_field_by_field(rows: list[tuple[str, ...]], header: str) -> None:
    check_history_csv((header + "\n".join(";".join(row) for row in rows)).encode())


@FEW
@given(rows=st.lists(st.lists(FIELD, min_size=0, max_size=7), max_size=6))
def test_backtest_csv_built_cell_by_cell(rows: list[list[str]]) -> None:
    lines = ["ts,open,high,low,close,volume", *(",".join(row) for row in rows)]
    check_backtest_data(b"\x00" + "\n".join(lines).encode())


KEYS = [
    "mode",
    "token",
    "sim.speed",
    "sim.start",
    "sim.cash",
    "sim.commission",
    "engine.history_days",
    "state.engine",
    "state.schema",
    "ui.refresh_hz",
    "log.level",
    "risk.max_daily_loss",
]
TOML_VALUE = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda f: "nan" if f != f else ("inf" if f == float("inf") else repr(f))
    ),
    st.text(max_size=10).map(json.dumps),
    st.sampled_from(["true", "[]", "{}", "1979-05-27T07:32:00Z", '"t.fuzz-secret-token-0123"']),
)


@FEW
@given(items=st.dictionaries(st.sampled_from(KEYS), TOML_VALUE, max_size=5))
def test_config_built_key_by_key(items: dict[str, str]) -> None:
    sections: dict[str, list[str]] = {}
    for key, value in items.items():
        section, _, name = key.rpartition(".")
        sections.setdefault(section, []).append(f"{name} = {value}")
    text = "\n".join(sections.pop("", []))
    for section, lines in sections.items():
        text += f"\n[{section}]\n" + "\n".join(lines)
    check_config_toml(text.encode())


INT64 = st.integers(-(2**63), 2**63 - 1)
INT32 = st.integers(-(2**31), 2**31 - 1)


@FEW
@given(
    kind=st.integers(0, 7),
    units=INT64,
    nano=INT32,
    seconds=INT64,
    lots=INT64,
    status=st.integers(0, 10),
    order_type=st.integers(0, 5),
)
def test_tinvest_messages_built_field_by_field(
    kind: int, units: int, nano: int, seconds: int, lots: int, status: int, order_type: int
) -> None:
    from google.protobuf.timestamp_pb2 import Timestamp

    from engine.broker.tinvest.proto import investapi_pb2 as pb

    q = pb.Quotation(units=units, nano=nano)
    m = pb.MoneyValue(currency="rub", units=units, nano=nano)
    t = Timestamp(seconds=seconds, nanos=abs(nano) % 1_000_000_000)
    messages = [
        pb.Share(ticker="x", lot=lots % 2**31, min_price_increment=q),
        pb.Instrument(ticker="x", lot=lots % 2**31, min_price_increment=q, instrument_type="bond"),
        pb.HistoricCandle(open=q, high=q, low=q, close=q, volume=lots, time=t),
        pb.Candle(open=q, high=q, low=q, close=q, volume=lots, time=t),
        pb.OrderState(
            lots_requested=lots,
            lots_executed=lots,
            initial_security_price=m,
            average_position_price=m,
            executed_commission=m,
            order_date=t,
            execution_report_status=status,
            order_type=order_type,
        ),
        pb.PostOrderResponse(
            lots_requested=lots, executed_order_price=m, order_type=order_type, direction=status
        ),
        pb.OrderStateStreamResponse.OrderState(
            lots_requested=lots,
            lot_size=nano,
            initial_order_price=m,
            created_at=t,
            order_type=order_type,
        ),
        pb.StopOrder(
            lots_requested=lots, stop_price=m, price=m, create_date=t, order_type=order_type
        ),
    ]
    check_tinvest_message(bytes([kind]) + messages[kind].SerializeToString())


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)


@FEW
@given(
    kind=st.sampled_from(["avin.workspace", "other", None]),
    version=st.one_of(st.integers(-3, 5), st.text(max_size=3), st.none(), st.floats()),
    data=JSON,
    saved=JSON,
)
def test_workspace_records_built_key_by_key(
    kind: object, version: object, data: object, saved: object
) -> None:
    record = {"kind": kind, "version": version, "data": data, "saved_ts": saved}
    check_workspace(json.dumps(record).encode())


# --- writers: bad input leaves the stored data as it was ----------------------------------


def _stored(root: Path) -> pl.DataFrame:
    from engine.data.store import BarStore

    return BarStore(root).read("MOEX_SHARE_SBER").select("ts").sort("ts")


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.one_of(st.binary(max_size=400), st.sampled_from(seeds("history_csv"))))
def test_a_bad_import_keeps_the_stored_bars(tmp_path: Path, data: bytes) -> None:
    from engine.data.importer import import_paths
    from engine.data.instruments import InstrumentCache
    from engine.data.store import BarStore

    root = tmp_path / f"store-{abs(hash(data))}"
    cache = InstrumentCache(root / "instruments.json")
    good = root / "good.csv"
    good.parent.mkdir(parents=True, exist_ok=True)
    good.write_bytes(ARCHIVE_CSV)
    import_paths([good], ticker="SBER", store=BarStore(root), cache=cache, quarantine_dir=root)
    before = _stored(root)
    assert before.height == 3
    bad = root / "input.csv"
    bad.write_bytes(data)
    report = import_paths(
        [bad], ticker="SBER", store=BarStore(root), cache=cache, quarantine_dir=root
    )
    after = _stored(root)
    assert set(before["ts"].to_list()) <= set(after["ts"].to_list()), report
    leftovers = [p for p in root.rglob("*") if ".tmp-" in p.name]
    assert not leftovers


def test_a_damaged_zip_is_one_named_error_and_the_import_goes_on(tmp_path: Path) -> None:
    """Before: a deflate error inside a ZIP escaped import_zip (zlib.error) and ended the whole
    import; now that archive is one error line and the next file is still imported."""
    from engine.data.importer import import_paths
    from engine.data.instruments import InstrumentCache
    from engine.data.store import BarStore

    damaged = tmp_path / "a.zip"
    damaged.write_bytes((REGRESSIONS / "history_zip" / "deflate-invalid-distance").read_bytes())
    good = tmp_path / "b.csv"
    good.write_bytes(ARCHIVE_CSV)
    report = import_paths(
        [damaged, good],
        ticker="SBER",
        store=BarStore(tmp_path / "store"),
        cache=InstrumentCache(tmp_path / "instruments.json"),
        quarantine_dir=tmp_path,
    )
    assert [e.file for e in report.errors] == [str(damaged)]
    assert "not a readable ZIP archive" in report.errors[0].message
    assert report.rows == 3


def test_a_config_that_is_not_utf8_is_a_config_problem(tmp_path: Path) -> None:
    from engine.config import ConfigError, load_settings

    path = tmp_path / "avin.toml"
    path.write_bytes((REGRESSIONS / "config_toml" / "cp1251-comment").read_bytes())
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    [problem] = caught.value.problems
    assert problem.key == "(encoding)" and "line 1" in problem.message
    assert "UTF-8" in problem.hint


def test_a_deeply_nested_workspace_is_damaged_not_a_crash() -> None:
    from engine.state.workspace import parse_workspace

    loaded = parse_workspace('{"kind": "avin.workspace", "version": 1, "data": ' + "[" * 5000)
    assert loaded.data is None and loaded.problem is not None and "nested" in loaded.problem
    assert parse_workspace(WORKSPACE_JSON.decode()).data is not None


def test_an_out_of_range_broker_message_is_a_message_error() -> None:
    from google.protobuf.timestamp_pb2 import Timestamp

    from engine.broker.tinvest import convert
    from engine.broker.tinvest.errors import TInvestError
    from engine.broker.tinvest.proto import investapi_pb2 as pb

    with pytest.raises(convert.MessageError, match="Candle") as caught:
        convert.candle_to_bar(pb.Candle(time=Timestamp(seconds=2**40)))
    assert isinstance(caught.value, TInvestError) and caught.value.hint
    with pytest.raises(convert.MessageError, match="different signs"):
        convert.historic_to_bar(pb.HistoricCandle(open=pb.Quotation(units=1, nano=-5)))
    bar = convert.candle_to_bar(
        pb.Candle(time=Timestamp(seconds=int(datetime(2024, 3, 1, tzinfo=UTC).timestamp())))
    )
    assert bar.ts == datetime(2024, 3, 1, tzinfo=UTC)


def test_an_empty_or_foreign_bars_file_is_a_bars_file_error(tmp_path: Path) -> None:
    from engine.backtest.feed import BarsFileError, read_bars_file

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(BarsFileError, match=r"empty\.csv is not a bars file") as caught:
        read_bars_file(empty)
    assert "ts,open,high,low,close,volume" in caught.value.hint
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(BarsFileError, match="missing"):
        read_bars_file(other)
    with pytest.raises(BarsFileError, match="cannot read"):
        read_bars_file(tmp_path / "absent.parquet")


def test_a_token_under_another_key_is_not_shown_back(tmp_path: Path) -> None:
    from engine.config import check_config

    path = tmp_path / "avin.toml"
    path.write_bytes((REGRESSIONS / "config_toml" / "token-under-another-key").read_bytes())
    [problem] = check_config(path)
    assert problem.key == "mode" and "t.fuzz-secret" not in str(problem)
    assert "(got '***')" in problem.message


def test_a_config_nested_too_deeply_is_a_config_problem(tmp_path: Path) -> None:
    """Before: tomllib's RecursionError escaped ``avin config check`` and ``avin run``."""
    from engine.config import check_config

    path = tmp_path / "avin.toml"
    path.write_bytes((REGRESSIONS / "config_toml" / "nested-arrays-3000").read_bytes())
    [problem] = check_config(path)
    assert problem.key == "(syntax)" and "nested too deeply" in problem.message
