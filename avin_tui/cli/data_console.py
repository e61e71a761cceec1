"""What every ``avin data`` command shares: consoles, tables, dates, and failures told as one
paragraph on stderr (the token redacted), never a traceback."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from engine.data.errors import DataError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

Handler = Callable[[argparse.Namespace], int]


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024-03-01") from None


def show_help(parser: argparse.ArgumentParser) -> Handler:
    def show(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return show


def stdout_console() -> Console:
    from rich.console import Console

    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 120)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(file=sys.stderr, width=None if sys.stderr.isatty() else 120)


def redact_token(text: str) -> str:
    from engine.model.redact import redact, register_secret

    register_secret(os.environ.get("AVIN_TOKEN", "").strip())
    return redact(text)


def fail(command: str, message: str) -> None:
    print(redact_token(f"avin data {command}: {message}"), file=sys.stderr)


def guard(handler: Handler) -> Handler:
    command = handler.__name__.removeprefix("cmd_")

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except DataError as exc:
            fail(command, exc.describe())
            return 2
        except ValueError as exc:
            fail(command, f"{exc}.")
            return 2
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            fail(command, f"{exc.strerror or exc}{where}.")
            return 2
        except Exception as exc:
            text = known_failure(exc)
            if text is None:
                raise
            fail(command, text)
            return 2

    return run


def run_async(awaitable: Any) -> Any:
    import asyncio

    return asyncio.run(awaitable)


def new_table(title: str, **options: Any) -> Table:
    from rich.table import Table

    return Table(title=title, **options)


def known_failure(exc: Exception) -> str | None:
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


def utc_day(day: date | None, *, end: bool = False) -> datetime | None:
    if day is None:
        return None
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def minute_text(ts: datetime | None) -> str:
    return "-" if ts is None else f"{ts:%Y-%m-%d %H:%M}"
