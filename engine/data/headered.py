"""CSV files with a header row (Finam exports, spreadsheet dumps) in the archive's line format.

T-Invest archives have no header (``engine.data.archive``). A CSV whose first line names the
columns is recognised by those names (``open``, ``high``, ``low``, ``close``; Finam's
``<OPEN>`` style too), with ``;``, ``,`` or tab between them. The time is either one column
(``datetime``, ``timestamp``, ``begin``, or a lone ``time`` or ``date``: ISO text, with or
without a zone) or ``date`` plus ``time``. Dates: ``2024-03-01``, ``20240301``, ``01.03.2024``, ``01/03/24`` (day first); times:
``10:00:00``, ``10:00``, ``100000``. Times without a zone are exchange time (Moscow) unless told
otherwise. The instrument comes from a ``ticker`` (``<TICKER>``, ``symbol``, ``secid``) column
or from ``--ticker``.

:func:`convert` rewrites such a file into the archive's ``uid;time;open;close;high;low;volume``
lines, line for line (the header becomes an empty line), so the archive parser validates it and
its quarantine report names the original line numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo

import polars as pl

from engine.data.errors import ArchiveError

MOSCOW = ZoneInfo("Europe/Moscow")

ALIASES: dict[str, tuple[str, ...]] = {
    "ticker": ("ticker", "symbol", "secid", "instrument", "code"),
    "per": ("per", "period", "interval", "timeframe", "tf"),
    "date": ("date", "day", "tradedate"),
    "time": ("time",),
    "datetime": ("datetime", "timestamp", "ts", "begin", "date_time"),
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("close",),
    "volume": ("volume", "vol"),
}
ONE_MINUTE = frozenset({"1", "1m", "m1", "1min", "minute"})
SEPARATORS = (";", ",", "\t")

FORMATS_HELP = (
    "Accepted CSV layouts: (1) T-Invest history archives (ZIPs or their CSVs): no header, "
    "'uid;time;open;close;high;low;volume', time in UTC like 2024-03-01T07:00:00Z. "
    "(2) a header row naming the columns, separated by ';' ',' or tab, in any order: "
    "date;time;open;high;low;close;volume, or datetime;open;high;low;close;volume, or Finam's "
    "<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>. 1-minute bars only. "
    "Dates 2024-03-01, 20240301, 01.03.2024 or 01/03/24; times 10:00:00, 10:00 or 100000; times "
    "without a zone are Moscow time (--tz UTC to change). Without a ticker column give --ticker."
)


@dataclass(frozen=True, slots=True)
class Header:
    separator: str
    columns: dict[str, int]  # our name -> column index

    @property
    def has_ticker(self) -> bool:
        return "ticker" in self.columns


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z_]", "", name.strip().strip("<>\"'").lower())


def detect(data: bytes) -> Header | None:
    """The header of ``data`` when its first non-empty line names the price columns, else None."""
    first = b""
    for line in data.split(b"\n", 8)[:8]:
        if line.strip():
            first = line
            break
    text = first.decode("utf-8-sig", "replace").strip()
    if not text:
        return None
    for separator in SEPARATORS:
        names = [_normalise(n) for n in text.split(separator)]
        columns: dict[str, int] = {}
        for index, name in enumerate(names):
            for ours, aliases in ALIASES.items():
                if name in aliases and ours not in columns:
                    columns[ours] = index
        if all(k in columns for k in ("open", "high", "low", "close")):
            return Header(separator, columns)
    return None


def convert(
    name: str, data: bytes, header: Header, *, ticker: str = "", zone: tzinfo = MOSCOW
) -> bytes:
    """The lines of a headered CSV as archive lines (uid column = the ticker), line for line.

    A line whose time cannot be read keeps its text in the time field, so that the archive
    parser quarantines it with the reason. Raises ArchiveError for what spoils the whole file
    (no time column, no ticker, bars that are not 1-minute ones).
    """
    cols = header.columns
    moment = cols.get("datetime")
    if moment is None and not ("date" in cols and "time" in cols):
        moment = cols.get("time", cols.get("date"))  # one column with date and time in it
    if moment is None and not ("date" in cols and "time" in cols):
        raise ArchiveError(
            f"{name}: the header names no time columns (date and time, or datetime)",
            "Name the columns date;time or datetime (see `avin data import --help`).",
        )
    if not ticker and "ticker" not in cols:
        raise ArchiveError(
            f"{name}: no ticker column in the header",
            "Import it with --ticker TICKER, or add a <TICKER> column.",
        )
    if moment is None:
        fast = _convert_vectorised(name, data, header, ticker=ticker, zone=zone)
        if fast is not None:
            return fast
    parser = _TimeParser(zone)
    lines = data.split(b"\n")
    out: list[str] = []
    header_seen = False
    width = max(cols.values()) + 1
    get = cols.get
    for raw in lines:
        text = raw.decode("utf-8-sig", "replace").rstrip("\r")
        if not header_seen:
            if text.strip():
                header_seen = True
            out.append("")
            continue
        if not text.strip():
            out.append("")
            continue
        fields = [f.strip().strip('"') for f in text.split(header.separator)]
        if len(fields) < width:
            fields += [""] * (width - len(fields))
        per_index = get("per")
        if per_index is not None and fields[per_index].lower() not in ONE_MINUTE:
            raise ArchiveError(
                f"{name}: bars of period {fields[per_index]!r}; the store keeps 1-minute bars",
                "Export 1-minute bars (Finam: period '1 min') and import those.",
            )
        uid = ticker or fields[cols["ticker"]].upper()
        if moment is not None:
            when = parser.one(fields[moment])
        else:
            when = parser.pair(fields[cols["date"]], fields[cols["time"]])
        volume = fields[cols["volume"]] if "volume" in cols else "0"
        if volume.endswith(".0"):
            volume = volume[:-2]
        out.append(
            ";".join(
                (
                    uid,
                    when,
                    fields[cols["open"]],
                    fields[cols["close"]],
                    fields[cols["high"]],
                    fields[cols["low"]],
                    volume,
                )
            )
        )
    return "\n".join(out).encode()


# two-digit years first: polars' %Y also reads "24" (as the year 24), a tie goes to the first
DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%d.%m.%y", "%d/%m/%y", "%d.%m.%Y", "%d/%m/%Y")
TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%H%M%S", "%H%M")


def _convert_vectorised(
    name: str, data: bytes, header: Header, *, ticker: str, zone: tzinfo
) -> bytes | None:
    """:func:`convert` for the date + time layouts with polars (tens of times faster than line
    by line), or None when polars' rows do not map one to one to the file's lines (blank or
    quoted lines, a zone without a name): the caller then goes line by line."""
    zone_name = getattr(zone, "key", None)
    if not zone_name or data.startswith((b"\n", b"\r")):
        return None
    line_count = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    try:
        frame = pl.read_csv(
            data,
            has_header=False,
            separator=header.separator,
            infer_schema=False,
            truncate_ragged_lines=True,
            quote_char=None,
            encoding="utf8-lossy",
        )
    except Exception:
        return None
    if frame.height != line_count or frame.width <= max(header.columns.values()):
        return None
    names = {key: frame.columns[i] for key, i in header.columns.items()}
    body = frame.slice(1).select(  # row 0 is the header
        pl.col(column).str.strip_chars().alias(key) for key, column in names.items()
    )
    cols = {key: pl.col(key) for key in names}
    if "per" in cols:
        periods = body.get_column("per").str.to_lowercase()
        odd = periods.filter(~periods.is_in(list(ONE_MINUTE)))
        if odd.len():
            raise ArchiveError(
                f"{name}: bars of period {odd[0]!r}; the store keeps 1-minute bars",
                "Export 1-minute bars (Finam: period '1 min') and import those.",
            )
    text = cols["time"]
    short = text.str.len_bytes()
    digits = (
        pl.when(text.str.contains(r"^(\d{5}|\d{3})$"))
        .then(text.str.zfill(short + 1))
        .otherwise(text)
    )
    body = body.with_columns(digits.alias("time"))
    sample = body.head(200)
    # a file keeps one format: the one that reads most of its first lines (the rest: null)
    date_format = _best_format(sample, cols["date"], DATE_FORMATS, "date")
    time_format = _best_format(sample, cols["time"], TIME_FORMATS, "time")
    if date_format is None or time_format is None:
        return None
    utc = (
        cols["date"]
        .str.to_date(date_format, strict=False)
        .dt.combine(cols["time"].str.to_time(time_format, strict=False))
        .dt.replace_time_zone(zone_name, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    shown = pl.concat_str([cols["date"], cols["time"]], separator=" ", ignore_nulls=True)
    volume = cols["volume"].str.replace(r"\.0+$", "") if "volume" in cols else pl.lit("0")
    uid = pl.lit(ticker.upper()) if ticker else cols["ticker"].str.to_uppercase()
    out = body.select(
        uid.alias("uid"),
        utc.fill_null(shown).alias("time"),
        cols["open"],
        cols["close"],
        cols["high"],
        cols["low"],
        volume.alias("volume"),
    )
    # the header's line stays, empty (blank lines are skipped): line numbers stay the file's
    return b"\n" + out.write_csv(separator=";", include_header=False, quote_style="never").encode()


def _best_format(
    sample: pl.DataFrame, values: pl.Expr, formats: tuple[str, ...], kind: str
) -> str | None:
    counts = sample.select(
        (
            values.str.to_date(f, strict=False)
            if kind == "date"
            else values.str.to_time(f, strict=False)
        )
        .is_not_null()
        .sum()
        .alias(f)
        for f in formats
    ).row(0)
    best = max(range(len(formats)), key=lambda i: counts[i])
    return formats[best] if counts[best] else None


class _TimeParser:
    """Dates and times to UTC ISO text, cached (a file repeats each date and time many times)."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._dates: dict[str, date | None] = {}
        self._times: dict[str, time | None] = {}

    def pair(self, day_text: str, time_text: str) -> str:
        day = self._dates.get(day_text, ...)
        if day is ...:
            day = self._dates[day_text] = _parse_date(day_text)
        at = self._times.get(time_text, ...)
        if at is ...:
            at = self._times[time_text] = _parse_time(time_text)
        if day is None or at is None:
            return f"{day_text} {time_text}".strip() or ""
        return self._utc(datetime.combine(day, at))

    def one(self, text: str) -> str:
        value = text.strip().replace(" ", "T", 1)
        if value.endswith(("Z", "z")):
            value = value[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return text
        return self._utc(moment)

    def _utc(self, moment: datetime) -> str:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_date(text: str) -> date | None:
    value = text.strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%d.%m.%Y", "%d/%m/%y", "%d/%m/%Y", "%d.%m.%y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _parse_time(text: str) -> time | None:
    value = text.strip()
    if value.isdigit() and len(value) in (3, 4, 5, 6):
        value = value.zfill(6 if len(value) > 4 else 4)
    for fmt in ("%H:%M:%S", "%H:%M", "%H%M%S", "%H%M"):
        try:
            return datetime.strptime(value, fmt).time()
        except ValueError:
            continue
    return None
