"""Saved sweeps: ``avin backtest --grid`` keeps its rows and meta under ``<data home>/sweeps/<id>/``
(whole or not at all, private), ``--no-save`` keeps nothing, and the listing reads them back."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

import engine.backtest.sweep as sweep_module
from avin_tui.cli import main
from engine.backtest.sweep_storage import list_sweeps, save_sweep, sweeps_home
from engine.broker.sim import SIM_INSTRUMENTS, generate_bars


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    inst = SIM_INSTRUMENTS[1]
    bars = generate_bars(inst, datetime(2024, 1, 8, tzinfo=UTC), datetime(2024, 1, 10, tzinfo=UTC))
    path = tmp_path_factory.mktemp("sweep-save") / "bars.csv"
    bars.write_csv(path)
    return path


def _run(data: Path, *extra: str) -> int:
    args = ["backtest", "sma_cross", "--data", str(data), "--quiet", "--workers", "1"]
    return main([*args, "--grid", "fast=3:6:3", "--grid", "slow=12,20", *extra])


def test_a_sweep_is_saved_with_the_rows_of_out_and_its_meta(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep.csv"
    assert _run(data, "--out", str(out)) == 0
    [saved] = list_sweeps()
    assert saved.folder.parent == sweeps_home()
    assert f"saved: {saved.folder}" in capsys.readouterr().out
    assert (saved.folder / "sweep.csv").read_text() == out.read_text()
    meta = json.loads((saved.folder / "meta.json").read_text())
    assert meta["strategy"] == "sma_cross" and meta["grid"] == {"fast": [3, 6], "slow": [12, 20]}
    assert meta["source"] == {"data": str(data.resolve())}
    assert meta["workers"] == 1 and meta["ray"] is None
    assert meta["rows"] == meta["combinations"] == 4
    assert meta["complete"] is True and meta["created"].startswith("20")
    assert saved.parameters == ["fast", "slow"] and "net_pnl" in saved.metrics
    rows = saved.rows()
    assert rows.height == 4 and rows.columns[:2] == ["fast", "slow"]
    if os.name == "posix":  # the process umask the CLI sets makes them private
        assert stat.S_IMODE(saved.folder.stat().st_mode) == 0o700
        for name in ("sweep.csv", "meta.json"):
            assert stat.S_IMODE((saved.folder / name).stat().st_mode) == 0o600


def test_no_save_keeps_nothing_and_csv_on_stdout_stays_clean(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(data, "--no-save") == 0
    assert list_sweeps() == []
    assert _run(data) == 0  # the CSV goes to stdout: the saved folder is named on stderr
    captured = capsys.readouterr()
    assert "saved:" not in captured.out and "saved:" in captured.err
    assert len(list_sweeps()) == 1


def test_ctrl_c_saves_the_finished_rows_marked_incomplete(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def two_then_interrupt(job, combos, workers=None, pool=None):  # type: ignore[no-untyped-def]
        for combo in combos[:2]:
            yield job.run(combo)
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_module, "sweep", two_then_interrupt)
    assert _run(data) == 130
    [saved] = list_sweeps()
    assert saved.meta["rows"] == 2 and saved.meta["combinations"] == 4
    assert saved.meta["complete"] is False and saved.rows().height == 2


def test_half_written_and_unreadable_folders_are_not_listed(tmp_path: Path) -> None:
    first = save_sweep(["a", "net_pnl"], [["1", "2.5"]], {"strategy": "s", "grid": {"a": [1]}},
                       tmp_path, "20240101T000000000000-s")  # fmt: skip
    (tmp_path / "20250101T000000000000-s.tmp-1-abcd").mkdir()  # a writer that crashed
    broken = tmp_path / "20250102T000000000000-s"
    broken.mkdir()
    (broken / "meta.json").write_text("{not json")
    (broken / "sweep.csv").write_text("a\n1\n")
    assert [s.folder for s in list_sweeps(tmp_path)] == [first]
    with pytest.raises(FileExistsError):
        save_sweep(["a"], [], {"strategy": "s"}, tmp_path, first.name)


def test_a_failed_write_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "rename", fail)
    with pytest.raises(OSError, match="disk full"):
        save_sweep(["a"], [["1"]], {"strategy": "s"}, tmp_path, "x")
    assert list(tmp_path.iterdir()) == []
