"""The market's time as the engine last saw it: it only moves forward."""

from __future__ import annotations

from datetime import datetime


class MarketTime:
    """The newest market timestamp seen (a bar, a price, a fill, the broker's clock), or None.

    Components read it through ``now`` (or by calling the object); a late or skewed timestamp
    never moves it back."""

    __slots__ = ("now",)

    def __init__(self) -> None:
        self.now: datetime | None = None

    def __call__(self) -> datetime | None:
        return self.now

    def advance(self, ts: datetime) -> None:
        if self.now is None or ts > self.now:
            self.now = ts
