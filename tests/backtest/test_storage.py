"""Saved backtests (engine/backtest/storage.py): a report saved whole or not at all, its equity
curves begun in a thread as soon as the sections are known, a killed save never listed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from engine.backtest import Backtester, BacktestOptions
from engine.backtest.report import Report, build_report, equity_frame
from engine.backtest.storage import ReportSaver, list_backtests, save_report
from tests.backtest.helpers import INST, Plan, bars

PLAN = {1: [{"side": "buy"}], 3: [{"side": "sell"}]}


def _report(saver: ReportSaver | None = None) -> Report:
    result = Backtester(Plan({"plan": PLAN}), INST, BacktestOptions(commission=Decimal(0))).run(
        bars([(p, p, p, p) for p in (100, 101, 104, 106, 103)])
    )
    return build_report("test_plan", {}, [result], None if saver is None else saver.equity)


def test_the_equity_begun_early_is_what_a_plain_save_writes(tmp_path: Path) -> None:
    plain = save_report(_report(), tmp_path, "plain")
    saver = ReportSaver("test_plan", tmp_path, "early")
    report = _report(saver)
    assert not (tmp_path / "early").exists()  # not listed before it is whole
    assert saver.finish(report) == tmp_path / "early"
    for name in ("equity.parquet", "trades.parquet", "orders.parquet"):
        assert_frame_equal(
            pl.read_parquet(tmp_path / "early" / name), pl.read_parquet(plain / name)
        )
    one, total = report.sections
    # one instrument: its curve is TOTAL's, stored once and given back under both names
    assert_frame_equal(pl.read_parquet(plain / "equity.parquet"), equity_frame([one]))
    saved = {s.id: s for s in list_backtests(tmp_path)}["plain"]
    assert_frame_equal(saved.equity(one.name), equity_frame([one]))
    assert_frame_equal(saved.equity(), equity_frame([total]))
    assert saved.equity()["position"].to_list() == [abs(p) for p in one.position.tolist()]
    assert [s.id for s in list_backtests(tmp_path)] == ["plain", "early"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["early", "plain"]


def test_a_run_given_up_leaves_nothing(tmp_path: Path) -> None:
    saver = ReportSaver("test_plan", tmp_path, "failed")
    _report(saver)  # the equity is being written...
    saver.abandon()  # ...and the command failed after
    assert list(tmp_path.iterdir()) == []
    saver.abandon()  # twice: nothing more to do


def test_a_save_that_fails_half_way_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _report()

    def full(self: pl.DataFrame, path: Path, **_: object) -> None:
        Path(path).write_bytes(b"PAR1")  # a part written, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", full)
    with pytest.raises(OSError, match="No space left"):
        save_report(report, tmp_path, "full")
    assert list(tmp_path.iterdir()) == []


def test_a_saved_report_stays_when_given_up_after(tmp_path: Path) -> None:
    saver = ReportSaver("test_plan", tmp_path, "kept")
    saver.finish(_report(saver))
    saver.abandon()  # (the command's cleanup runs whatever happened)
    assert [s.id for s in list_backtests(tmp_path)] == ["kept"]


def test_an_id_taken_is_refused_and_the_saved_one_kept(tmp_path: Path) -> None:
    save_report(_report(), tmp_path, "same")
    before = (tmp_path / "same" / "report.json").read_bytes()
    with pytest.raises(FileExistsError):
        save_report(_report(), tmp_path, "same")
    assert (tmp_path / "same" / "report.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same"]


def test_a_killed_save_is_not_listed(tmp_path: Path) -> None:
    save_report(_report(), tmp_path, "whole")
    killed = tmp_path / ".20261205T000000000000-test-plan.partial"
    killed.mkdir()
    (killed / "report.json").write_text("{}")  # everything but the rename
    assert [s.id for s in list_backtests(tmp_path)] == ["whole"]


def test_what_a_killed_save_left_is_removed_a_day_later(tmp_path: Path) -> None:
    import os
    import time

    old, young = tmp_path / ".old-test.partial", tmp_path / ".young-test.partial"
    for folder in (old, young):
        folder.mkdir()
        (folder / "equity.parquet").write_bytes(b"PAR1")
    day_ago = time.time() - 86_400 - 60
    os.utime(old, (day_ago, day_ago))
    save_report(_report(), tmp_path, "next")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".young-test.partial", "next"]


def test_the_total_of_several_runs_is_stored_with_them(tmp_path: Path) -> None:
    runs = [
        Backtester(Plan({"plan": PLAN}), INST, BacktestOptions(commission=Decimal(0))).run(
            bars([(p, p, p, p) for p in prices])
        )
        for prices in ((100, 101, 104, 106, 103), (50, 52, 51, 49, 48))
    ]
    report = build_report("test_plan", {}, runs)
    folder = save_report(report, tmp_path, "two")
    assert_frame_equal(pl.read_parquet(folder / "equity.parquet"), equity_frame(report.sections))
    (saved,) = list_backtests(tmp_path)
    assert_frame_equal(saved.equity(), equity_frame([report.total]))
