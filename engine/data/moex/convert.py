"""ISS tables into the store's schemas, and the security's facts.

The facts that bite (docs/data.md, "MOEX ISS"):

- ISS times (``begin``, ``TRADETIME``, ``TRADEDATE``) are Moscow local time without a zone; they
  are read in the ``Europe/Moscow`` zone (UTC+3 since 2014, +4 or DST before) and stored as UTC.
  Day, week and month candles are stored at midnight UTC of their first day (the store's frame
  start for D, W and M), not at 21:00 UTC of the day before.
- ``volume`` is in shares; the store keeps lots: ``volume / LOTSIZE`` rounded half up to a whole
  lot. A volume that is not a whole number of lots (the lot size changed since, ISS gives only
  today's) is counted in :attr:`Converted.remainders`, so the report can say so.
- A minute without trades has no candle: nothing is filled in.
- Rows that are not valid bars (a missing or non-positive price, ``high`` below ``open`` or
  ``close``, ``low`` above them, a negative volume, a minute candle not on a minute) are not stored
  and counted in :attr:`Converted.invalid`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl

from engine.data.errors import UnknownInstrumentError
from engine.data.moex.client import IssError, Table
from engine.data.schema import BAR_SCHEMA, empty_bars
from engine.data.ticks import TICK_SCHEMA, empty_ticks
from engine.model import Instrument, TimeFrame

MOSCOW = "Europe/Moscow"
INTERVALS: dict[TimeFrame, int] = {
    TimeFrame.M1: 1,
    TimeFrame.M10: 10,
    TimeFrame.H1: 60,
    TimeFrame.D: 24,
    TimeFrame.W: 7,
    TimeFrame.MONTH: 31,
}
"""ISS candle ``interval`` of each timeframe ISS serves (5M, 15M and 4H it does not)."""

CANDLE_COLUMNS = ("open", "close", "high", "low", "volume", "begin")
_CALENDAR = (TimeFrame.D, TimeFrame.W, TimeFrame.MONTH)
_ISS_TIME = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True, slots=True)
class Security:
    """A share on one board as ISS describes it."""

    secid: str
    board: str
    lot: int
    step: Decimal
    decimals: int
    isin: str
    name: str
    currency: str

    def instrument(self, uid: str = "", figi: str = "") -> Instrument:
        currency = "rub" if self.currency.upper() in ("SUR", "RUB", "") else self.currency.lower()
        return Instrument(
            "MOEX", "SHARE", self.secid, uid, figi, self.board, self.lot, self.step, currency,
            self.name,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Converted:
    """Rows in a store schema, and what the conversion noticed."""

    frame: pl.DataFrame
    served: int  # rows ISS sent
    invalid: int = 0  # rows not stored (not valid bars or trades)
    remainders: int = 0  # volumes that were not a whole number of lots


def interval(timeframe: TimeFrame) -> int:
    try:
        return INTERVALS[timeframe]
    except KeyError:
        served = " ".join(tf.code for tf in INTERVALS)
        raise ValueError(
            f"ISS has no {timeframe.code} candles: use one of {served} (the store derives the "
            "others from 1M)"
        ) from None


def security(table: Table, secid: str, board: str) -> Security:
    """The ``securities`` table of ``/boards/{board}/securities/{secid}.json``."""
    rows = [row for row in table.dicts() if str(row.get("SECID", "")).upper() == secid.upper()]
    if not rows:
        raise UnknownInstrumentError(
            f"ISS knows no share {secid!r} on the board {board}",
            "Check the ticker and the board (--board; shares trade on TQBR)",
        )
    row = rows[0]
    try:
        lot = int(row["LOTSIZE"])
        decimals = int(row.get("DECIMALS") or 0)
        step = Decimal(str(row["MINSTEP"]))
        if decimals >= 0:
            step = step.quantize(Decimal(1).scaleb(-decimals))
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise IssError(
            f"ISS describes {secid} on {board} without a usable lot size or price step ({exc})",
            "Run the command again later; if it persists the service changed its format",
        ) from None
    if lot < 1 or step <= 0:
        raise IssError(
            f"ISS gives {secid} on {board} a lot size of {lot} and a price step of {step}",
            "This share cannot be traded on that board now; check the board (--board)",
        )
    return Security(
        secid=str(row["SECID"]).upper(),
        board=str(row.get("BOARDID") or board).upper(),
        lot=lot,
        step=step,
        decimals=decimals,
        isin=str(row.get("ISIN") or ""),
        name=str(row.get("SECNAME") or row.get("SHORTNAME") or ""),
        currency=str(row.get("CURRENCYID") or "SUR"),
    )


def candles(table: Table, timeframe: TimeFrame, lot: int) -> Converted:
    """ISS candles as store bars (UTC frame starts, volumes in lots), sorted, unique."""
    missing = [name for name in CANDLE_COLUMNS if name not in table.columns]
    if missing:
        raise IssError(
            f"ISS candles without the columns {', '.join(missing)}",
            "Check the ISS URL (--base-url); if it is right the service changed its format",
        )
    if not table.rows:
        return Converted(empty_bars(), 0)
    index = [table.columns.index(name) for name in CANDLE_COLUMNS]
    columns = list(zip(*([row[i] for i in index] for row in table.rows), strict=True))
    frame = pl.DataFrame(
        [
            *(
                pl.Series(name, values, dtype=pl.Float64, strict=False)
                for name, values in zip(CANDLE_COLUMNS[:5], columns[:5], strict=True)
            ),
            pl.Series("begin", [_text(v) for v in columns[5]], dtype=pl.String),
        ]
    )
    served = frame.height
    frame = frame.with_columns(_start(timeframe).alias("ts"))
    lots = (pl.col("volume") / lot + 0.5).floor()
    valid = (
        pl.all_horizontal(pl.col(c).is_not_null() for c in ("ts", "open", "high", "low", "close"))
        & pl.col("volume").is_not_null()
        & pl.all_horizontal(pl.col(c) > 0 for c in ("open", "high", "low", "close"))
        & (pl.col("high") >= pl.max_horizontal("open", "close"))
        & (pl.col("low") <= pl.min_horizontal("open", "close"))
        & (pl.col("volume") >= 0)
    )
    if timeframe is TimeFrame.M1:
        valid = valid & (pl.col("ts").dt.second() == 0)
    checked = frame.with_columns(valid.fill_null(False).alias("_ok"))
    good = checked.filter(pl.col("_ok"))
    remainders = good.filter((pl.col("volume") % lot) != 0).height
    bars = (
        good.with_columns(lots.cast(pl.Int64).alias("volume"))
        .select(pl.col(name).cast(dtype) for name, dtype in BAR_SCHEMA.items())
        .unique(subset="ts", keep="last", maintain_order=True)
        .sort("ts")
    )
    return Converted(bars, served, served - good.height, remainders)


def trades(table: Table, lot: int, day: date | None = None) -> Converted:
    """ISS trades as tick rows (UTC times, lots, aggressor side), in trade-number order.

    The date of a trade is ``TRADEDATE`` when ISS sends it, else the date of ``SYSTIME``, else
    ``day``. ``QUANTITY`` is read as shares unless ``VALUE`` says it is lots (``VALUE`` =
    ``PRICE`` x shares): then it is stored as it is.
    """
    needed = ("TRADETIME", "PRICE", "QUANTITY")
    missing = [name for name in needed if name not in table.columns]
    if missing:
        raise IssError(
            f"ISS trades without the columns {', '.join(missing)}",
            "Check the ISS URL (--base-url); if it is right the service changed its format",
        )
    if not table.rows:
        return Converted(empty_ticks(), 0)
    rows = table.dicts()
    if "TRADENO" in table.columns:
        rows.sort(key=lambda row: _int_or(row.get("TRADENO"), 0))
    in_lots = _quantity_in_lots(rows, lot)
    ts_text: list[str | None] = []
    prices: list[float | None] = []
    shares: list[float | None] = []
    sides: list[int] = []
    for row in rows:
        when = _trade_day(row, day)
        clock = _text(row.get("TRADETIME"))
        ts_text.append(f"{when} {clock}" if when and clock else None)
        prices.append(_float_or_none(row.get("PRICE")))
        quantity = _float_or_none(row.get("QUANTITY"))
        shares.append(None if quantity is None else quantity * (lot if in_lots else 1))
        side = str(row.get("BUYSELL") or "").upper()
        sides.append(1 if side == "B" else 2 if side == "S" else 0)
    frame = pl.DataFrame(
        {"text": ts_text, "price": prices, "shares": shares, "side": sides},
        schema={"text": pl.String, "price": pl.Float64, "shares": pl.Float64, "side": pl.Int8},
    ).with_columns(
        pl.col("text")
        .str.strptime(pl.Datetime("ns"), _ISS_TIME, strict=False)
        .dt.replace_time_zone(MOSCOW, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .alias("ts")
    )
    valid = (
        pl.col("ts").is_not_null()
        & (pl.col("price") > 0)
        & (pl.col("shares") > 0)
        & pl.col("price").is_not_null()
    ).fill_null(False)
    good = frame.filter(valid)
    remainders = good.filter((pl.col("shares") % lot) != 0).height
    ticks = good.select(
        "ts",
        "price",
        (pl.col("shares") / lot + 0.5).floor().cast(pl.Int64).alias("lots"),
        "side",
    ).select(pl.col(name).cast(dtype) for name, dtype in TICK_SCHEMA.items())
    return Converted(ticks, len(rows), len(rows) - good.height, remainders)


def _start(timeframe: TimeFrame) -> pl.Expr:
    """The UTC frame start of an ISS ``begin`` (Moscow local time)."""
    text = pl.col("begin")
    if timeframe in _CALENDAR:  # the store's D/W/M frames start at midnight UTC of the day
        return (
            text.str.slice(0, 10)
            .str.strptime(pl.Date, "%Y-%m-%d", strict=False)
            .cast(pl.Datetime("ns"))
            .dt.replace_time_zone("UTC")
        )
    return (
        text.str.strptime(pl.Datetime("ns"), _ISS_TIME, strict=False)
        .dt.replace_time_zone(MOSCOW, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )


def _float_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _int_or(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _trade_day(row: dict[str, Any], day: date | None) -> str | None:
    text = _text(row.get("TRADEDATE"))
    if text:
        return text[:10]
    systime = _text(row.get("SYSTIME"))
    if systime:
        return systime[:10]
    return day.isoformat() if day is not None else None


def _quantity_in_lots(rows: list[dict[str, Any]], lot: int) -> bool:
    """True when ``VALUE`` = ``PRICE`` x ``QUANTITY`` x lot (quantity in lots), judged on the
    first row that has all three; shares otherwise."""
    if lot == 1:
        return False
    for row in rows:
        price = _float_or_none(row.get("PRICE"))
        quantity = _float_or_none(row.get("QUANTITY"))
        value = _float_or_none(row.get("VALUE"))
        if price and quantity and value:
            as_lots = abs(value - price * quantity * lot)
            as_shares = abs(value - price * quantity)
            return as_lots < as_shares
    return False
