"""``avin backtest STRATEGY``: a strategy over stored history (or a bars file) with a report.

Examples::

    avin backtest sma_cross --tickers SBER GAZP --from 2024-01-01 --to 2024-04-01 \\
        --param fast=10 --param slow=20
    avin backtest sma_cross --data bars.csv --commission 0 --trades-out trades.csv

The report is saved under ``<data home>/backtests/<id>/`` (``--no-save`` skips it) and its summary
printed. ``--trades-out`` writes one CSV row per closed trade with the columns ``entry_ts,
entry_price, exit_ts, exit_price, lots, side, result``.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import threading
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from avin_tui.cli.errors import user_errors
from avin_tui.cli.sweep import register_options as register_sweep_options
from avin_tui.cli.walk_forward import register_options as register_walk_forward_options
from engine.model import TimeFrame

if TYPE_CHECKING:
    from collections.abc import Callable

    import polars as pl

    from engine.backtest.report import Report, Section
    from engine.backtest.session import Market
    from engine.backtest.storage import ReportSaver

TRADES_OUT_COLUMNS = ("entry_ts", "entry_price", "exit_ts", "exit_price", "lots", "side", "result")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "backtest",
        help="run a strategy over history and report its trades",
        description="Run a strategy over stored history (or a bars file) bar by bar, with the "
        "engine's order and fill rules: market orders fill at the next bar's open, limit and "
        "stop orders when a later bar crosses them.",
    )
    p.add_argument("strategy", help="a registered name (sma_cross) or package.module:Class")
    p.add_argument("--tickers", nargs="*", default=[], help="instruments from the store")
    p.add_argument("--from", dest="begin", type=parse_time, help="first traded bar (UTC)")
    p.add_argument("--to", dest="end", type=parse_time, help="end, exclusive (UTC)")
    p.add_argument("--tf", help="the strategy's main timeframe (default: its own)")
    p.add_argument("--base", help="timeframe of the bars fed (default 1M; --data: the file's)")
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="strategy parameter")
    p.add_argument(
        "--data", type=_data_file, help="CSV/Parquet bars (ts, open, high, low, close, volume)"
    )
    p.add_argument(
        "--commission", type=parse_rate, default=None, help="rate of the value, default 0.0005"
    )
    p.add_argument("--slippage", type=int, default=0, help="ticks (price steps) per fill")
    p.add_argument("--capital", type=Decimal, default=Decimal(1_000_000))
    p.add_argument("--gaps", choices=("session", "always"), default="session")
    p.add_argument(
        "--mode",
        choices=("auto", "bars", "sparse"),
        default="auto",
        help="auto: sparse when the strategy declares wake bars; bars: every bar; sparse: insist",
    )
    p.add_argument(
        "--verify-wake",
        action="store_true",
        help="run bar by bar and fail where on_bar acts on a bar its wake mask skips",
    )
    p.add_argument(
        "--warmup-days", type=int, default=5, help="history before --from fed to the charts only"
    )
    p.add_argument("--trades-out", type=Path, help="write the closed trades to this CSV")
    p.add_argument("--no-save", action="store_true", help="do not save the report")
    p.add_argument(
        "--config", type=Path, default=None, metavar="FILE", help="config file (its [risk])"
    )
    p.add_argument(
        "--no-risk",
        action="store_true",
        help="skip the engine's pre-trade rules ([risk] of the config), which a backtest runs "
        "by default: an order live trading would refuse is rejected in the report too",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    register_sweep_options(p)
    register_walk_forward_options(p)
    p.set_defaults(func=cmd_backtest)


def _data_file(text: str) -> Path:
    if not text.strip():  # (Path("") is the working folder)
        raise argparse.ArgumentTypeError("give the bars file's path")
    return Path(text)


def parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date/time: {text!r}") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_rate(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if value < 0 or value >= 1:
        raise argparse.ArgumentTypeError(f"a commission rate is in [0, 1), got {text}")
    return value


def parse_params(items: list[str]) -> dict[str, Any]:
    """``k=v`` pairs; values are JSON when they parse (numbers, true/false), else strings."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--param wants KEY=VALUE, got {item!r}")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        out[key.strip()] = value
    return out


@user_errors
def cmd_backtest(args: argparse.Namespace) -> int:
    if args.data is None:
        return _backtest(args)
    from engine.data import read_ahead

    read_ahead.start(args.data)  # begun already by main(), as a rule (engine/data/read_ahead.py)
    try:
        return _backtest(args)
    finally:  # a command that stopped before the data (a misspelled strategy) leaves no read
        read_ahead.forget(args.data)


