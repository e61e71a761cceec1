"""The compiled backtest core (engine/native.py, built by ``make native``): the same reports as the
interpreted modules, loaded all or nothing, and a build that cannot be used is said, not used.

The equality tests run ``avin backtest`` in processes of their own (the compiled modules must be
in place before any of them is imported, which this test process already did) and need the build
in ``.native/``: ``make test`` builds it first. Without it they fail and say to run make native.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from avin_tui.cli import _compiled_core
from engine import native

ROOT = Path(__file__).resolve().parents[2]
# the command's own entry point, then whether the runner came from the compiled build
PROBE = (
    "import sys\n"
    "from avin_tui.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "from engine import native\n"
    "import engine.backtest.runner as runner, engine.model.order as order\n"
    "print('COMPILED', native.compiled(runner), native.compiled(order), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _built() -> None:
    found = native.find()
    if isinstance(found, str):
        pytest.fail(f"the compiled backtest core is not usable here: {found} (make native)")


def _bars(path: Path, n: int = 30_000, seed: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    close = np.maximum(100, 10_000 + np.cumsum(rng.integers(-6, 7, n)))
    open_ = np.maximum(np.concatenate(([close[0]], close[:-1])) + rng.integers(-1, 2, n), 100)
    high = np.maximum(open_, close) + rng.integers(0, 4, n)
    low = np.minimum(open_, close) - rng.integers(0, 4, n)
    ts = pl.datetime_range(
        pl.datetime(2024, 1, 8, time_zone="UTC"),
        pl.datetime(2024, 1, 8, time_zone="UTC") + pl.duration(minutes=n - 1),
        "1m",
        eager=True,
    )
    frame = pl.DataFrame(
        {
            "ts": ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "open": open_ / 100,
            "high": high / 100,
            "low": low / 100,
            "close": close / 100,
            "volume": rng.integers(1, 1000, n),
        }
    )
    frame.write_csv(path)
    return path


def _avin(args: list[str], home: Path, compiled: bool) -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (native.ENV, native.WORKER_ENV)}
    env.update(AVIN_HOME=str(home), PYTHONPATH=str(ROOT))
    if not compiled:
        env[native.ENV] = "0"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"COMPILED {compiled} {compiled}" in done.stderr, done.stderr[-2000:]
    assert "compiled core is not used" not in done.stderr, done.stderr
    # the printed report, less the folder it was saved in (a time stamp)
    table = "\n".join(line for line in done.stdout.splitlines() if not line.startswith("saved:"))
    return table, done.stderr


def _both(tmp_path: Path, args: list[str], out_flag: str) -> tuple[str, str]:
    """The printed report and the file written to ``out_flag``, interpreted then compiled: equal."""
    seen = []
    for compiled in (False, True):
        target = tmp_path / f"out-{compiled}.csv"
        table, _ = _avin([*args, out_flag, str(target)], tmp_path / f"home-{compiled}", compiled)
        seen.append((table, target.read_text()))
    (pure_table, pure_file), (fast_table, fast_file) = seen
    assert fast_table == pure_table
    assert fast_file == pure_file
    return pure_table, pure_file


@pytest.mark.parametrize(
    ("strategy", "extra", "n"),
    [
        ("sma_cross", ["--param", "fast=10", "--param", "slow=20", "--commission", "0"], 30_000),
        ("sma_cross", ["--mode", "bars", "--slippage", "1", "--commission", "0.0005"], 10_000),
        (
            "pin_bar",
            [
                "--tf",
                "15M",
                "--param",
                "body_p=0.05",
                "--param",
                "shadow_share=0.4",
                "--param",
                "body_share=0.5",
            ],
            10_000,
        ),
        ("zigzag_breakout", [], 1_500),  # it draws its ZigZag over the whole chart each bar
    ],
)
def test_a_compiled_backtest_reports_what_the_interpreted_one_does(
    tmp_path: Path, strategy: str, extra: list[str], n: int
) -> None:
    _built()
    data = _bars(tmp_path / "bars.csv", n=n)
    args = ["backtest", strategy, "--data", str(data), *extra]
    table, trades = _both(tmp_path, args, "--trades-out")
    assert int(next(x for x in table.splitlines() if "│ trades " in x).split("│")[2]) > 0, table
    assert trades.count("\n") > 1


def test_refused_orders_are_the_same_compiled(tmp_path: Path) -> None:
    _built()
    data = _bars(tmp_path / "bars.csv", n=5_000)
    config = tmp_path / "avin.toml"
    config.write_text("[risk]\nmax_order_lots = 1\n")  # every reversal (2 lots) is refused
    table, _ = _both(
        tmp_path,
        ["backtest", "sma_cross", "--data", str(data), "--config", str(config)],
        "--trades-out",
    )
    refused = [line for line in table.splitlines() if "rejected orders" in line]
    assert refused and refused[0].split()[-1] != "0", table


def test_a_sweep_in_compiled_worker_processes_gives_the_interpreted_rows(tmp_path: Path) -> None:
    _built()
    data = _bars(tmp_path / "bars.csv", n=8_000)
    args = [
        "backtest",
        "sma_cross",
        "--data",
        str(data),
        "--grid",
        "fast=3,5",
        "--grid",
        "slow=20:30:10",
        "--workers",
        "2",
    ]
    _, rows = _both(tmp_path, args, "--out")
    assert len(rows.strip().splitlines()) == 5  # a header and 2 x 2 combinations


def _loads_compiled(env: dict[str, str]) -> str:
    probe = (
        "import engine.model.order as order\n"
        "from engine import native\n"
        "print(native.compiled(order))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True
    )
    return (done.stdout + done.stderr).strip()


def test_a_compiled_backtests_worker_processes_load_the_build_by_themselves() -> None:
    _built()
    env = {k: v for k, v in os.environ.items() if k not in (native.ENV, native.WORKER_ENV)}
    env["PYTHONPATH"] = str(ROOT)
    assert _loads_compiled({**env, native.WORKER_ENV: "1"}) == "True"  # what enable() leaves
    assert _loads_compiled({**env, native.WORKER_ENV: "1", native.ENV: "0"}) == "False"
    assert _loads_compiled(env) == "False"  # any other avin process: interpreted


COPIES = """
import copy, pickle
from datetime import UTC, datetime
from decimal import Decimal
import engine.model.order as module
from engine import native
from engine.model import Bar, Side
from engine.model.order import Fill
from engine.model.position import Position, Trade
ts = datetime(2024, 3, 4, 7, tzinfo=UTC)
values = [
    Bar(ts, 1.0, 2.0, 0.5, 1.5, 10),
    Fill("o", "X", Side.BUY, 1, Decimal("1.5"), Decimal("0.01"), ts, account="acc"),
    Trade("X", Side.BUY, ts, Decimal("1.5"), 2, _entered_lots=2),
    Position("X", 10, 2, Decimal("1.5"), account="acc"),
]
ways = (copy.copy, copy.deepcopy, lambda value: pickle.loads(pickle.dumps(value)))
print(native.compiled(module), [way(v) == v for v in values for way in ways].count(True))
"""


def test_model_values_copy_and_pickle_the_same_compiled_or_not() -> None:
    """A strategy may keep copies of bars and fills: copy, deepcopy and pickle work either way
    (not of an Order, whose __init__ refuses what the simulated market copies to reject)."""
    _built()
    env = {k: v for k, v in os.environ.items() if k not in (native.ENV, native.WORKER_ENV)}
    env["PYTHONPATH"] = str(ROOT)
    for compiled, extra in ((True, {native.WORKER_ENV: "1"}), (False, {})):
        done = subprocess.run(
            [sys.executable, "-c", COPIES], env={**env, **extra}, capture_output=True, text=True
        )
        assert done.stdout.strip() == f"{compiled} 12", done.stderr[-1500:]


def _fake_build(tmp_path: Path, **changes: object) -> Path:
    """A copy of the real build's manifest with ``changes``, its files in place."""
    _built()
    build = tmp_path / "native"
    shutil.copytree(native.BUILD, build)
    manifest = json.loads((build / native.MANIFEST).read_text())
    manifest.update(changes)
    (build / native.MANIFEST).write_text(json.dumps(manifest))
    return build


