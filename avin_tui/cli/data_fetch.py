"""``avin data import``, ``download`` and ``update``: bars (and trades) into the stores."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from avin_tui.cli.data_console import (
    fail,
    minute_text,
    new_table,
    redact_token,
    run_async,
    stderr_console,
    stdout_console,
    utc_day,
)
from avin_tui.cli.data_sources import download_from_source, update_from_moex
from engine.data.errors import DataError

SHOW_BAD_LINES = 10


def cmd_import(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from engine.data.importer import import_paths

    try:
        zone = ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"--tz {args.tz!r} is not a time zone (e.g. Europe/Moscow, UTC)") from None
    report = import_paths(args.paths, ticker=args.ticker, zone=zone)
    out = stdout_console()
    table = new_table("imported", show_lines=False)
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
        fail("import", f"{error.file}: {error.message.removeprefix(f'{error.file}: ')}")
    if report.rows == 0:
        fail("import", _nothing_imported(report))
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
    err = stderr_console()
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

    if args.source != "tinvest-archive" and not (args.source == "tinvest" and args.trades):
        return download_from_source(args)
    if args.tf.upper() != "1M":
        raise DataError(
            f"the history archives hold 1-minute bars only, not --tf {args.tf}",
            "Use --source moex for the exchange's 10M..M bars (every timeframe is derived from 1M)",
        )
    if args.since is not None and args.from_year is None and not args.trades:
        args.from_year = args.since.year  # the archives come by the year
        args.to_year = args.to_year or (args.until.year if args.until else None)
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
    console = None if args.no_progress else stderr_console()
    report = download(
        args.tickers,
        args.from_year,
        to_year=args.to_year,
        client=client,
        console=console,
        resolve=_resolver(args.tickers, client.base_url),
    )
    table = new_table("download")
    for column in ("instrument", "year", "status", "rows", "note"):
        table.add_column(column)
    for item in report.years:
        table.add_row(
            item.code, str(item.year), item.status, f"{item.rows:,}", redact_token(item.message)
        )
    stdout_console().print(table)
    if report.imported is not None:
        _show_bad_lines(report.imported.bad, report.imported.quarantine)
    for message in report.errors:
        fail("download", message)
    for item in report.years:
        if item.status == "failed":
            fail("download", f"{item.code} {item.year}: {item.message}")
    return 0 if report.ok else 1


def _download_trades(tickers: list[str]) -> int:
    from engine.data.trades_download import download_trades
    from engine.runtime.data_broker import open_broker, with_broker

    results = run_async(with_broker(open_broker(), lambda broker: download_trades(tickers, broker)))
    table = new_table("download --trades")
    for column in ("instrument", "from", "to", "trades", "new rows", "note"):
        table.add_column(column)
    for item in results:
        table.add_row(
            item.code,
            minute_text(item.begin),
            minute_text(item.end),
            f"{item.trades:,}",
            f"{item.added:,}",
            redact_token(item.error),
        )
    stdout_console().print(table)
    failed = [item for item in results if item.error]
    for item in failed:
        fail("download", f"{item.code}: {item.error}")
    return 1 if failed else 0


def _resolver(tickers: list[str], base_url: str) -> Callable[[str], Any]:
    """Ticker -> Instrument: through the broker when one is configured, else the cache."""
    from engine.data.errors import UnknownInstrumentError
    from engine.data.history_client import DEFAULT_BASE_URL
    from engine.data.instruments import InstrumentCache
    from engine.runtime.data_broker import SimHistory, open_broker, with_broker

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

        run_async(with_broker(broker, look_up))

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
    from engine.data.update import update_async
    from engine.runtime.data_broker import open_broker, with_broker

    if args.source == "moex":
        return update_from_moex(args)
    since = utc_day(args.since)
    results = run_async(
        with_broker(
            open_broker(), lambda broker: update_async(args.tickers, broker=broker, since=since)
        )
    )
    if not results:
        raise DataError(
            "nothing to update: the store is empty",
            "Name instruments (`avin data update SBER`) or import history first",
        )
    table = new_table("update")
    for column in ("instrument", "from", "to", "requests", "new rows", "note"):
        table.add_column(column)
    for item in results:
        note = redact_token(item.error) or (
            f"{item.invalid} invalid bars skipped" if item.invalid else ""
        )
        table.add_row(
            item.code,
            minute_text(item.begin),
            minute_text(item.end),
            str(item.requests),
            f"{item.added:,}",
            note,
        )
    stdout_console().print(table)
    failed = [item for item in results if item.error]
    for item in failed:
        fail("update", f"{item.code}: {item.error}")
    return 1 if failed else 0