def _backtest(args: argparse.Namespace) -> int:
    from engine.backtest import BacktestOptions, StrategyFailed
    from engine.backtest.session import no_cycle_collection
    from engine.backtest.storage import ReportSaver
    from engine.config import load_settings
    from engine.data.errors import DataError
    from engine.strategy import StrategyParamError, UnknownStrategy
    from engine.strategy.registry import resolve

    try:
        resolve(args.strategy)  # a misspelled name is told before any data is looked for
        params = parse_params(args.param)
        markets, main_tf = _markets(args)
        kwargs: dict[str, Any] = {"slippage_ticks": args.slippage, "capital": args.capital}
        if args.commission is not None:
            kwargs["commission"] = args.commission
        if not args.no_risk:
            kwargs["risk"] = load_settings(args.config, token_needed=False).risk
        options = BacktestOptions(
            gaps=args.gaps, mode=args.mode, verify_wake=args.verify_wake, **kwargs
        )
    except (DataError, ValueError, LookupError, OSError) as exc:  # no data stored: say so
        print(f"avin backtest: {exc}", file=sys.stderr)
        return 2
    lonely = _sweep_only_options(args)
    if lonely:
        print(f"avin backtest: {lonely}", file=sys.stderr)
        return 2
    if args.grid:  # long, many backtests: the cyclic collector as usual between them
        gc.enable()
        from avin_tui.cli.sweep import run_sweep
        from avin_tui.cli.walk_forward import run_walk_forward
        from engine.backtest.sweep import SweepJob

        job = SweepJob(args.strategy, tuple(markets), params, main_tf, options)
        try:
            if args.walk_forward:
                return run_walk_forward(args, job)
            return run_sweep(args, job)
        except (DataError, UnknownStrategy, StrategyParamError, ValueError) as exc:
            print(f"avin backtest: {exc}", file=sys.stderr)
            return 2
        except StrategyFailed as exc:  # raised in a worker: the same message as a single run
            print(f"avin backtest: {exc}", file=sys.stderr)
            return 1
    with no_cycle_collection():  # the trade list, the table and the saved report too
        saver = None if args.no_save else ReportSaver(resolve(args.strategy).name or args.strategy)
        try:
            return _single(args, markets, params, main_tf, options, saver)
        finally:
            if saver is not None:
                saver.abandon()  # a run that failed leaves no folder (a saved one stays)


def _single(
    args: argparse.Namespace,
    markets: list[Market],
    params: dict[str, Any],
    main_tf: TimeFrame | None,
    options: Any,
    saver: ReportSaver | None,
) -> int:
    """One backtest: its report printed, its trade list written, the report saved."""
    from engine.backtest import StrategyFailed
    from engine.backtest.session import run_backtest
    from engine.data.errors import DataError
    from engine.strategy import StrategyParamError, UnknownStrategy

    try:
        # the equity curves are saved while the trade and order lists are built
        ready = None if saver is None else saver.equity
        report = _run(args, markets, params, main_tf, options, run_backtest, ready)
    except (DataError, UnknownStrategy, StrategyParamError, ValueError) as exc:
        print(f"avin backtest: {exc}", file=sys.stderr)
        return 2
    except StrategyFailed as exc:
        print(f"avin backtest: {exc}", file=sys.stderr)
        return 1
    saving = None if saver is None else _saving(report, saver.finish)
    try:
        if args.trades_out is not None:
            write_trades_csv(report.trades, args.trades_out)
        print_report(report)
    finally:  # (a table cut short by a closed pipe still leaves a whole report saved)
        if saving is not None:
            saving.exception()
    if saving is not None:
        try:
            print(f"saved: {saving.result()}")
        except OSError as exc:  # a full disk, a home made read-only: said, not a crash
            where = f" ({exc.filename})" if exc.filename else ""
            print(
                f"avin backtest: the report was not saved: {exc.strerror or exc}{where}",
                file=sys.stderr,
            )
            return 1
    return 0


def _saving(report: Report, finish: Callable[[Report], Path]) -> Future[Path]:
    """The rest of the report being saved in a thread while the trade list is written and the
    table printed (polars writes its files without holding the interpreter's lock);
    ``result()`` waits for it and raises what saving raised."""
    done: Future[Path] = Future()

    def save() -> None:
        try:
            done.set_result(finish(report))
        except BaseException as exc:
            done.set_exception(exc)

    threading.Thread(target=save, name="save report").start()
    return done


def _sweep_only_options(args: argparse.Namespace) -> str | None:
    """What is wrong when an option of sweeps or walk-forwards comes without what it needs."""
    if args.walk_forward and not args.grid:
        return "--walk-forward needs a --grid to optimise"
    if not args.grid and (args.ray or args.out or args.workers is not None):
        return "--out, --workers and --ray belong to a sweep: give a --grid"
    if not args.grid and args.engine_only:
        return "--engine-only belongs to a sweep: give a --grid"
    if not args.walk_forward and (args.metric != "sharpe" or args.equity_out):
        return "--metric and --equity-out belong to --walk-forward"
    return None


def _run(
    args: argparse.Namespace,
    markets: list[Market],
    params: dict[str, Any],
    main_tf: TimeFrame | None,
    options: Any,
    run_backtest: Any,
    sections_ready: Callable[[list[Section]], None] | None = None,
) -> Report:
    if args.quiet or not sys.stderr.isatty():
        return run_backtest(
            args.strategy,
            markets,
            params=params,
            timeframe=main_tf,
            options=options,
            sections_ready=sections_ready,
        )
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        tasks = {m.instrument.code: bar.add_task(m.instrument.code, total=None) for m in markets}

        def progress(code: str, done: int, total: int) -> None:
            bar.update(tasks[code], completed=done, total=total)

        return run_backtest(
            args.strategy,
            markets,
            params=params,
            timeframe=main_tf,
            options=options,
            progress=progress,
            sections_ready=sections_ready,
        )