def test_a_build_is_used_only_when_every_source_is_the_one_it_was_built_from(
    tmp_path: Path,
) -> None:
    assert isinstance(native.find(), native.Build)
    sources = json.loads((native.BUILD / native.MANIFEST).read_text())["sources"]
    stale = _fake_build(tmp_path, sources={**sources, "engine.model.order": "0" * 64})
    assert native.find(stale) == (
        "engine/model/order.py changed since it was built; make native builds it again"
    )
    other = _fake_build(tmp_path / "b", tag=".cpython-399-x.so")
    assert "built for another Python (.cpython-399-x.so)" in str(native.find(other))
    failed = _fake_build(tmp_path / "c", failed="CompileError: gcc not found")
    assert native.find(failed) == "its build failed: CompileError: gcc not found"
    (failed / native.MANIFEST).write_text("{not json")
    assert "its manifest cannot be read" in str(native.find(failed))
    assert native.find(tmp_path / "none") == "no compiled build (make native builds it)"
    broken = _fake_build(tmp_path / "d")
    next(broken.glob("engine/model/order.*")).unlink()
    assert native.find(broken) == "its files are incomplete; make native builds it again"


def test_modules_already_imported_keep_the_interpreted_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _built()
    import engine.model.order  # noqa: F401 - imported, as in this test process

    monkeypatch.delenv(native.ENV)
    why = native.enable()
    assert why is not None and why.endswith(
        " was imported before the compiled build could be put in place"
    )
    assert not native.active()
    monkeypatch.setenv(native.ENV, "0")
    assert native.enable() == "AVIN_NATIVE=0"


def test_a_stale_build_is_said_once_by_the_backtest_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = json.loads((native.BUILD / native.MANIFEST).read_text())["sources"]
    stale = _fake_build(tmp_path, sources={**sources, "engine.risk.gate": "1" * 64})
    monkeypatch.setattr(native, "BUILD", stale)
    monkeypatch.delenv(native.ENV)
    _compiled_core()
    err = capsys.readouterr().err
    assert err == (
        "avin backtest: the compiled core is not used: engine/risk/gate.py changed since it was"
        " built; make native builds it again\n"
    )
    monkeypatch.setenv(native.ENV, "0")  # asked for the interpreted modules: nothing to say
    _compiled_core()
    monkeypatch.setattr(native, "BUILD", tmp_path / "absent")  # never built (a binary): quiet
    monkeypatch.delenv(native.ENV)
    _compiled_core()
    assert capsys.readouterr().err == ""
    assert not native.active()
