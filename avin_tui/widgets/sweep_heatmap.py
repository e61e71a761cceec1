"""A sweep's metric over two of its parameters as a heatmap of coloured cells with the values, or
over one parameter as a bar per value.

Parameters other than the two shown are fixed at the best row's values (the best by the metric
shown: highest, or lowest for ``max_drawdown``); the title says which values those are. The colour
follows the value: the highest value is the strongest (brightest) colour of a viridis-like scale,
whatever the metric's direction, so a drawdown map shows the deepest drawdown brightest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from rich.color import Color
from rich.style import Style
from rich.text import Text

LOWER_IS_BETTER = frozenset({"max_drawdown"})
# dark violet -> blue -> teal -> green -> yellow: the luminance rises along the scale
_SCALE = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
CELL_WIDTH = 9
BEST = Style(bold=True, underline=True)  # the best value, visible without colour too


def heat_colour(t: float) -> Color:
    """The scale's colour at ``t`` in [0, 1] (0 the weakest, 1 the strongest)."""
    t = min(1.0, max(0.0, t)) * (len(_SCALE) - 1)
    i = min(int(t), len(_SCALE) - 2)
    f = t - i
    a, b = _SCALE[i], _SCALE[i + 1]
    r, g, bl = (round(a[k] + (b[k] - a[k]) * f) for k in range(3))
    return Color.from_rgb(r, g, bl)


def luminance(colour: Color) -> float:
    r, g, b = colour.get_truecolor()
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def short(value: Any) -> str:
    """A number in at most eight characters (12.35, -1234, 45.6k, -1.2M); text as it is."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    v = float(value)
    a = abs(v)
    if isinstance(value, int) and a < 100_000:
        return str(value)
    if a < 100:
        return f"{v:.2f}"
    if a < 10_000:
        return f"{v:.0f}"
    if a < 10_000_000:
        return f"{v / 1e3:.1f}k"
    return f"{v / 1e6:.1f}M"


def best_row(frame: pl.DataFrame, metric: str) -> dict[str, Any]:
    """The row with the best ``metric`` (nulls never win; the first row when all are null)."""
    valued = frame.filter(pl.col(metric).is_not_null())
    if valued.height == 0:
        return frame.row(0, named=True)
    ranked = valued.sort(metric, descending=metric not in LOWER_IS_BETTER, maintain_order=True)
    return ranked.row(0, named=True)


@dataclass(frozen=True, slots=True)
class Heat:
    """One metric over the values of ``x`` (columns) and ``y`` (rows; None: a single parameter)."""

    metric: str
    x: str
    y: str | None
    xs: list[Any]
    ys: list[Any]
    cells: dict[tuple[Any, Any], float | None]
    fixed: dict[str, Any]

    def values(self) -> list[float]:
        return [v for v in self.cells.values() if v is not None]

    def best(self) -> float | None:
        """The best value shown (the highest, or the lowest for ``max_drawdown``)."""
        values = self.values()
        if not values:
            return None
        return min(values) if self.metric in LOWER_IS_BETTER else max(values)

    def shade(self, value: float | None) -> float | None:
        """Where ``value`` sits between the lowest (0) and the highest (1) shown."""
        if value is None:
            return None
        values = self.values()
        lo, hi = min(values), max(values)
        return 1.0 if hi == lo else (value - lo) / (hi - lo)


def heat(frame: pl.DataFrame, params: Sequence[str], x: str, y: str | None, metric: str) -> Heat:
    """``metric`` over ``x`` and ``y`` in grid order, the other parameters at the best row's."""
    best = best_row(frame, metric)
    fixed = {p: best[p] for p in params if p not in (x, y)}
    sub = frame
    for name, value in fixed.items():
        sub = sub.filter(pl.col(name) == value)
    xs = frame[x].unique(maintain_order=True).to_list()
    ys = frame[y].unique(maintain_order=True).to_list() if y else [None]
    cells: dict[tuple[Any, Any], float | None] = {}
    for row in sub.iter_rows(named=True):
        value = row[metric]
        cells[(row[x], row[y] if y else None)] = None if value is None else float(value)
    return Heat(metric, x, y, xs, ys, cells, fixed)


def _title(h: Heat) -> Text:
    better = "lower" if h.metric in LOWER_IS_BETTER else "higher"
    return Text.assemble(
        (h.metric, "bold"), f": {better} is better; brighter = higher; ", ("best", BEST)
    )


def _cell_style(t: float | None) -> Style:
    if t is None:
        return Style(dim=True)
    bg = heat_colour(t)
    fg = Color.from_rgb(0, 0, 0) if luminance(bg) > 110 else Color.from_rgb(255, 255, 255)
    return Style(color=fg, bgcolor=bg)


def render_heatmap(h: Heat, no_wrap: bool = False) -> Text:
    """Rows are ``y`` values, columns ``x`` values; each cell its value on its colour."""
    assert h.y is not None
    label_w = max(len(h.y) + 2, *(len(short(v)) for v in h.ys)) + 1
    out = _title(h)
    out.append("\n" + " " * label_w + f"{h.x} \u2192", "bold")
    out.append("\n" + f"{h.y} \u2193".ljust(label_w), "bold")
    for xv in h.xs:
        out.append(short(xv).rjust(CELL_WIDTH - 1) + " ", "bold")
    best = h.best()
    for yv in h.ys:
        out.append("\n" + short(yv).rjust(label_w), "bold")
        for xv in h.xs:
            value = h.cells.get((xv, yv))
            style = _cell_style(h.shade(value))
            if value is not None and value == best:
                style += BEST
            out.append(short(value).rjust(CELL_WIDTH - 1) + " ", style)
    out.append("\n")
    out.append(_legend(h))
    out.no_wrap = no_wrap
    return out


def render_bars(h: Heat, width: int) -> Text:
    """One bar per value of ``x``: longer and brighter for a higher metric."""
    label_w = max(len(h.x), *(len(short(v)) for v in h.xs)) + 1
    value_w = max((len(short(v)) for v in h.cells.values()), default=1) + 1
    bar_w = max(4, width - label_w - value_w - 2)
    out = _title(h)
    best = h.best()
    out.append("\n" + h.x.rjust(label_w), "bold")
    for xv in h.xs:
        value = h.cells.get((xv, None))
        t = h.shade(value)
        out.append("\n" + short(xv).rjust(label_w) + " ", "bold")
        length = 0 if t is None else max(1, round(t * bar_w))
        style = Style(dim=True) if t is None else Style(color=heat_colour(t))
        out.append("\u2588" * length, style)
        out.append(" " * (bar_w - length))
        out.append(short(value).rjust(value_w), BEST if value is not None and value == best else "")
    out.append("\n")
    out.append(_legend(h))
    return out


def _legend(h: Heat) -> Text:
    """The scale from the lowest value shown to the highest, and the parameters held fixed."""
    values = h.values()
    if not values:
        return Text("no values", style="dim")
    legend = Text(f"{short(min(values))} ")
    for i in range(8):
        legend.append("\u2588", Style(color=heat_colour(i / 7)))
    legend.append(f" {short(max(values))}")
    if h.fixed:
        legend.append("  at the best row's ")
        legend.append("  ".join(f"{k}={short(v)}" for k, v in h.fixed.items()), "bold")
    return legend