def _markets(args: argparse.Namespace) -> tuple[list[Market], TimeFrame | None]:
    from engine.backtest.feed import file_instrument, infer_timeframe, read_bars_file
    from engine.backtest.session import Market

    main_tf = TimeFrame.from_code(args.tf) if args.tf else None
    if args.data is not None:
        if args.tickers:
            raise ValueError("give either --data or --tickers, not both")
        bars = read_bars_file(args.data)
        if args.begin is not None or args.end is not None:
            bars = _clip(bars, None, args.end)
        base = TimeFrame.from_code(args.base) if args.base else infer_timeframe(bars)
        instrument = file_instrument(bars, args.data.stem)
        return [Market(instrument, bars, base, args.begin)], main_tf or base
    if not args.tickers:
        raise ValueError("give --tickers (instruments in the store) or --data FILE")
    if args.begin is None or args.end is None:
        raise ValueError("--from and --to are needed with --tickers")
    from engine.data.instruments import InstrumentCache
    from engine.data.loading import load_bars

    cache = InstrumentCache()
    base = TimeFrame.from_code(args.base) if args.base else TimeFrame.M1
    warm = args.begin - timedelta(days=max(0, args.warmup_days))
    markets = []
    for ticker in args.tickers:
        instrument = cache.find(ticker)
        bars = load_bars(instrument.code, base, warm, args.end)
        markets.append(Market(instrument, bars, base, args.begin))
    return markets, main_tf


def _clip(frame: pl.DataFrame, begin: datetime | None, end: datetime | None) -> pl.DataFrame:
    import polars as pl

    if begin is not None:
        frame = frame.filter(pl.col("ts") >= begin)
    if end is not None:
        frame = frame.filter(pl.col("ts") < end)
    return frame


def write_trades_csv(trades: pl.DataFrame, path: Path) -> None:
    """The closed trades, columns exactly :data:`TRADES_OUT_COLUMNS`; times ISO 8601 UTC."""
    import polars as pl

    iso = "%Y-%m-%dT%H:%M:%S%.fZ"
    out = trades.select(
        pl.col("entry_ts").dt.strftime(iso).str.replace(r"\.Z$", "Z"),
        pl.col("entry_price"),
        pl.col("exit_ts").dt.strftime(iso).str.replace(r"\.Z$", "Z"),
        pl.col("exit_price"),
        pl.col("lots"),
        pl.col("side"),
        pl.col("result"),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    out.write_csv(path)


_ROWS: tuple[tuple[str, str, str], ...] = (
    ("summary", "total", "trades"),
    ("summary", "wins", "wins"),
    ("summary", "losses", "losses"),
    ("summary", "gross_profit", "gross profit"),
    ("summary", "gross_loss", "gross loss"),
    ("summary", "profit", "profit"),
    ("summary", "ratio", "ratio"),
    ("summary", "percent_profitable", "% profitable"),
    ("summary", "avg_trade", "average trade"),
    ("summary", "avg_win", "average win"),
    ("summary", "avg_loss", "average loss"),
    ("summary", "max_win", "max win"),
    ("summary", "max_loss", "max loss"),
    ("summary", "win_streak", "longest win streak"),
    ("summary", "loss_streak", "longest loss streak"),
    ("summary", "rejected", "rejected orders"),
    ("metrics", "final_equity", "final equity"),
    ("metrics", "return_p", "return %"),
    ("metrics", "max_drawdown", "max drawdown"),
    ("metrics", "max_drawdown_p", "max drawdown %"),
    ("metrics", "exposure", "exposure %"),
    ("metrics", "sharpe", "Sharpe"),
    ("metrics", "sortino", "Sortino"),
)


def fmt(value: Any, key: str = "") -> str:
    if value is None:
        return "-"
    if key == "exposure":
        return f"{float(value) * 100:.1f}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal | float):
        return f"{float(value):,.2f}"
    return str(value)


def print_report(report: Report) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"backtest {report.strategy} {report.params}")
    table.add_column("")
    for s in report.sections:
        table.add_column(s.name, justify="right")
    for group, key, label in _ROWS:
        cells = [fmt(getattr(s, group).get(key), key) for s in report.sections]
        table.add_row(label, *cells)
    console = Console(width=max(100, 20 + 18 * len(report.sections)))
    console.print(table)
    rejected = report.rejected
    shown = 10
    for row in rejected.head(shown).iter_rows(named=True):
        when = row["created_ts"].strftime("%Y-%m-%d %H:%M") if row["created_ts"] else "-"
        console.print(
            f"rejected {when} {row['instrument']} {row['side']} {row['lots']} {row['type']}: "
            f"{row['reason']}",
            markup=False,
            highlight=False,
        )
    if rejected.height > shown:
        console.print(f"... {rejected.height - shown} more rejected (orders.parquet)")
