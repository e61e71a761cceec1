"""A price bar (candle). Prices are floats here (analysis data); money at the edges is Decimal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.model.copying import by_fields


@dataclass(frozen=True, slots=True)
class Bar:
    ts: datetime  # start of the frame, aware UTC
    open: float
    high: float
    low: float
    close: float
    volume: int  # lots

    def __init__(
        self, ts: datetime, open: float, high: float, low: float, close: float, volume: int
    ) -> None:
        # What the generated frozen __init__ does, through the slots directly: twice as fast,
        # and bars are made by the million (charts, aggregation, backtests).
        _SET_TS(self, ts)
        _SET_OPEN(self, open)
        _SET_HIGH(self, high)
        _SET_LOW(self, low)
        _SET_CLOSE(self, close)
        _SET_VOLUME(self, volume)

    def __reduce__(self) -> tuple[Any, ...]:
        return by_fields(self)  # copy and pickle through __init__ (engine/model/copying.py)

    @property
    def is_bull(self) -> bool:
        return self.open < self.close

    @property
    def is_bear(self) -> bool:
        return self.open > self.close

    def merge(self, later: Bar, ts: datetime | None = None) -> Bar:
        """This bar extended by a later bar of the same frame (open kept, volume summed)."""
        return Bar(
            ts=self.ts if ts is None else ts,
            open=self.open,
            high=max(self.high, later.high),
            low=min(self.low, later.low),
            close=later.close,
            volume=self.volume + later.volume,
        )

    def validate(self) -> str | None:
        """The reason this bar is invalid, or None."""
        if not (self.high >= max(self.open, self.close)):
            return f"high {self.high} is below open/close"
        if not (self.low <= min(self.open, self.close)):
            return f"low {self.low} is above open/close"
        if self.volume < 0:
            return f"negative volume {self.volume}"
        return None


_SET_TS, _SET_OPEN, _SET_HIGH, _SET_LOW, _SET_CLOSE, _SET_VOLUME = (
    vars(Bar)[name].__set__ for name in ("ts", "open", "high", "low", "close", "volume")
)
