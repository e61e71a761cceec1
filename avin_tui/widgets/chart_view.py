"""Which bars the chart shows: scrolled back from the live edge and zoomed out by merging bars.

``offset`` is how many of the newest bars are scrolled off to the right (0 follows the live edge);
``per_column`` how many bars one column merges (1 = every bar its own candle). ZigZag legs are
computed over the whole history first and then mapped, so scrolling never changes a pivot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from avin_tui.widgets._zigzag import Leg
from engine.model import Bar

ZOOM_LEVELS = (1, 2, 4, 8)


@dataclass(frozen=True, slots=True)
class ChartView:
    offset: int = 0
    per_column: int = 1

    def scrolled(self, bars: int, available: int) -> ChartView:
        """Scrolled by ``bars`` (positive: back in time), kept inside the history."""
        limit = max(0, available - 2 * self.per_column)
        return ChartView(min(limit, max(0, self.offset + bars)), self.per_column)

    def zoomed(self, step: int) -> ChartView:
        """One zoom level out (step > 0: more bars per column) or in (step < 0)."""
        i = ZOOM_LEVELS.index(self.per_column) + step
        return ChartView(self.offset, ZOOM_LEVELS[min(len(ZOOM_LEVELS) - 1, max(0, i))])

    def needed(self, columns: int) -> int:
        """Bars to fetch so that ``columns`` columns can be filled."""
        return self.offset + columns * self.per_column

    def label(self) -> str:
        parts = []
        if self.per_column > 1:
            parts.append(f"x{self.per_column}")
        if self.offset:
            parts.append(f"◀{self.offset}")
        return " ".join(parts)

    def apply(self, bars: Sequence[Bar], legs: Sequence[Leg]) -> tuple[list[Bar], list[Leg]]:
        """The bars and legs to draw: cut at the offset, then merged ``per_column`` at a time."""
        end = max(1, len(bars) - self.offset) if bars else 0
        shown = list(bars[:end])
        kept = [leg for leg in legs if leg.i2 < end]
        k = self.per_column
        if k == 1 or not shown:
            return shown, kept
        head = len(shown) % k  # groups are aligned to the newest bar; the oldest may be short

        def group(i: int) -> int:
            return 0 if i < head else (i - head) // k + (1 if head else 0)

        merged: list[Bar] = []
        for i, bar in enumerate(shown):
            if merged and group(i) == len(merged) - 1:
                merged[-1] = merged[-1].merge(bar)
            else:
                merged.append(bar)
        mapped = [
            leg._replace(i1=group(leg.i1), i2=group(leg.i2))
            for leg in kept
            if group(leg.i1) != group(leg.i2)
        ]
        return merged, mapped
