"""``avin data ...``: the command line of the market-data layer.

Subcommands: import, download, update, instruments, list, check, export, serve. Each returns an exit
code: 0 success, 1 partial failure (some files or years failed, problems found), 2 bad input or
a failure that stopped the command. Errors are one paragraph on stderr, never a traceback
(data_console). Fetching commands live in data_fetch; the ones that read the stores here.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from avin_tui.cli.data_console import (
    fail,
    guard,
    minute_text,
    new_table,
    parse_date,
    run_async,
    show_help,
    stdout_console,
    utc_day,
)
from avin_tui.cli.data_fetch import cmd_download, cmd_import, cmd_update
from avin_tui.cli.data_serve import add_remote_options, add_serve_parser, cmd_export_remote
from avin_tui.cli.data_sources import (
    URL_HELP,
    add_check_options,
    add_download_options,
    add_update_options,
    check_against,
)
from engine.data.errors import DataError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "data",
        help="market data: import, download, update, inspect and export bars",
        description="Market data: 1-minute bars in a Parquet store, every timeframe derived.",
    )
    parser.set_defaults(func=show_help(parser))
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION")

    from engine.data.headered import FORMATS_HELP

    p = sub.add_parser(
        "import",
        help="import T-Invest history ZIPs, folders of them, or CSVs (headered ones too)",
        description="Import 1-minute bars into the store. " + FORMATS_HELP,
        epilog="Invalid lines go to a quarantine report; a run that stores no row exits 1.",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--ticker", help="store everything under this instrument (skip uid lookup)")
    p.add_argument(
        "--tz",
        default="Europe/Moscow",
        metavar="ZONE",
        help="zone of headered CSVs' times that carry none (default: Europe/Moscow; e.g. UTC)",
    )
    p.set_defaults(func=guard(cmd_import))

    p = sub.add_parser(
        "download",
        help="download bars (yearly archives, broker candles, MOEX ISS) or --trades",
    )
    p.add_argument("tickers", nargs="+", metavar="TICKER")
    p.add_argument("--from-year", type=int, metavar="YYYY", help="first year of 1-minute bars")
    p.add_argument(
        "--trades",
        action="store_true",
        help="instead: the anonymous trades the broker still has (T-Invest: the last hour) "
        "into the tick store",
    )
    p.add_argument("--to-year", type=int, metavar="YYYY", help="last year (default: this year)")
    p.add_argument("--base-url", help=URL_HELP)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds without data per request")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_download_options(p)
    p.set_defaults(func=guard(cmd_download))

    p = sub.add_parser("update", help="fill from the last stored bar to now from the broker")
    p.add_argument("tickers", nargs="*", metavar="TICKER", help="default: every stored one")
    p.add_argument(
        "--from",
        dest="since",
        type=parse_date,
        metavar="YYYY-MM-DD",
        help="start here when nothing is stored (default: 30 days ago)",
    )
    add_update_options(p)
    p.set_defaults(func=guard(cmd_update))

    p = sub.add_parser("instruments", help="show (or --refresh) the instrument cache")
    p.add_argument("--refresh", action="store_true", help="reload the list from the broker")
    p.add_argument("--search", help="only rows whose ticker or name contains this text")
    p.set_defaults(func=guard(cmd_instruments))

    p = sub.add_parser("list", help="stored instruments: first and last bar, rows, gaps")
    p.add_argument(
        "--min-gap",
        type=int,
        default=5,
        metavar="MIN",
        help="missing minutes in the main session that count as a gap",
    )
    p.set_defaults(func=guard(cmd_list))

    p = sub.add_parser("check", help="verify the store: gaps, duplicates, invalid bars")
    p.add_argument("tickers", nargs="*", metavar="TICKER", help="default: every stored one")
    p.add_argument("--min-gap", type=int, default=5, metavar="MIN")
    p.add_argument("--show", type=int, default=5, help="gaps (or differences) shown per item")
    add_check_options(p)
    p.set_defaults(func=guard(cmd_check))

    p = sub.add_parser("export", help="write bars of one timeframe to CSV or Parquet")
    p.add_argument("ticker", metavar="TICKER")
    p.add_argument("--tf", required=True, help="1M 5M 10M 15M 1H 4H D W M")
    p.add_argument("--from", dest="since", type=parse_date, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="until", type=parse_date, metavar="YYYY-MM-DD", help="inclusive")
    p.add_argument("--output", "-o", required=True, type=Path, metavar="FILE")
    add_remote_options(p)
    p.set_defaults(func=guard(cmd_export))

    add_serve_parser(sub)


# --- commands that read the stores -------------------------------------------------------------


def cmd_instruments(args: argparse.Namespace) -> int:
    from engine.data.instruments import InstrumentCache

    cache = InstrumentCache()
    if args.refresh:
        from engine.runtime.data_broker import open_broker, with_broker

        listed = run_async(with_broker(open_broker(), lambda broker: broker.instruments()))
        count = cache.replace(listed)
        stdout_console().print(f"instrument cache refreshed: {count} instruments in {cache.path}")
    items = cache.all()
    if args.search:
        text = args.search.lower()
        items = [i for i in items if text in i.ticker.lower() or text in i.name.lower()]
    table = new_table(f"instruments ({len(items)})")
    for column in ("ticker", "class", "uid", "figi", "name", "lot", "step", "currency"):
        table.add_column(column)
    for item in items:
        table.add_row(
            item.ticker,
            item.class_code,
            item.uid,
            item.figi,
            item.name,
            str(item.lot),
            str(item.step),
            item.currency,
        )
    stdout_console().print(table)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from engine.data.inspection import summaries
    from engine.data.store import BarStore

    store = BarStore()
    items = summaries(store, args.min_gap)
    _list_ticks()
    if not items:
        stdout_console().print(
            f"the store {store.root} is empty: `avin data import` or `avin data download`"
        )
        return 0
    table = new_table("stored 1-minute bars (UTC)")
    for column in ("instrument", "first bar", "last bar", "rows", "gaps", "files", "sources"):
        table.add_column(column, justify="right" if column in ("rows", "gaps", "files") else "left")
    for item in items:
        table.add_row(
            item.code,
            minute_text(item.first),
            minute_text(item.last),
            f"{item.rows:,}",
            str(item.gaps),
            str(item.files),
            ",".join(item.sources),
        )
    stdout_console().print(table)
    return 0


def _list_ticks() -> None:
    """The tick store's instruments (recorded or downloaded trades), when there are any."""
    from engine.data.ticks import TickStore

    ticks = TickStore()
    codes = ticks.codes()
    if not codes:
        return
    table = new_table("stored trades (ticks, UTC)")
    for column in ("instrument", "first day", "last day", "days", "last trade"):
        table.add_column(column, justify="right" if column == "days" else "left")
    for code in codes:
        days = ticks.days(code)
        table.add_row(
            code, str(days[0]), str(days[-1]), str(len(days)), minute_text(ticks.last_ts(code))
        )
    stdout_console().print(table)


