"""argparse subcommands ``avin zigzag`` and ``avin scan`` (hooked into the CLI by the lead).

``zigzag`` writes one CSV row per pivot: ``ts, term, kind, price, confirmed_ts, confirmed`` with
timestamps in ISO 8601 UTC; ``confirmed_ts`` is empty for the real-time candidate. In threshold
mode ``term`` is 0.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.model.timeframe import TimeFrame

if TYPE_CHECKING:
    import polars as pl

ISO = "%Y-%m-%dT%H:%M:%SZ"


def register(subparsers: Any) -> None:
    """Add the ``zigzag`` and ``scan`` subcommands to an argparse subparsers object."""
    z = subparsers.add_parser("zigzag", help="ZigZag pivots of a bar series to CSV")
    src = z.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--input", type=Path, help="CSV or Parquet: ts, open, high, low, close, volume"
    )
    src.add_argument("--ticker", help="instrument code, e.g. MOEX_SHARE_SBER (needs --tf)")
    z.add_argument("--tf", help="timeframe code for --ticker (1M 5M 10M 15M 1H 4H D W M)")
    z.add_argument("--from", dest="begin", type=parse_time, help="first bar time (UTC)")
    z.add_argument("--to", dest="end", type=parse_time, help="end time, exclusive (UTC)")
    z.add_argument("--mode", choices=("terms", "threshold"), default="terms")
    z.add_argument("--terms", type=int, default=5, help="number of terms (1..5)")
    z.add_argument("--threshold", type=float, default=0.01, help="relative (0.01 = 1%%)")
    z.add_argument("--threshold-mode", choices=("relative", "absolute", "atr"), default="relative")
    z.add_argument("--source", choices=("close", "hl"), default="close")
    z.add_argument("--output", type=Path, required=True, help="CSV file to write")
    z.set_defaults(func=cmd_zigzag)

    s = subparsers.add_parser("scan", help="replay history and list where a filter holds")
    s.add_argument("filter", help="e.g. '1H.T1.trend == bull and 1H.T1.abs_p.cdf in [0.7, 0.9]'")
    s.add_argument("--tickers", nargs="*", default=[], help="instrument codes")
    s.add_argument("--input", type=Path, help="1-minute bars (CSV/Parquet) instead of --tickers")
    s.add_argument("--tf", default="", help="comma-separated timeframes to evaluate on")
    s.add_argument("--from", dest="begin", type=parse_time, help="scan start (UTC)")
    s.add_argument("--to", dest="end", type=parse_time, help="scan end (UTC)")
    s.add_argument("--history-days", type=int, default=365, help="warm-up before --from")
    s.add_argument(
        "--stats", choices=("history", "all"), default="history", help="data for CDF/size"
    )
    s.add_argument("--cache-dir", type=Path, help="trend statistics cache folder")
    s.add_argument("--output", type=Path, help="write the hits to .csv or .parquet")
    s.set_defaults(func=cmd_scan)


def parse_time(text: str) -> datetime:
    """ISO date or datetime; naive values are UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date/time: {text!r}") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_bars(path: Path) -> pl.DataFrame:
    import polars as pl

    from engine.analysis.bars import normalize_bars

    """Bars from CSV or Parquet, ts parsed as UTC."""
    if path.suffix.lower() in (".parquet", ".pq"):
        frame = pl.read_parquet(path)
    else:
        frame = pl.read_csv(path, try_parse_dates=True)
    missing = {"ts", "open", "high", "low", "close", "volume"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {', '.join(sorted(missing))}")
    if frame.schema["ts"] == pl.String:
        frame = frame.with_columns(pl.col("ts").str.to_datetime(time_zone="UTC"))
    return normalize_bars(frame)


def _clip(frame: pl.DataFrame, begin: datetime | None, end: datetime | None) -> pl.DataFrame:
    import polars as pl

    if begin is not None:
        frame = frame.filter(pl.col("ts") >= begin)
    if end is not None:
        frame = frame.filter(pl.col("ts") < end)
    return frame


def _load_ticker(ticker: str, tf: TimeFrame, begin: Any, end: Any) -> pl.DataFrame:
    from engine.analysis.bars import normalize_bars
    from engine.data import load_bars  # type: ignore[attr-defined,unused-ignore]  # lazy

    begin = begin if begin is not None else datetime(2000, 1, 1, tzinfo=UTC)
    end = end if end is not None else datetime.now(UTC) + timedelta(days=1)
    try:
        bars = load_bars(ticker, tf, begin, end)
    except (OSError, ValueError, KeyError, LookupError) as exc:
        raise ValueError(f"{ticker} {tf.code}: {exc}") from exc
    except Exception as exc:  # the data layer's own errors (e.g. missing data)
        raise ValueError(f"{ticker} {tf.code}: {type(exc).__name__}: {exc}") from exc
    return normalize_bars(bars)


def cmd_zigzag(args: argparse.Namespace) -> int:
    import polars as pl

    from engine.analysis.threshold import zigzag_threshold
    from engine.analysis.zigzag import zigzag_terms

    try:
        if args.input is not None:
            bars = _clip(read_bars(args.input), args.begin, args.end)
        else:
            if not args.tf:
                print("avin zigzag: --ticker needs --tf", file=sys.stderr)
                return 2
            bars = _load_ticker(args.ticker, TimeFrame.from_code(args.tf), args.begin, args.end)
        if args.mode == "terms":
            pivots = zigzag_terms(bars, args.terms)
        else:
            pivots = zigzag_threshold(bars, args.threshold, args.threshold_mode, args.source)
    except (OSError, ValueError, ImportError) as exc:
        print(f"avin zigzag: {exc}", file=sys.stderr)
        return 1
    out = pivots.select(
        pl.col("ts").dt.strftime(ISO),
        pl.col("term").cast(pl.Int64),
        pl.col("kind"),
        pl.col("price"),
        pl.col("confirmed_ts").dt.strftime(ISO),
        pl.col("confirmed"),
    ).sort("ts", "term")
    out.write_csv(args.output)
    print(f"{out.height} pivots -> {args.output}")
    return 0


def cmd_scan(args: argparse.Namespace) -> int:
    import polars as pl

    from engine.analysis.scanner import scan

    try:
        tfs = [TimeFrame.from_code(c) for c in args.tf.split(",") if c.strip()]
        sources: list[tuple[str, pl.DataFrame]] = []
        if args.input is not None:
            sources.append((args.input.stem, read_bars(args.input)))
        for ticker in args.tickers:
            start = args.begin - timedelta(days=args.history_days) if args.begin else None
            sources.append((ticker.upper(), _load_ticker(ticker, TimeFrame.M1, start, args.end)))
        if not sources:
            print("avin scan: give --tickers or --input", file=sys.stderr)
            return 2
        frames = []
        for name, bars in sources:
            hits = scan(
                bars,
                args.filter,
                tfs or None,
                args.begin,
                args.end,
                stats_from=args.stats,
                instrument=name,
                cache_dir=args.cache_dir,
            )
            frames.append(hits.select(pl.lit(name).alias("ticker"), pl.all()))
        result = pl.concat(frames)
    except (OSError, ValueError, ImportError) as exc:
        print(f"avin scan: {exc}", file=sys.stderr)
        return 1
    if args.output is not None:
        if args.output.suffix.lower() == ".parquet":
            result.write_parquet(args.output)
        else:
            result.with_columns(
                pl.col("ts").dt.strftime(ISO), pl.col("bar_ts").dt.strftime(ISO)
            ).write_csv(args.output)
    _print_hits(result)
    return 0


def _print_hits(result: pl.DataFrame) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result.height} hits")
    for name in result.columns:
        table.add_column(name)
    for row in result.iter_rows():
        table.add_row(*(_fmt(v) for v in row))
    Console().print(table)


def _fmt(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)
