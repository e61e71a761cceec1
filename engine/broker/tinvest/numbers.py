"""Exact money and price numbers and timestamps of the T-Invest API.

``Quotation{units, nano}`` and ``MoneyValue{currency, units, nano}`` mean ``units + nano * 1e-9``;
``nano`` has the sign of the value, so values in (-1, 0) have ``units == 0`` and a negative
``nano`` (-0.01 is ``(0, -10000000)``). Everything goes through :class:`decimal.Decimal`, never a
float. Timestamps are built only from timezone-aware datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from google.protobuf.timestamp_pb2 import Timestamp

from engine.broker.tinvest.proto import investapi_pb2 as pb

NANO = 1_000_000_000
_NANO_EXP = Decimal("1e-9")
INT64_MAX = 2**63 - 1


def units_nano(value: Decimal | int | str) -> tuple[int, int]:
    """``(units, nano)`` of ``value``, rounded half-even to nine decimals; same signs."""
    with localcontext() as ctx:
        ctx.prec = 40
        number = Decimal(value)
        if not number.is_finite():  # quantize would raise a bare InvalidOperation on infinity
            raise ValueError(f"not a finite number: {value!r}")
        if abs(number) > INT64_MAX:  # (and beyond the precision quantize could give)
            raise ValueError(f"{value} does not fit a Quotation")
        exact = number.quantize(_NANO_EXP, rounding=ROUND_HALF_EVEN)
        scaled = int(exact.scaleb(9))
    sign = -1 if scaled < 0 else 1
    units, nano = divmod(abs(scaled), NANO)
    return sign * units, sign * nano


def to_decimal(units: int, nano: int) -> Decimal:
    """The exact value of ``units + nano * 1e-9`` (``nano`` carries the sign of the value)."""
    if nano == 0:
        return Decimal(units)
    if units and (units < 0) != (nano < 0):
        raise ValueError(f"units {units} and nano {nano} have different signs")
    if abs(nano) >= NANO:
        raise ValueError(f"nano {nano} is out of range")
    sign = "-" if units < 0 or nano < 0 else ""
    fraction = f"{abs(nano):09d}".rstrip("0")
    return Decimal(f"{sign}{abs(units)}.{fraction}")


def quotation(value: Decimal | int | str) -> pb.Quotation:
    units, nano = units_nano(value)
    return pb.Quotation(units=units, nano=nano)


def money(value: Decimal | int | str, currency: str = "rub") -> pb.MoneyValue:
    units, nano = units_nano(value)
    return pb.MoneyValue(currency=currency, units=units, nano=nano)


def from_quotation(q: pb.Quotation) -> Decimal:
    return to_decimal(q.units, q.nano)


def from_money(m: pb.MoneyValue) -> Decimal:
    return to_decimal(m.units, m.nano)


def timestamp(ts: datetime) -> Timestamp:
    """A protobuf Timestamp from an aware datetime; naive datetimes are refused (ambiguous)."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"timestamp {ts!r} is naive: pass a timezone-aware datetime")
    out = Timestamp()
    out.FromDatetime(ts.astimezone(UTC))
    return out


def from_timestamp(ts: Timestamp) -> datetime:
    """An aware UTC datetime (microsecond precision)."""
    return ts.ToDatetime(tzinfo=UTC)
