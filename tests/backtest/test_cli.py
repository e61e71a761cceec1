"""``avin backtest``: a --data run writing --trades-out with the exact columns, and saving."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from avin_tui.cli import main
from engine.backtest.storage import list_backtests
from tests.backtest.helpers import bars
from tests.backtest.reference import sma_cross_trades

PRICES = [
    10.0,
    10.5,
    10.2,
    9.8,
    9.5,
    9.9,
    10.4,
    10.9,
    11.3,
    11.0,
    10.6,
    10.1,
    9.7,
    9.6,
    10.0,
    10.5,
    10.8,
    10.7,
    10.2,
    9.9,
    9.4,
    9.8,
    10.3,
    10.9,
    11.5,
]


def _series() -> pl.DataFrame:
    rows = []
    prev = PRICES[0]
    for i, p in enumerate(PRICES):
        o = round(prev + (0.05 if i % 2 else -0.05), 2)
        rows.append((o, max(o, p) + 0.1, min(o, p) - 0.1, p))
        prev = p
    return bars(rows)


def test_data_run_writes_the_trade_list_with_the_exact_columns(tmp_path: Path) -> None:
    data = tmp_path / "bars.csv"
    frame = _series()
    frame.write_csv(data)
    out = tmp_path / "trades.csv"
    code = main(
        [
            "backtest",
            "sma_cross",
            "--data",
            str(data),
            "--param",
            "fast=2",
            "--param",
            "slow=4",
            "--commission",
            "0",
            "--trades-out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    with out.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["entry_ts", "entry_price", "exit_ts", "exit_price", "lots", "side", "result"]
    expected = sma_cross_trades(frame, 2, 4)
    assert len(rows) - 1 == len(expected) > 2
    for row, (entry_i, exit_i, side) in zip(rows[1:], expected, strict=True):
        opens = frame["open"].to_list()
        assert Decimal(row[1]) == Decimal(str(opens[entry_i]))
        assert Decimal(row[3]) == Decimal(str(opens[exit_i]))
        assert row[4] == "1" and row[5] == side
        sign = 1 if side == "long" else -1
        assert Decimal(row[6]) == sign * (Decimal(row[3]) - Decimal(row[1]))
        assert row[0].startswith(frame["ts"][entry_i].strftime("%Y-%m-%dT%H:%M"))
    saved = list_backtests()
    assert len(saved) == 1 and saved[0].section()["summary"]["total"] == len(expected)


def test_default_commission_is_charged_and_zero_is_allowed(tmp_path: Path) -> None:
    data = tmp_path / "bars.parquet"
    _series().write_parquet(data)
    results = {}
    for rate in (None, "0"):
        out = tmp_path / f"t{rate}.csv"
        args = [
            "backtest",
            "sma_cross",
            "--data",
            str(data),
            "--param",
            "fast=2",
            "--param",
            "slow=4",
            "--trades-out",
            str(out),
            "--quiet",
            "--no-save",
        ]
        if rate is not None:
            args += ["--commission", rate]
        assert main(args) == 0
        results[rate] = [Decimal(r["result"]) for r in csv.DictReader(out.open())]
    assert len(results[None]) == len(results["0"])
    assert all(a < b for a, b in zip(results[None], results["0"], strict=True))


def test_bad_input_is_a_plain_error(tmp_path: Path, capsys) -> None:
    assert main(["backtest", "sma_cross", "--data", str(tmp_path / "none.csv")]) == 2
    assert main(["backtest", "no_such_strategy", "--data", str(tmp_path / "x.csv")]) == 2
    data = tmp_path / "b.csv"
    _series().write_csv(data)
    assert (
        main(["backtest", "sma_cross", "--data", str(data), "--param", "fast=30", "--quiet"]) == 2
    )
    assert "avin backtest" in capsys.readouterr().err
    with pytest.raises(SystemExit) as empty:  # (not "cannot read .: it is a folder")
        main(["backtest", "sma_cross", "--data="])
    assert empty.value.code == 2
    assert "argument --data: give the bars file's path" in capsys.readouterr().err


def test_a_misspelled_strategy_is_told_before_the_data_is_looked_for(capsys) -> None:
    """Not "no bars stored" first, and the name only after the user fetched a year of data."""
    argv = ["backtest", "sma_cros", "--tickers", "SBER", "--from", "2026-01-01"]
    assert main([*argv, "--to", "2026-02-01"]) == 2
    err = capsys.readouterr().err
    assert "unknown strategy 'sma_cros'" in err and "sma_cross" in err
    assert "no 1M bars" not in err


def test_tickers_run_over_the_store_with_warm_up_and_two_instruments(
    tmp_path: Path, capsys
) -> None:
    from datetime import UTC, datetime

    from engine.broker.sim import SIM_INSTRUMENTS, generate_bars
    from engine.data.schema import SCHEMA_VERSION, FileMeta
    from engine.data.store import BarStore, write_bars

    store = BarStore()
    for inst in SIM_INSTRUMENTS[:2]:
        frame = generate_bars(
            inst, datetime(2024, 3, 4, tzinfo=UTC), datetime(2024, 3, 9, tzinfo=UTC)
        )
        meta = FileMeta(inst.code, inst.uid, ("test",), SCHEMA_VERSION)
        write_bars(store.year_path(inst.code, 2024), frame, meta)
    tickers = [i.ticker for i in SIM_INSTRUMENTS[:2]]
    out = tmp_path / "t.csv"
    code = main(
        [
            "backtest",
            "sma_cross",
            "--tickers",
            *tickers,
            "--from",
            "2024-03-05",
            "--to",
            "2024-03-08",
            "--param",
            "fast=5",
            "--param",
            "slow=15",
            "--warmup-days",
            "1",
            "--trades-out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert SIM_INSTRUMENTS[0].code in printed and "TOTAL" in printed
    trades = pl.read_csv(out)
    assert trades.height > 10
    first = trades["entry_ts"].min()
    assert str(first) >= "2024-03-05"  # no trade in the warm-up day
    (saved,) = list_backtests()
    names = [s["name"] for s in saved.doc["sections"]]
    assert names == [SIM_INSTRUMENTS[0].code, SIM_INSTRUMENTS[1].code, "TOTAL"]
    assert saved.equity("TOTAL").height > 0


def test_mode_flags_give_the_same_trades_and_sparse_needs_a_wake_mask(
    tmp_path: Path, capsys
) -> None:
    data = tmp_path / "bars.csv"
    _series().write_csv(data)
    lists = []
    for extra in (["--mode", "bars"], ["--mode", "sparse"], ["--verify-wake"]):
        out = tmp_path / f"trades-{extra[-1]}.csv"
        args = [
            "backtest",
            "sma_cross",
            "--data",
            str(data),
            "--param",
            "fast=2",
            "--param",
            "slow=4",
            "--trades-out",
            str(out),
            "--quiet",
            "--no-save",
            *extra,
        ]
        assert main(args) == 0
        lists.append(out.read_text())
    assert lists[0] == lists[1] == lists[2] and lists[0].count("\n") > 3
    args = ["backtest", "pin_bar", "--data", str(data), "--mode", "sparse", "--quiet", "--no-save"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "cannot run" in err and "no wake mask" in err


def test_the_config_risk_limits_reject_orders_and_the_report_lists_them(
    tmp_path: Path, capsys
) -> None:
    data = tmp_path / "bars.csv"
    _series().write_csv(data)
    config = tmp_path / "avin.toml"
    config.write_text("[risk]\nmax_order_lots = 1\n")
    run = ["backtest", "sma_cross", "--data", str(data), "--param", "fast=2", "--param", "slow=4"]
    run += ["--commission", "0", "--quiet", "--config", str(config)]
    assert main(run) == 0
    out = capsys.readouterr().out
    # the first entry is 1 lot; every reversal after it is 2 lots > the limit of 1
    assert "rejected orders" in out
    assert "max_order_lots: 2 lots > limit 1" in out
    (saved,) = list_backtests()
    assert saved.section()["summary"]["rejected"] >= 1
    assert (
        saved.doc["meta"]["rejections"]["max_order_lots"] == saved.section()["summary"]["rejected"]
    )
    assert main([*run, "--no-risk", "--no-save"]) == 0
    assert "max_order_lots" not in capsys.readouterr().out


def test_a_bad_config_is_a_plain_error_and_no_risk_skips_it(tmp_path: Path, capsys) -> None:
    data = tmp_path / "bars.csv"
    _series().write_csv(data)
    config = tmp_path / "avin.toml"
    config.write_text("[risk]\nmax_order_lots = 0\n")
    run = ["backtest", "sma_cross", "--data", str(data), "--param", "fast=2", "--param", "slow=4"]
    run += ["--quiet", "--no-save", "--config", str(config)]
    assert main(run) == 2
    err = capsys.readouterr().err
    assert "max_order_lots" in err and "Traceback" not in err
    assert main([*run, "--no-risk"]) == 0


def _run_small(tmp_path: Path) -> int:
    data = tmp_path / "bars.csv"
    _series().write_csv(data)
    args = ["backtest", "sma_cross", "--data", str(data), "--param", "fast=2", "--param", "slow=4"]
    return main([*args, "--quiet"])


def test_the_report_is_saved_beside_the_table_and_said_after_it(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """The equity curves are written while the order list is built, the rest while the table
    is printed; the saved line comes last."""
    import threading

    from engine.backtest import report as report_module
    from engine.backtest import storage

    events: list[tuple[str, str]] = []

    def spy(owner: object, name: str) -> None:
        real = getattr(owner, name)

        def call(*a, **k):  # type: ignore[no-untyped-def]
            events.append((name, threading.current_thread().name))
            return real(*a, **k)

        monkeypatch.setattr(owner, name, call)

    spy(report_module, "order_frame")
    spy(storage.ReportSaver, "finish")
    write = pl.DataFrame.write_parquet

    def writing(frame: pl.DataFrame, path: Path, *a, **k):  # type: ignore[no-untyped-def]
        events.append((Path(path).name, threading.current_thread().name))
        return write(frame, path, *a, **k)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", writing)
    assert _run_small(tmp_path) == 0
    out = capsys.readouterr().out
    (saved,) = list_backtests()
    assert events[0] == ("equity.parquet", "save equity")  # begun before the order list
    assert ("order_frame", "MainThread") in events and ("finish", "save report") in events
    assert out.rstrip().endswith(f"saved: {saved.folder}")
    assert out.index("Sharpe") < out.index("saved:")
    assert saved.equity("TOTAL").height == len(PRICES)


def test_a_report_that_cannot_be_saved_is_told_after_the_table_and_leaves_nothing(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    from engine.backtest import storage

    write = pl.DataFrame.write_parquet

    def refuse(frame: pl.DataFrame, path: Path, *a, **k):  # type: ignore[no-untyped-def]
        if Path(path).name == "equity.parquet":  # in the equity thread
            raise OSError(28, "No space left on device", str(tmp_path / "home"))
        return write(frame, path, *a, **k)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", refuse)
    assert _run_small(tmp_path) == 1
    captured = capsys.readouterr()
    assert "Sharpe" in captured.out and "saved:" not in captured.out
    assert captured.err.strip() == (
        f"avin backtest: the report was not saved: No space left on device ({tmp_path / 'home'})"
    )
    assert list(storage.backtests_home().iterdir()) == []  # no half-saved folder either
