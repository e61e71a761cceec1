"""A user's day under the login's usual umask 022 - a headless run, a data import, a backtest with
its report and trade export, a status - leaves nothing in the home that the group or others can
read. And a token config others can read stops ``avin run`` and the terminal app before anything
starts, with the fix."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from avin_tui.cli import main
from tests.security.test_private import open_entries

AVIN = Path(sys.executable).with_name("avin")
SECRET = "t.Secret-0123456789abcdefABCDEF"


def _avin(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVIN_")}
    env["AVIN_HOME"] = str(home)
    return subprocess.run(
        [str(AVIN), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        umask=0o022,  # the login's umask, inherited by avin (no preexec_fn: see tests/conftest.py)
    )


def _minute_bars_csv(path: Path) -> Path:
    start = datetime(2024, 3, 1, 10, 0)  # Moscow
    lines = ["date;time;open;high;low;close;volume"]
    for i in range(600):
        t, p = start + timedelta(minutes=i), 100 + 5 * math.sin(i / 20)
        lines.append(f"{t:%Y-%m-%d};{t:%H:%M:%S};{p:.2f};{p + 0.3:.2f};{p - 0.3:.2f};{p:.2f};9")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
def test_a_fresh_day_under_umask_022_leaves_nothing_open(tmp_path: Path) -> None:
    assert AVIN.exists(), "run `.venv/bin/pip install -e .` first"
    home = tmp_path / "home"  # absent: avin creates it
    run = _avin(home, "run", "--headless", "--duration", "3", "--speed", "1200")
    assert run.returncode == 0, run.stderr[-2000:]
    imported = _avin(
        home, "data", "import", "--ticker", "SBER", str(_minute_bars_csv(tmp_path / "s.csv"))
    )
    assert imported.returncode == 0, imported.stderr[-2000:]
    export = tmp_path / "exports" / "trades.csv"
    export.parent.mkdir(mode=0o700)
    backtest = _avin(
        home, "backtest", "sma_cross", "--tickers", "SBER", "--from", "2024-03-01",
        "--to", "2024-03-02", "--param", "fast=3", "--param", "slow=8", "--quiet",
        "--trades-out", str(export),
    )  # fmt: skip
    assert backtest.returncode == 0, backtest.stderr[-2000:]
    assert _avin(home, "status", "--json").returncode == 0
    written = {p.relative_to(home).parts[0:2] for p in home.rglob("*") if p.is_file()}
    for expected in [("state", "journal.sqlite"), ("logs", "avin.log"), ("logs", "incidents.log")]:
        assert expected in written, sorted(written)
    assert any(part[:2] == ("data", "backtests") for part in written)
    assert any(part[:2] == ("data", "bars") for part in written)
    assert open_entries(home) == []
    assert open_entries(export.parent) == []


def test_a_token_config_others_can_read_stops_the_run_and_the_app_with_the_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from engine.paths import homes

    config = homes().config_file
    config.parent.mkdir(parents=True)
    config.write_text(f'token = "{SECRET}"\n')
    config.chmod(0o644)
    for argv in (["run", "--headless", "--duration", "1"], []):  # [] is the terminal app
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"chmod 600 {config}" in err and "open to group and others" in err
        assert SECRET not in err
    assert not (homes().state / "journal.sqlite").exists()  # nothing started


@pytest.mark.slow
def test_a_home_an_older_version_left_open_is_tightened_and_said_in_the_log(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    old = os.umask(0o022)
    try:
        (home / "state" / "journal").mkdir(parents=True)
        (home / "state" / "journal" / "old.sqlite").write_text("from an older version")
        (home / "logs").mkdir()
        (home / "logs" / "avin.log").write_text("an old line\n")
    finally:
        os.umask(old)
    run = _avin(home, "run", "--headless", "--duration", "1", "--speed", "1200")
    assert run.returncode == 0, run.stderr[-2000:]
    note = f"made {home / 'state'} private to you: 3 file(s)/folder(s) were open"
    assert note in run.stderr
    log = (home / "logs" / "avin.log").read_text()
    assert note in log and f"made {home / 'logs'} private to you" in log
    assert open_entries(home / "state") == [] and open_entries(home / "logs") == []
