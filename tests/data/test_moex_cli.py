"""`avin data download/update --source moex` and `avin data check --against moex` on the command
line, against the local ISS-shaped server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest

from engine.data.moex import fake
from engine.data.store import BarStore
from engine.data.ticks import TickStore

from .conftest import strip_ansi

Run = Any
DAYS = [date(2024, 3, 4), date(2024, 3, 5)]
CODE = "MOEX_SHARE_SBER"


@pytest.fixture
def iss(monkeypatch: pytest.MonkeyPatch) -> Iterator[fake.FakeIss]:
    server = fake.FakeIss()
    server.add(fake.SBER, fake.generate_minutes(fake.SBER, DAYS, seed=7, gaps=0.3))
    with fake.serve(server):
        monkeypatch.setenv("AVIN_MOEX_URL", server.base_url)
        yield server


def download(run_cli: Run, *extra: str) -> Any:
    return run_cli(
        "data", "download", "SBER", "--source", "moex", "--from", "2024-03-04",
        "--to", "2024-03-05", "--no-progress", *extra,
    )  # fmt: skip


def test_download_stores_the_served_minutes_and_a_rerun_skips_whole_days(
    iss: fake.FakeIss, run_cli: Run
) -> None:
    first = download(run_cli)
    assert first.code == 0, first.err
    served = len(iss.minutes["SBER"])
    assert CODE in first.out and f"{served:,}" in strip_ansi(first.out)
    assert BarStore().read(CODE).height == served
    listing = strip_ansi(run_cli("data", "list").out)
    assert "moex-iss" in listing
    iss.requests.clear()
    again = download(run_cli)
    assert again.code == 0 and "2 days already stored whole" in strip_ansi(again.out)
    assert not [p for p, _ in iss.requests if p.endswith("candles.json")]


def test_base_url_option_wins_over_the_environment(
    iss: fake.FakeIss, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AVIN_MOEX_URL", "http://127.0.0.1:9")  # nothing listens there
    result = download(run_cli, "--base-url", iss.base_url)
    assert result.code == 0, result.err


def test_check_against_moex_reports_missing_extra_and_price_differences(
    iss: fake.FakeIss, run_cli: Run
) -> None:
    assert download(run_cli).code == 0
    same = run_cli("data", "check", "SBER", "--against", "moex", "--from", "2024-03-04",
                   "--to", "2024-03-05")  # fmt: skip
    assert same.code == 0, same.err
    assert "the same" in strip_ansi(same.out)
    store = BarStore()
    bars = store.read(CODE)
    first, second = bars.row(0, named=True), bars.row(1, named=True)
    changed = pl.DataFrame([{**first, "high": first["high"] + 0.05}], schema=bars.schema)
    store.merge(CODE, "", changed, "test")  # a price 5 steps off
    store.merge(CODE, "", pl.DataFrame([{**second, "volume": second["volume"] + 1}],
                                       schema=bars.schema), "test")  # fmt: skip
    extra_ts = datetime(2024, 3, 4, 2, 0, tzinfo=UTC)  # 05:00 Moscow: ISS has no candle
    store.merge(CODE, "", pl.DataFrame([{**first, "ts": extra_ts}], schema=bars.schema), "test")
    iss.minutes["SBER"] = iss.minutes["SBER"][:-1]  # the last stored minute: extra, 03-05
    result = run_cli("data", "check", "SBER", "--against", "moex", "--from", "2024-03-04",
                     "--to", "2024-03-05", "--json")  # fmt: skip
    assert result.code == 1
    [report] = json.loads(result.out)
    days = {day["day"]: day for day in report["days"]}
    assert days["2024-03-04"]["extra"] == ["2024-03-04T02:00:00Z"]
    assert days["2024-03-04"]["prices"] == [
        {"ts": first["ts"].strftime("%Y-%m-%dT%H:%M:%SZ"), "column": "high",
         "stored": first["high"] + 0.05, "reference": first["high"]}
    ]  # fmt: skip
    assert days["2024-03-04"]["volumes_count"] == 1
    assert days["2024-03-05"]["extra_count"] == 1 and days["2024-03-05"]["missing_count"] == 0
    assert report["price_step"] == "0.01" and report["ok"] is False
    table = run_cli("data", "check", "SBER", "--against", "moex", "--from", "2024-03-04",
                    "--to", "2024-03-05")  # fmt: skip
    assert table.code == 1 and "differences found" in strip_ansi(table.out)
    assert "high" in table.out and "extra 02:00Z" in table.out


def test_check_against_moex_names_missing_minutes(iss: fake.FakeIss, run_cli: Run) -> None:
    assert download(run_cli).code == 0
    extra = fake.Minute(datetime(2024, 3, 5, 5, 0), 280.0, 280.0, 280.0, 280.0, 10)
    iss.minutes["SBER"] = sorted([*iss.minutes["SBER"], extra], key=lambda m: m.begin)
    result = run_cli("data", "check", "SBER", "--against", "moex", "--from", "2024-03-05",
                     "--to", "2024-03-05", "--json")  # fmt: skip
    [report] = json.loads(result.out)
    assert result.code == 1 and report["days"][0]["missing"] == ["2024-03-05T02:00:00Z"]


def test_update_from_moex_starts_at_the_last_stored_day(iss: fake.FakeIss, run_cli: Run) -> None:
    result = run_cli("data", "download", "SBER", "--source", "moex", "--from", "2024-03-04",
                     "--to", "2024-03-04", "--no-progress")  # fmt: skip
    assert result.code == 0, result.err
    iss.requests.clear()
    update = run_cli("data", "update", "SBER", "--source", "moex", "--no-progress")
    assert update.code == 0, update.err
    froms = {q["from"][:10] for p, q in iss.requests if p.endswith("candles.json")}
    assert min(froms) == "2024-03-05"  # 2024-03-04 is recorded whole: not fetched again
    assert BarStore().read(CODE).height == len(iss.minutes["SBER"])


def test_trades_of_one_day(iss: fake.FakeIss, run_cli: Run) -> None:
    iss.add_trades("SBER", DAYS[1], [("10:00:00", 280.0, 30, "B"), ("23:49:59", 281.0, 20, "S")])
    result = run_cli("data", "download", "SBER", "--source", "moex", "--trades", "--from",
                     "2024-03-05")  # fmt: skip
    assert result.code == 0, result.err
    assert "2024-03-05" in result.out
    stored = TickStore().read(CODE)
    assert stored["lots"].to_list() == [3, 2]
    assert stored["ts"].to_list() == [
        datetime(2024, 3, 5, 7, tzinfo=UTC), datetime(2024, 3, 5, 20, 49, 59, tzinfo=UTC)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--source", "moex"), "needs --from YYYY-MM-DD"),
        (("--source", "moex", "--from", "2024-03-04", "--tf", "5M"), "no 5M bars"),
        (("--source", "moex", "--from-year", "2024"), "--from-year/--to-year are for the yearly"),
        (("--source", "moex", "--from", "2024-03-05", "--to", "2024-03-04"), "is before --from"),
        (("--source", "moex", "--from", "2024-03-04", "--base-url", "ftp://x"), "not an http(s)"),
        (("--from", "2024-03-04", "--tf", "D"), "the history archives hold 1-minute bars only"),
    ],
)
def test_bad_options_are_one_clear_line(
    iss: fake.FakeIss, run_cli: Run, args: tuple[str, ...], message: str
) -> None:
    result = run_cli("data", "download", "SBER", "--no-progress", *args)
    assert result.code == 2 and message in result.err and "Traceback" not in result.err
    assert not BarStore().has(CODE)


def test_an_unknown_ticker_and_a_broken_answer_fail_clearly_and_store_nothing(
    iss: fake.FakeIss, run_cli: Run
) -> None:
    unknown = run_cli("data", "download", "NOPE", "--source", "moex", "--from", "2024-03-04",
                      "--no-progress")  # fmt: skip
    assert unknown.code == 1 and "ISS knows no share 'NOPE'" in unknown.err
    iss.faults_at[("candles", 0)] = ["noblock"]
    broken = download(run_cli)
    assert broken.code == 1 and "has no 'candles' table" in broken.err
    assert not BarStore().has(CODE)


def test_check_options_of_the_cross_check_need_against(run_cli: Run) -> None:
    result = run_cli("data", "check", "SBER", "--json")
    assert result.code == 2 and "go with --against" in result.err


def test_check_against_an_empty_store_names_every_served_minute_missing(
    iss: fake.FakeIss, run_cli: Run
) -> None:
    result = run_cli("data", "check", "SBER", "--against", "moex", "--from", "2024-03-04",
                     "--to", "2024-03-04", "--json")  # fmt: skip
    [report] = json.loads(result.out)
    served = [m for m in iss.minutes["SBER"] if m.begin.date() == DAYS[0]]
    assert result.code == 1 and report["days"][0]["missing_count"] == len(served)
    assert report["days"][0]["stored"] == 0
