"""Value types of the analysis package: pivot kinds, pivots, trends and incremental events.

Timestamps are whatever the bars carried (``datetime`` aware UTC for ``engine.model.Bar`` and for
pivots built from polars frames). Bar indexes count closed bars from 0 in the series the ZigZag saw.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple, Protocol


class Kind(StrEnum):
    """Kind of an extremum: a swing high (``max``) or a swing low (``min``)."""

    MAX = "max"
    MIN = "min"

    @property
    def sign(self) -> int:
        return 1 if self is Kind.MAX else -1

    @staticmethod
    def from_sign(sign: int) -> Kind:
        return Kind.MAX if sign > 0 else Kind.MIN


class TrendKind(StrEnum):
    BULL = "bull"
    BEAR = "bear"


class Pivot(NamedTuple):
    """One extremum. ``term`` is 1..5 for the hierarchical ZigZag and 0 for the threshold one.

    ``confirmed_index``/``confirmed_ts`` name the closed bar whose arrival made the pivot known as
    confirmed (for T(n+1): the bar that confirmed the confirming T(n) point). They are ``None`` for
    the real-time candidate (``confirmed`` False).
    """

    term: int
    index: int  # type: ignore[assignment]  # the bar index (shadows tuple.index)
    ts: Any
    kind: Kind
    price: float
    confirmed: bool
    confirmed_index: int | None
    confirmed_ts: Any


class Trend(NamedTuple):
    """The leg between two consecutive pivots of one term.

    ``n`` is 0 for the real-time trend (last confirmed pivot -> candidate), 1 for the newest
    confirmed trend, and so on back in time.
    """

    term: int
    n: int
    kind: TrendKind
    begin: Pivot
    end: Pivot
    abs_p: float
    len: int
    speed_p: float
    vol: float


class PivotConfirmed(NamedTuple):
    """Incremental event: ``pivot`` became confirmed by the closed bar at ``confirmed_ts``."""

    pivot: Pivot
    confirmed_ts: Any


class CandidateMoved(NamedTuple):
    """Incremental event: the real-time candidate of ``term`` is now ``pivot``."""

    term: int
    pivot: Pivot


Event = PivotConfirmed | CandidateMoved


class BarLike(Protocol):
    """Anything with the attributes of ``engine.model.Bar``."""

    @property
    def ts(self) -> datetime: ...
    @property
    def open(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...
    @property
    def volume(self) -> int: ...


def trend_kind(begin_price: float, end_price: float, end_kind: Kind) -> TrendKind:
    """Bull if the leg ends higher, bear if lower; a flat leg takes the kind of its end pivot."""
    if end_price > begin_price:
        return TrendKind.BULL
    if end_price < begin_price:
        return TrendKind.BEAR
    return TrendKind.BULL if end_kind is Kind.MAX else TrendKind.BEAR
