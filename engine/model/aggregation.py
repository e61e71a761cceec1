"""Live aggregation of a bar stream into a timeframe (the rules of domain.md).

For each incoming bar (usually 1-minute, possibly a provisional update of the in-progress minute):
- the same timestamp as the last input replaces that input's contribution;
- a bar inside the current frame is merged (open kept, high max, low min, close new, volume summed);
- a bar of a later frame closes the current bar and starts a new one;
- older bars are ignored.
Timestamps are frame starts. The batch derivation in ``engine.data`` must agree with this bar by bar.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.model.bar import Bar
from engine.model.timeframe import TimeFrame


@dataclass(slots=True)
class AggregationResult:
    closed: Bar | None  # the bar that this input completed, if any
    current: Bar | None  # the in-progress bar after this input
    accepted: bool  # False when the input was older than the current frame and was ignored


class BarAggregator:
    """Builds ``timeframe`` bars from finer bars, one input at a time."""

    __slots__ = ("_base", "_current", "_last_input", "timeframe")

    def __init__(self, timeframe: TimeFrame) -> None:
        self.timeframe = timeframe
        self._base: Bar | None = None  # the frame's bar before the last input
        self._last_input: Bar | None = None
        self._current: Bar | None = None

    @property
    def current(self) -> Bar | None:
        return self._current

    def update(self, bar: Bar) -> AggregationResult:
        start = self.timeframe.floor(bar.ts)
        current = self._current
        last = self._last_input
        if current is None or start > current.ts:
            self._base = None
            self._last_input = bar
            self._current = Bar(start, bar.open, bar.high, bar.low, bar.close, bar.volume)
            return AggregationResult(current, self._current, True)
        if start < current.ts or (last is not None and bar.ts < last.ts):
            return AggregationResult(None, current, False)
        # the same timestamp as the last input replaces that input's contribution
        base = self._base if last is not None and bar.ts == last.ts else current
        self._base = base
        self._last_input = bar
        if base is None:
            self._current = Bar(start, bar.open, bar.high, bar.low, bar.close, bar.volume)
        else:
            self._current = base.merge(bar)
        return AggregationResult(None, self._current, True)

    def flush(self) -> Bar | None:
        """Close and return the in-progress bar (end of a replay)."""
        bar, self._current, self._base, self._last_input = self._current, None, None, None
        return bar
