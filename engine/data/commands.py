"""``avin data ...``: the command line of the market-data layer.

Subcommands: import, download, update, instruments, list, check, export. Each returns an exit
code: 0 success, 1 partial failure (some files or years failed, problems found), 2 bad input or
a failure that stopped the command. Errors are one paragraph on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.data.errors import DataError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

Handler = Callable[[argparse.Namespace], int]
SHOW_BAD_LINES = 10


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "data",
        help="market data: import, download, update, inspect and export bars",
        description="Market data: 1-minute bars in a Parquet store, every timeframe derived.",
    )
    parser.set_defaults(func=_help(parser))
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
    p.set_defaults(func=_guard(cmd_import))

    p = sub.add_parser(
        "download",
        help="download yearly history archives and import them (--trades: the last hour's tape)",
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
    p.add_argument(
        "--base-url", help="history service URL (default: $AVIN_HISTORY_URL or T-Invest)"
    )
    p.add_argument("--timeout", type=float, default=60.0, help="seconds without data per request")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_guard(cmd_download))

    p = sub.add_parser("update", help="fill from the last stored bar to now from the broker")
    p.add_argument("tickers", nargs="*", metavar="TICKER", help="default: every stored one")
    p.add_argument(
        "--from",
        dest="since",
        type=_date,
        metavar="YYYY-MM-DD",
        help="start here when nothing is stored (default: 30 days ago)",
    )
    p.set_defaults(func=_guard(cmd_update))

    p = sub.add_parser("instruments", help="show (or --refresh) the instrument cache")
    p.add_argument("--refresh", action="store_true", help="reload the list from the broker")
    p.add_argument("--search", help="only rows whose ticker or name contains this text")
    p.set_defaults(func=_guard(cmd_instruments))

    p = sub.add_parser("list", help="stored instruments: first and last bar, rows, gaps")
    p.add_argument(
        "--min-gap",
        type=int,
        default=5,
        metavar="MIN",
        help="missing minutes in the main session that count as a gap",
    )
    p.set_defaults(func=_guard(cmd_list))

    p = sub.add_parser("check", help="verify the store: gaps, duplicates, invalid bars")
    p.add_argument("tickers", nargs="*", metavar="TICKER", help="default: every stored one")
    p.add_argument("--min-gap", type=int, default=5, metavar="MIN")
    p.add_argument("--show", type=int, default=5, help="gaps to show per instrument")
    p.set_defaults(func=_guard(cmd_check))

    p = sub.add_parser("export", help="write bars of one timeframe to CSV or Parquet")
    p.add_argument("ticker", metavar="TICKER")
    p.add_argument("--tf", required=True, help="1M 5M 10M 15M 1H 4H D W M")
    p.add_argument("--from", dest="since", type=_date, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="until", type=_date, metavar="YYYY-MM-DD", help="inclusive")
    p.add_argument("--output", "-o", required=True, type=Path, metavar="FILE")
    p.set_defaults(func=_guard(cmd_export))


# --- plumbing -----------------------------------------------------------------------------------


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024-03-01") from None


def _help(parser: argparse.ArgumentParser) -> Handler:
    def show(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return show


def _out() -> Console:
    from rich.console import Console

    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 120)


def _err() -> Console:
    from rich.console import Console

    return Console(file=sys.stderr, width=None if sys.stderr.isatty() else 120)


def _redact(text: str) -> str:
    from engine.runtime.redact import redact, register_secret

    register_secret(os.environ.get("AVIN_TOKEN", "").strip())
    return redact(text)


def _fail(command: str, message: str) -> None:
    print(_redact(f"avin data {command}: {message}"), file=sys.stderr)


def _guard(handler: Handler) -> Handler:
    command = handler.__name__.removeprefix("cmd_")

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except DataError as exc:
            _fail(command, exc.describe())
            return 2
        except ValueError as exc:
            _fail(command, f"{exc}.")
            return 2
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            _fail(command, f"{exc.strerror or exc}{where}.")
            return 2
        except Exception as exc:
            text = _known_failure(exc)
            if text is None:
                raise
            _fail(command, text)
            return 2

    return run


def _run_async(awaitable: Any) -> Any:
    import asyncio

    return asyncio.run(awaitable)


def _table(title: str, **options: Any) -> Table:
    from rich.table import Table

    return Table(title=title, **options)


def _known_failure(exc: Exception) -> str | None:
    """A message for broker and polars failures (anything else is a bug: let it show)."""
    from engine.broker.base import BrokerError

    if isinstance(exc, BrokerError):
        return f"the broker failed: {exc.describe()}"
    import polars as pl

    if isinstance(exc, pl.exceptions.PolarsError):
        return (
            f"cannot process the data ({exc.__class__.__name__}: {exc}). Run `avin data check` "
            "to find a damaged file"
        )
    return None


def _utc(day: date | None, *, end: bool = False) -> datetime | None:
    if day is None:
        return None
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def _when(ts: datetime | None) -> str:
    return "-" if ts is None else f"{ts:%Y-%m-%d %H:%M}"


# --- commands -----------------------------------------------------------------------------------


def cmd_import(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from engine.data.importer import import_paths

    try:
        zone = ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"--tz {args.tz!r} is not a time zone (e.g. Europe/Moscow, UTC)") from None
    report = import_paths(args.paths, ticker=args.ticker, zone=zone)
    out = _out()
    table = _table("imported", show_lines=False)
    for column in ("instrument", "valid rows"):
        table.add_column(column, justify="right" if column != "instrument" else "left")
    for code, rows in sorted(report.instruments.items()):
        table.add_row(code, f"{rows:,}")
    if report.instruments:
        out.print(table)
    out.print(
        f"{report.files} file{'' if report.files == 1 else 's'}, {report.rows:,} valid rows, "
        f"{report.added:,} new and {report.replaced:,} changed rows stored"
    )
    _show_bad_lines(report.bad, report.quarantine)
    for error in report.errors:  # the message may name the file already
        _fail("import", f"{error.file}: {error.message.removeprefix(f'{error.file}: ')}")
    if report.rows == 0:
        _fail("import", _nothing_imported(report))
        return 1
    return 1 if report.errors else 0


def _nothing_imported(report: Any) -> str:
    """Why a run stored no row, and what to do."""
    if report.files == 0 and not report.errors:
        return "nothing imported: no .zip or .csv file found"
    if report.bad:
        reasons: dict[str, int] = {}
        for line in report.bad:
            reasons[line.reason] = reasons.get(line.reason, 0) + 1
        top, count = max(reasons.items(), key=lambda item: item[1])
        return (
            f"nothing imported: all {len(report.bad):,} lines were invalid (mostly: {top}, "
            f"{count:,} lines). See the formats in `avin data import --help`"
        )
    if report.errors:
        return "nothing imported (see the errors above)"
    return "nothing imported: the files hold no bars"


def _show_bad_lines(bad: list[Any], quarantine: Path | None) -> None:
    if not bad:
        return
    err = _err()
    err.print(
        f"[yellow]{len(bad)} invalid lines were not stored; quarantine report: {quarantine}[/]"
    )
    for line in bad[:SHOW_BAD_LINES]:
        err.print(f"  {line.file}:{line.line}: {line.reason}", markup=False, highlight=False)
    if len(bad) > SHOW_BAD_LINES:
        err.print(f"  ... and {len(bad) - SHOW_BAD_LINES} more in the report")


def cmd_download(args: argparse.Namespace) -> int:
    from engine.data.download import download
    from engine.data.history_client import HistoryClient, configured_token

    if args.trades:
        if args.from_year is not None or args.to_year is not None:
            raise DataError(
                "--trades fetches the last hour's tape; it takes no --from-year / --to-year",
                "Run the two separately: `avin data download SBER --trades`, "
                "`avin data download SBER --from-year 2023`",
            )
        return _download_trades(args.tickers)
    if args.from_year is None:
        raise DataError(
            "`avin data download` needs --from-year YYYY (or --trades for the last hour's tape)",
            "For example: avin data download SBER --from-year 2023",
        )
    this_year = datetime.now(UTC).year
    if not 1990 <= args.from_year <= this_year:
        raise DataError(
            f"--from-year {args.from_year} is out of range",
            f"Give a year between 1990 and {this_year}",
        )
    client = HistoryClient(configured_token(), base_url=args.base_url, timeout=args.timeout)
    console = None if args.no_progress else _err()
    report = download(
        args.tickers,
        args.from_year,
        to_year=args.to_year,
        client=client,
        console=console,
        resolve=_resolver(args.tickers, client.base_url),
    )
    table = _table("download")
    for column in ("instrument", "year", "status", "rows", "note"):
        table.add_column(column)
    for item in report.years:
        table.add_row(
            item.code, str(item.year), item.status, f"{item.rows:,}", _redact(item.message)
        )
    _out().print(table)
    if report.imported is not None:
        _show_bad_lines(report.imported.bad, report.imported.quarantine)
    for message in report.errors:
        _fail("download", message)
    for item in report.years:
        if item.status == "failed":
            _fail("download", f"{item.code} {item.year}: {item.message}")
    return 0 if report.ok else 1


def _download_trades(tickers: list[str]) -> int:
    from engine.data.brokers import open_broker, with_broker
    from engine.data.trades_download import download_trades

    results = _run_async(
        with_broker(open_broker(), lambda broker: download_trades(tickers, broker))
    )
    table = _table("download --trades")
    for column in ("instrument", "from", "to", "trades", "new rows", "note"):
        table.add_column(column)
    for item in results:
        table.add_row(
            item.code,
            _when(item.begin),
            _when(item.end),
            f"{item.trades:,}",
            f"{item.added:,}",
            _redact(item.error),
        )
    _out().print(table)
    failed = [item for item in results if item.error]
    for item in failed:
        _fail("download", f"{item.code}: {item.error}")
    return 1 if failed else 0


def _resolver(tickers: list[str], base_url: str) -> Callable[[str], Any]:
    """Ticker -> Instrument: through the broker when one is configured, else the cache."""
    from engine.data.brokers import SimHistory, open_broker, with_broker
    from engine.data.errors import UnknownInstrumentError
    from engine.data.history_client import DEFAULT_BASE_URL
    from engine.data.instruments import InstrumentCache

    cache = InstrumentCache()
    found: dict[str, Any] = {}
    try:
        broker = open_broker()
    except DataError:
        broker = None  # no broker for this mode yet: the cache alone
    if broker is not None and not isinstance(broker, SimHistory):

        async def look_up(session: Any) -> None:
            for ticker in tickers:
                try:
                    found[ticker] = await session.find_instrument(ticker)
                except Exception:  # unknown to the broker: the cache may still know it
                    continue

        _run_async(with_broker(broker, look_up))

    def resolve(query: str) -> Any:
        instrument = found.get(query) or cache.find(query)
        if instrument.uid.startswith("sim-") and base_url == DEFAULT_BASE_URL:
            raise UnknownInstrumentError(
                f"{query}: the instrument cache holds the simulated {instrument.code} "
                f"({instrument.uid}), which has no history archives",
                "Configure a T-Invest token and run `avin data instruments --refresh`, or import "
                "archives you already have with `avin data import --ticker TICKER`",
            )
        return instrument

    return resolve


def cmd_update(args: argparse.Namespace) -> int:
    from engine.data.brokers import open_broker, with_broker
    from engine.data.update import update_async

    since = _utc(args.since)
    results = _run_async(
        with_broker(
            open_broker(), lambda broker: update_async(args.tickers, broker=broker, since=since)
        )
    )
    if not results:
        raise DataError(
            "nothing to update: the store is empty",
            "Name instruments (`avin data update SBER`) or import history first",
        )
    table = _table("update")
    for column in ("instrument", "from", "to", "requests", "new rows", "note"):
        table.add_column(column)
    for item in results:
        note = _redact(item.error) or (
            f"{item.invalid} invalid bars skipped" if item.invalid else ""
        )
        table.add_row(
            item.code,
            _when(item.begin),
            _when(item.end),
            str(item.requests),
            f"{item.added:,}",
            note,
        )
    _out().print(table)
    failed = [item for item in results if item.error]
    for item in failed:
        _fail("update", f"{item.code}: {item.error}")
    return 1 if failed else 0


def cmd_instruments(args: argparse.Namespace) -> int:
    from engine.data.instruments import InstrumentCache

    cache = InstrumentCache()
    if args.refresh:
        from engine.data.brokers import open_broker, with_broker

        listed = _run_async(with_broker(open_broker(), lambda broker: broker.instruments()))
        count = cache.replace(listed)
        _out().print(f"instrument cache refreshed: {count} instruments in {cache.path}")
    items = cache.all()
    if args.search:
        text = args.search.lower()
        items = [i for i in items if text in i.ticker.lower() or text in i.name.lower()]
    table = _table(f"instruments ({len(items)})")
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
    _out().print(table)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from engine.data.inspection import summaries
    from engine.data.store import BarStore

    store = BarStore()
    items = summaries(store, args.min_gap)
    _list_ticks()
    if not items:
        _out().print(f"the store {store.root} is empty: `avin data import` or `avin data download`")
        return 0
    table = _table("stored 1-minute bars (UTC)")
    for column in ("instrument", "first bar", "last bar", "rows", "gaps", "files", "sources"):
        table.add_column(column, justify="right" if column in ("rows", "gaps", "files") else "left")
    for item in items:
        table.add_row(
            item.code,
            _when(item.first),
            _when(item.last),
            f"{item.rows:,}",
            str(item.gaps),
            str(item.files),
            ",".join(item.sources),
        )
    _out().print(table)
    return 0


def _list_ticks() -> None:
    """The tick store's instruments (recorded or downloaded trades), when there are any."""
    from engine.data.ticks import TickStore

    ticks = TickStore()
    codes = ticks.codes()
    if not codes:
        return
    table = _table("stored trades (ticks, UTC)")
    for column in ("instrument", "first day", "last day", "days", "last trade"):
        table.add_column(column, justify="right" if column == "days" else "left")
    for code in codes:
        days = ticks.days(code)
        table.add_row(code, str(days[0]), str(days[-1]), str(len(days)), _when(ticks.last_ts(code)))
    _out().print(table)


def cmd_check(args: argparse.Namespace) -> int:
    from engine.data.inspection import check
    from engine.data.loading import resolve_code
    from engine.data.store import BarStore

    store = BarStore()
    codes = [resolve_code(t, store=store) for t in args.tickers] or store.codes()
    out = _out()
    bad = 0
    for code in codes:
        if not store.has(code):
            _fail("check", f"{code}: nothing is stored.")
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

    tf = TimeFrame.from_code(args.tf)
    rows = export(
        args.ticker, tf, args.output, begin=_utc(args.since), end=_utc(args.until, end=True)
    )
    _out().print(f"{rows:,} {tf.code} bars written to {args.output}")
    return 0
