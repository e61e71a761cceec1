"""``avin backtest --grid``: the CSV, its rows against single runs, bad grids, Ctrl-C."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

import engine.backtest.sweep as sweep_module
from avin_tui.cli import main
from engine.broker.sim import SIM_INSTRUMENTS, generate_bars


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    inst = SIM_INSTRUMENTS[1]
    bars = generate_bars(inst, datetime(2024, 1, 8, tzinfo=UTC), datetime(2024, 1, 13, tzinfo=UTC))
    path = tmp_path_factory.mktemp("sweep") / "bars.csv"
    bars.write_csv(path)
    return path


def _summary(data: Path, tmp_path: Path, fast: int, slow: int) -> dict[str, str]:
    """A single run's trades and profit, from its trade list."""
    out = tmp_path / f"trades-{fast}-{slow}.csv"
    args = ["backtest", "sma_cross", "--data", str(data), "--quiet", "--no-save"]
    args += ["--param", f"fast={fast}", "--param", f"slow={slow}", "--trades-out", str(out)]
    assert main(args) == 0
    results = [Decimal(r["result"]) for r in csv.DictReader(out.open())]
    return {"trades": str(len(results)), "net_pnl": str(sum(results, Decimal(0)).normalize())}


def test_the_sweep_csv_has_one_row_per_combination_equal_to_single_runs(
    data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sweep.csv"
    args = ["backtest", "sma_cross", "--data", str(data), "--quiet", "--workers", "2"]
    assert main([*args, "--grid", "fast=3:6:3", "--grid", "slow=12,20", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["fast", "slow", "trades", "net_pnl", "max_drawdown", "sharpe",
                             "win_rate"]  # fmt: skip
    assert [(r["fast"], r["slow"]) for r in rows] == [("3", "12"), ("3", "20"), ("6", "12"),
                                                       ("6", "20")]  # fmt: skip
    for r in rows:
        single = _summary(data, tmp_path, int(r["fast"]), int(r["slow"]))
        assert r["trades"] == single["trades"]
        assert Decimal(r["net_pnl"]) == Decimal(single["net_pnl"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--grid", "fast=3:6"], "START:STOP:STEP"),
        (["--grid", "fast=3", "--param", "fast=4"], "both as --param and --grid"),
        (["--grid", "fast=3", "--workers", "0"], "--workers must be at least 1"),
        (["--grid", "fast=30", "--grid", "slow=10"], "must be shorter than slow"),
    ],
)
def test_bad_sweeps_are_plain_errors(
    data: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["backtest", "sma_cross", "--data", str(data), "--quiet", *extra]) == 2
    assert message in capsys.readouterr().err


def test_a_bad_value_is_said_before_any_output(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backtest", "sma_cross", "--data", str(data), "--grid", "fast=abc"]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no CSV header of a sweep that never starts
    assert "fast must be a positive integer, got 'abc'" in err and "first: fast=abc" in err


def test_combinations_the_strategy_refuses_are_left_out_and_counted(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep.csv"
    args = ["backtest", "sma_cross", "--data", str(data), "--quiet", "--workers", "1"]
    grid = ["--grid", "fast=5:25:10", "--grid", "slow=10,20"]  # fast 5, 15, 25
    assert main([*args, *grid, "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [(r["fast"], r["slow"]) for r in rows] == [("5", "10"), ("5", "20"), ("15", "20")]
    err = capsys.readouterr().err
    assert "3 of 6 combinations left out, the strategy refuses them" in err, err
    assert "first: fast=15, slow=10: sma_cross: fast (15) must be shorter than slow (10)" in err
    single = _summary(data, tmp_path, 15, 20)
    assert rows[2]["trades"] == single["trades"]


def test_a_refused_sweep_leaves_an_earlier_out_file_as_it_was(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep.csv"
    out.write_text("fast,trades\n5,12\n")  # yesterday's sweep
    args = ["backtest", "sma_cross", "--data", str(data), "--out", str(out)]
    assert main([*args, "--grid", "fast=3", "--workers", "0"]) == 2
    assert main([*args, "--grid", "fast=abc"]) == 2
    assert out.read_text() == "fast,trades\n5,12\n"
    missing = tmp_path / "no-such-folder" / "sweep.csv"
    assert main([*args[:-1], str(missing), "--grid", "fast=3"]) == 2
    assert f"cannot write {missing}: No such file or directory" in capsys.readouterr().err


def test_ctrl_c_keeps_the_finished_rows(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = []

    def two_then_interrupt(job, combos, workers=None, pool=None):  # type: ignore[no-untyped-def]
        try:
            for combo in combos[:2]:
                yield job.run(combo)
            raise KeyboardInterrupt
        finally:
            closed.append(True)

    monkeypatch.setattr(sweep_module, "sweep", two_then_interrupt)
    out = tmp_path / "partial.csv"
    args = ["backtest", "sma_cross", "--data", str(data), "--quiet", "--out", str(out)]
    assert main([*args, "--grid", "fast=3,4,5", "--grid", "slow=12"]) == 130
    rows = list(csv.DictReader(out.open()))
    assert [r["fast"] for r in rows] == ["3", "4"]
    assert closed == [True]
    assert "2 of 3 rows kept" in capsys.readouterr().err


def test_without_numba_a_rule_sweep_runs_on_the_engine_and_says_why(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The binary has no numba: the vectorised sweep cannot load, the engine runs each row."""
    import sys

    monkeypatch.setitem(sys.modules, "engine.backtest.vector_sweep", None)
    out = tmp_path / "rule.csv"
    args = ["backtest", "sma_cross_rule", "--data", str(data), "--quiet", "--no-risk"]
    args += ["--no-save", "--workers", "1", "--out", str(out)]
    assert main([*args, "--grid", "fast=3", "--grid", "slow=12"]) == 0
    assert "not vectorised, numba is not in this build" in capsys.readouterr().err
    assert [r["fast"] for r in csv.DictReader(out.open())] == ["3"]