def cmd_check(args: argparse.Namespace) -> int:
    from engine.data.inspection import check
    from engine.data.loading import resolve_code
    from engine.data.store import BarStore

    if args.against:
        return check_against(args)
    if args.since or args.until or args.json:
        raise DataError(
            "--from, --to and --json go with --against (the integrity check reads every stored bar)",
            "For example: avin data check SBER --against moex --from 2024-03-01",
        )
    store = BarStore()
    codes = [resolve_code(t, store=store) for t in args.tickers] or store.codes()
    out = stdout_console()
    bad = 0
    for code in codes:
        if not store.has(code):
            fail("check", f"{code}: nothing is stored.")
            bad += 1
            continue
        result = check(store, code, args.min_gap)
        status = "[green]ok[/]" if result.ok else f"[red]{len(result.problems)} problems[/]"
        out.print(
            f"{code}: {result.files} files, {result.rows:,} rows, {status}, "
            f"{len(result.gaps)} session gaps of >= {args.min_gap} min"
        )
        for problem in result.problems:
            out.print(f"  [red]error[/] {problem}", highlight=False)
        for gap in result.gaps[: args.show]:
            out.print(f"  gap {gap.describe()}", highlight=False)
        if len(result.gaps) > args.show:
            out.print(f"  ... {len(result.gaps) - args.show} more gaps")
        bad += 0 if result.ok else 1
    return 1 if bad else 0


def cmd_export(args: argparse.Namespace) -> int:
    from engine.data.export import export
    from engine.model import TimeFrame

    if args.remote:
        return cmd_export_remote(args)
    if args.tls_root_cert or args.live:
        flag = "--tls-root-cert" if args.tls_root_cert else "--live"
        raise DataError(f"{flag} goes with --remote", "Add --remote HOST:PORT or drop it.")
    tf = TimeFrame.from_code(args.tf)
    rows = export(
        args.ticker, tf, args.output, begin=utc_day(args.since), end=utc_day(args.until, end=True)
    )
    stdout_console().print(f"{rows:,} {tf.code} bars written to {args.output}")
    return 0
