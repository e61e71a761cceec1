"""``avin data download/update --source ...`` and ``avin data check --against moex``: the data
sources of ``engine.data.sources`` on the command line (options registered by ``data.py``)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from avin_tui.cli.data_console import (
    fail,
    new_table,
    parse_date,
    run_async,
    stderr_console,
    stdout_console,
)
from engine.data.errors import DataError

SOURCES = ("tinvest-archive", "tinvest", "moex", "remote")
URL_HELP = (
    "service URL: the ISS for --source moex (default: $AVIN_MOEX_URL or the public ISS), the "
    "history archives for tinvest-archive (default: $AVIN_HISTORY_URL or T-Invest), HOST:PORT "
    "of `avin data serve` for --source remote"
)
CHECK_DAYS = 7


def add_download_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        choices=SOURCES,
        default="tinvest-archive",
        help="where the bars come from (default: tinvest-archive, the yearly archives)",
    )
    p.add_argument(
        "--from",
        dest="since",
        type=parse_date,
        metavar="YYYY-MM-DD",
        help="first day (UTC); --trades --source moex: the day of the trades",
    )
    p.add_argument(
        "--to",
        dest="until",
        type=parse_date,
        metavar="YYYY-MM-DD",
        help="last day, inclusive (default: today)",
    )
    p.add_argument("--tf", default="1M", help="moex: 1M 10M 1H D W M; tinvest: 1M..D (default 1M)")
    p.add_argument("--board", default="TQBR", help="ISS board of --source moex (default TQBR)")


def add_update_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        choices=("broker", "moex"),
        default="broker",
        help="broker: the configured broker's candles (default); moex: the exchange's ISS",
    )
    p.add_argument("--board", default="TQBR", help="ISS board of --source moex (default TQBR)")
    p.add_argument("--base-url", help="ISS URL (default: $AVIN_MOEX_URL or the public ISS)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_check_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--against",
        choices=("moex",),
        help="compare the stored 1-minute bars with the exchange's (per day: missing and extra "
        "minutes, prices more than one step apart, volumes)",
    )
    p.add_argument(
        "--from",
        dest="since",
        type=parse_date,
        metavar="YYYY-MM-DD",
        help=f"with --against: first day (default: {CHECK_DAYS} days before --to)",
    )
    p.add_argument(
        "--to",
        dest="until",
        type=parse_date,
        metavar="YYYY-MM-DD",
        help="with --against: last day, inclusive (default: today)",
    )
    p.add_argument("--json", action="store_true", help="with --against: a JSON report on stdout")
    p.add_argument("--board", default="TQBR", help="ISS board (default TQBR)")
    p.add_argument("--base-url", help="ISS URL (default: $AVIN_MOEX_URL or the public ISS)")


# --- download and update ------------------------------------------------------------------------


def _timeframe(code: str) -> Any:
    from engine.model import TimeFrame

    return TimeFrame.from_code(code)


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A rich progress bar per instrument (chunks of days) on stderr, or a no-op hook."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    tasks: dict[str, Any] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks of days"),
        console=stderr_console(),
    ) as progress:

        def hook(code: str, done: int, total: int) -> None:
            if code not in tasks:
                tasks[code] = progress.add_task(code, total=total)
            progress.update(tasks[code], completed=done, total=total)

        yield hook


def download_from_source(args: argparse.Namespace) -> int:
    """``avin data download --source tinvest|moex`` (tinvest-archive keeps its yearly flow)."""
    from engine.data.sources.fetch import fetch_bars, fetch_trades
    from engine.data.sources.registry import open_source

    if args.from_year is not None or args.to_year is not None:
        raise DataError(
            f"--from-year/--to-year are for the yearly archives, not --source {args.source}",
            "Give days: --from YYYY-MM-DD [--to YYYY-MM-DD]",
        )
    broker = None
    if args.source == "tinvest":
        from engine.runtime.data_broker import open_broker

        broker = open_broker()
    source = open_source(
        args.source, base_url=args.base_url, board=args.board, timeout=args.timeout, broker=broker
    )
    if args.trades:
        if args.until is not None:
            raise DataError("--trades fetches one day: give --from DAY alone (or nothing)", "")
        results = run_async(
            _opened(source, lambda: fetch_trades(source, args.tickers, day=args.since))
        )
        return _trades_table(results)
    if args.since is None:
        raise DataError(
            f"`avin data download --source {args.source}` needs --from YYYY-MM-DD",
            f"For example: avin data download SBER --source {args.source} --from 2024-03-01",
        )
    if args.until is not None and args.until < args.since:
        raise DataError(f"--to {args.until} is before --from {args.since}", "")
    timeframe = _timeframe(args.tf)
    with _progress(not args.no_progress) as hook:
        results = run_async(
            _opened(
                source,
                lambda: fetch_bars(
                    source,
                    args.tickers,
                    timeframe=timeframe,
                    since=args.since,
                    until=args.until,
                    on_chunk=hook,
                ),
            )
        )
    return _bars_table("download", results)


def update_from_moex(args: argparse.Namespace) -> int:
    """``avin data update --source moex``: from the last stored bar to now, from ISS."""
    from engine.data.sources.fetch import fetch_bars
    from engine.data.sources.registry import open_source
    from engine.data.store import BarStore

    tickers = list(args.tickers) or BarStore().codes()
    if not tickers:
        raise DataError(
            "nothing to update: the store is empty",
            "Name instruments (`avin data update SBER --source moex`) or download first",
        )
    source = open_source("moex", base_url=args.base_url, board=args.board)
    with _progress(not args.no_progress) as hook:
        results = run_async(
            _opened(
                source,
                lambda: fetch_bars(
                    source, tickers, since=args.since, continue_from_store=True, on_chunk=hook
                ),
            )
        )
    return _bars_table("update", results)


async def _opened(source: Any, action: Any) -> Any:
    await source.open()
    try:
        return await action()
    finally:
        await source.close()


def _bars_table(command: str, results: list[Any]) -> int:
    """One row per instrument (fits 80 columns), its notes on lines below the table."""
    table = new_table(f"{command} ({results[0].timeframe.code} bars)" if results else command)
    table.add_column("instrument", no_wrap=True)
    table.add_column("days (UTC)", no_wrap=True)
    for column in ("chunks", "bars", "new rows", "bars/s"):
        table.add_column(column, justify="right", no_wrap=True)
    lines = []
    for item in results:
        notes = ["failed (see below)"] if item.error else []
        if item.skipped_days:
            days = "1 day" if item.skipped_days == 1 else f"{item.skipped_days} days"
            notes.append(f"{days} already stored whole, not fetched again")
        if item.invalid:
            notes.append(f"{item.invalid} invalid rows skipped")
        if item.remainders:
            notes.append(
                f"{item.remainders} volumes not whole lots (rounded half up; the lot size "
                "may have changed since)"
            )
        if notes:
            lines.append(f"{item.code}: {'; '.join(notes)}")
        rate = f"{item.bars / item.seconds:,.0f}" if item.seconds > 0 and item.bars else "-"
        span = f"{item.since}..{item.until:%m-%d}" if item.since and item.until else "-"
        table.add_row(item.code, span, str(item.chunks), f"{item.bars:,}", f"{item.added:,}", rate)
    out = stdout_console()
    out.print(table)
    for line in lines:
        out.print(f"  {line}", highlight=False)
    failed = [item for item in results if item.error]
    for item in failed:
        fail(command, f"{item.code}: {item.error}")
    return 1 if failed else 0


def _trades_table(results: list[Any]) -> int:
    table = new_table("download --trades")
    for column in ("instrument", "days (UTC)", "trades", "new rows", "note"):
        table.add_column(column)
    for item in results:
        note = (
            "failed (see below)"
            if item.error
            else (f"{item.remainders} quantities not whole lots" if item.remainders else "")
        )
        days = ", ".join(str(day) for day in item.days) or "-"
        table.add_row(item.code, days, f"{item.trades:,}", f"{item.added:,}", note)
    stdout_console().print(table)
    failed = [item for item in results if item.error]
    for item in failed:
        fail("download", f"{item.code}: {item.error}")
    return 1 if failed else 0


# --- check --against -----------------------------------------------------------------------------


def check_against(args: argparse.Namespace) -> int:
    from engine.data.sources.crosscheck import check_against as run_check
    from engine.data.sources.registry import open_source

    if not args.tickers:
        raise DataError(
            "--against needs the instruments to compare",
            "e.g. avin data check SBER --against moex --from 2024-03-01",
        )
    until = args.until or datetime.now(UTC).date()
    since = args.since or until - timedelta(days=CHECK_DAYS - 1)
    if until < since:
        raise DataError(f"--to {until} is before --from {since}", "")
    source = open_source(args.against, base_url=args.base_url, board=args.board)

    async def every() -> list[Any]:
        return [await run_check(source, ticker, since, until) for ticker in args.tickers]

    reports = run_async(_opened(source, every))
    if args.json:
        print(json.dumps([r.to_json() for r in reports], indent=1))
    else:
        for report in reports:
            _check_table(report, args.show)
    return 0 if all(r.ok for r in reports) else 1


def _check_table(report: Any, show: int) -> None:
    out = stdout_console()
    table = new_table(
        f"{report.code}: stored 1M bars against {report.source}, {report.since}..{report.until} "
        f"(UTC days; price tolerance one step = {report.step})"
    )
    for column in ("day", "stored", report.source, "missing", "extra", "prices", "volumes"):
        table.add_column(column, justify="left" if column == "day" else "right")
    for day in report.days:
        style = "" if day.ok else "red"
        table.add_row(
            str(day.day),
            f"{day.stored:,}",
            f"{day.reference:,}",
            str(len(day.missing)),
            str(len(day.extra)),
            str(len(day.prices)),
            str(len(day.volumes)),
            style=style,
        )
    out.print(table)
    if not report.days:
        out.print("  neither the store nor the source has bars in this range")
    for day in report.days:
        examples = [f"missing {_hhmm(ts)}" for ts in day.missing[:show]]
        examples += [f"extra {_hhmm(ts)}" for ts in day.extra[:show]]
        examples += [
            f"{_hhmm(d.ts)} {d.column} {d.stored:g} vs {d.reference:g}" for d in day.prices[:show]
        ]
        examples += [f"{_hhmm(ts)} volume {a} vs {b} lots" for ts, a, b in day.volumes[:show]]
        if examples:
            out.print(f"  {day.day}: " + "; ".join(examples), highlight=False)
    verdict = "[green]the same[/]" if report.ok else "[red]differences found[/]"
    out.print(f"{report.code}: {verdict}")


def _hhmm(ts: datetime) -> str:
    return f"{ts:%H:%M}Z"
