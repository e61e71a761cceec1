"""``avin backtest --grid ... --walk-forward``: the CSV against the engine, the equity, bad specs."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

import engine.backtest.walk_forward as wf_module
from avin_tui.cli import main
from engine.backtest import BacktestOptions
from engine.backtest.feed import file_instrument, read_bars_file
from engine.backtest.session import Market
from engine.backtest.sweep import LocalPool, SweepJob, combinations
from engine.backtest.walk_forward import Period, span, stitch, usable, walk, windows
from engine.broker.sim import SIM_INSTRUMENTS, generate_bars
from engine.model import Bar
from engine.strategy import StrategyContext
from engine.strategy.light import LightStrategy


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    inst = SIM_INSTRUMENTS[1]
    bars = generate_bars(inst, datetime(2024, 1, 8, tzinfo=UTC), datetime(2024, 1, 12, tzinfo=UTC))
    path = tmp_path_factory.mktemp("wf") / "bars.csv"
    bars.write_csv(path)
    return path


def test_one_row_per_window_then_the_stitched_row(data: Path, tmp_path: Path) -> None:
    out, curve = tmp_path / "wf.csv", tmp_path / "equity.csv"
    args = ["backtest", "sma_cross", "--data", str(data), "--quiet", "--no-risk"]
    args += ["--commission", "0"]
    args += ["--grid", "fast=3,5", "--grid", "slow=12,20", "--walk-forward", "2D:1D"]
    args += ["--metric", "net_pnl", "--warmup-days", "1", "--workers", "2"]
    assert main([*args, "--out", str(out), "--equity-out", str(curve)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["window", "train_from", "train_to", "test_from", "test_to", "fast",
                             "slow", "in_sample_net_pnl", "trades", "net_pnl", "max_drawdown",
                             "sharpe", "win_rate"]  # fmt: skip
    assert [(r["window"], r["train_from"], r["test_from"], r["test_to"]) for r in rows] == [
        ("1", "2024-01-08", "2024-01-10", "2024-01-11"),
        ("2", "2024-01-09", "2024-01-11", "2024-01-12"),
        ("stitched", "", "2024-01-10", "2024-01-12"),
    ]
    # the same walk through the engine, in this process
    bars = read_bars_file(data)
    job = SweepJob(
        "sma_cross",
        (Market(file_instrument(bars, "bars"), bars),),
        options=BacktestOptions(commission=Decimal(0)),
    )
    steps = usable(job, windows(*span(job), Period(2, "D"), Period(1, "D")))
    combos = combinations({"fast": [3, 5], "slow": [12, 20]})
    with LocalPool(job, 1) as pool:
        walked = list(walk(job, combos, steps, pool, metric="net_pnl", warmup=timedelta(days=1)))
    for row, r in zip(rows, walked, strict=False):
        assert (int(row["fast"]), int(row["slow"])) == (r.combo["fast"], r.combo["slow"])
        assert Decimal(row["in_sample_net_pnl"]) == r.in_sample
        assert int(row["trades"]) == r.out.row["trades"]
        assert Decimal(row["net_pnl"]) == r.out.row["net_pnl"]
    whole = stitch(walked, job.options.capital)
    assert int(rows[-1]["trades"]) == whole.row["trades"]
    assert Decimal(rows[-1]["net_pnl"]) == whole.row["net_pnl"]
    points = list(csv.DictReader(curve.open()))
    assert len(points) == whole.equity.size
    assert float(points[-1]["equity"]) == pytest.approx(float(whole.equity[-1]), abs=0.01)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--walk-forward", "2D:1D"], "--walk-forward needs a --grid"),
        (["--ray", "auto"], "--out, --workers and --ray belong to a sweep"),
        (["--grid", "fast=3", "--metric", "net_pnl"], "--metric and --equity-out belong to"),
        (["--grid", "fast=3", "--walk-forward", "2D"], "TRAIN:TEST"),
        (["--grid", "fast=3", "--walk-forward", "2m:1D"], "M for months"),
        (["--grid", "fast=3", "--walk-forward", "2D:1D", "--metric", "pnl"], "choose one of"),
        (["--grid", "fast=3", "--walk-forward", "1M:1M"], "hold no full 1M training plus 1M"),
        (["--grid", "fast=3", "--walk-forward", "2D:1D", "--workers", "0"], "at least 1"),
        (["--grid", "fast=30", "--walk-forward", "2D:1D"], "every combination is refused"),
    ],
)
def test_bad_walk_forwards_are_plain_errors(
    data: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["backtest", "sma_cross", "--data", str(data), "--quiet", *extra]) == 2
    assert message in capsys.readouterr().err


def test_a_walk_forward_leaves_out_the_combinations_the_strategy_refuses(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "wf.csv"
    args = ["backtest", "sma_cross", "--data", str(data), "--quiet", "--workers", "1"]
    args += ["--grid", "fast=5,25", "--grid", "slow=20", "--walk-forward", "2D:1D"]
    assert main([*args, "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert {r["fast"] for r in rows if r["window"] != "stitched"} == {"5"}
    assert "1 of 2 combinations left out" in capsys.readouterr().err


def test_a_refused_walk_forward_leaves_earlier_files_as_they_were(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, curve = tmp_path / "wf.csv", tmp_path / "equity.csv"
    out.write_text("old rows\n")
    curve.write_text("old curve\n")
    args = ["backtest", "sma_cross", "--data", str(data), "--grid", "fast=3"]
    args += ["--out", str(out), "--equity-out", str(curve)]
    assert main([*args, "--walk-forward", "2D:1D", "--metric", "pnl"]) == 2
    assert main([*args, "--walk-forward", "1M:1M"]) == 2
    assert out.read_text() == "old rows\n" and curve.read_text() == "old curve\n"
    nowhere = tmp_path / "missing" / "equity.csv"
    args[-1] = str(nowhere)
    assert main([*args, "--walk-forward", "2D:1D"]) == 2
    assert f"cannot write {nowhere}: no folder" in capsys.readouterr().err
    assert out.read_text() == "old rows\n"


def test_ctrl_c_keeps_the_finished_windows(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = wf_module.walk

    def one_then_interrupt(*args, **kwargs):  # type: ignore[no-untyped-def]
        yield next(real(*args, **kwargs))
        raise KeyboardInterrupt

    monkeypatch.setattr(wf_module, "walk", one_then_interrupt)
    out = tmp_path / "partial.csv"
    args = ["backtest", "sma_cross", "--data", str(data), "--quiet", "--out", str(out)]
    args += ["--grid", "fast=3,4", "--grid", "slow=12", "--walk-forward", "2D:1D"]
    assert main(args) == 130
    assert [r["window"] for r in csv.DictReader(out.open())] == ["1"]
    assert "1 of 2 windows kept" in capsys.readouterr().err


class Boom(LightStrategy):
    """Raises on its ``at``-th bar (0: never)."""

    name: ClassVar[str] = "test_boom"
    default_params: ClassVar[dict[str, Any]] = {"at": 0}

    def on_start(self, ctx: StrategyContext) -> None:
        self.count = 0

    def on_1M(self, ctx: StrategyContext, bar: Bar) -> None:
        self.count += 1
        if self.count == self.params["at"]:
            raise RuntimeError("boom at the chosen bar")


@pytest.mark.parametrize("walk_forward", [[], ["--walk-forward", "2D:1D"]], ids=["sweep", "wf"])
def test_a_strategy_failing_in_a_sweep_is_reported_not_a_traceback(
    data: Path, capsys: pytest.CaptureFixture[str], walk_forward: list[str]
) -> None:
    args = ["backtest", "tests.backtest.test_walk_forward_cli:Boom", "--data", str(data)]
    args += ["--quiet", "--no-save", "--grid", "at=0,30", *walk_forward]
    assert main(args) == 1
    assert "boom at the chosen bar" in capsys.readouterr().err
