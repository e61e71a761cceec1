"""Errors of the data layer: each says what is wrong and what to do about it."""

from __future__ import annotations

from polars.exceptions import PanicException

# what reading a damaged file can raise: polars' errors, and a panic of its Rust code, which
# pyo3 raises as a BaseException (an `except Exception` lets it end the process)
DAMAGED_FILE: tuple[type[BaseException], ...] = (Exception, PanicException)


class DataError(Exception):
    """A data problem the user can act on; ``hint`` says how."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.describe())

    def describe(self) -> str:
        return f"{self.message}. {self.hint}" if self.hint else self.message


class MissingDataError(DataError):
    """No stored bars for the requested instrument, timeframe and range."""


class UnknownInstrumentError(DataError):
    """An instrument code, ticker, uid or figi that the instrument cache does not know."""


class ArchiveError(DataError):
    """A file that cannot be read as a T-Invest history archive (corrupt ZIP, unreadable CSV)."""


class StoreError(DataError):
    """A stored file that is unreadable or inconsistent with what is being written."""


class DownloadError(DataError):
    """The history service failed for good (after retries) or cannot be reached."""


class TokenError(DownloadError):
    """The API token is missing or was rejected."""
