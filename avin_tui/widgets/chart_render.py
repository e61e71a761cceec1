"""Pure rendering of a candle chart into Textual strips (no widget, safe in a thread worker).

One column per bar, two price pixels per text row: bodies use half blocks (``▀ ▄ █``), wicks
thin box lines. ZigZag legs are rasterised on a braille canvas (2x4 dots per cell) on top, a colour
per term, the tentative (real-time) leg dimmed. The price axis is on the right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from avin_tui.widgets._zigzag import Leg
from engine.model import Bar

# braille dot bits by (x, y) inside a cell of 2x4 dots
_BRAILLE = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
_NONE, _WICK, _BODY = 0, 1, 2


PLAIN = Style()  # every segment has a style: Textual's NO_COLOR filter cannot take ``None``
MAX_DECIMALS = 6
TERM_MARKS = "12345"  # the term's digit on its pivots when colours cannot tell terms apart


@dataclass(frozen=True, slots=True)
class ChartStyles:
    bull: Style
    bear: Style
    axis: Style
    last: Style
    terms: tuple[Style, ...]  # T1..T5
    base: Style = PLAIN  # empty cells
    marks: bool = False  # monochrome: pivots marked with their term's digit


def price_decimals(prices: Sequence[float]) -> int:
    """The decimals the prices are quoted with (when the instrument's step is not known): the
    most any of them needs, so ``8646.9`` and ``300.12`` stay whole."""
    most = 0
    for p in prices:
        text = repr(float(p))
        if "e" in text or "E" in text:
            return MAX_DECIMALS
        _, _, frac = text.partition(".")
        frac = frac.rstrip("0")
        most = max(most, len(frac))
    return min(most, MAX_DECIMALS)


def quoted_decimals(prices: Sequence[float]) -> int:
    """Decimals to show prices of an instrument whose step is not known: what they need, and at
    least two below 10,000 (kopecks), where a whole-rouble step is unlikely."""
    floor = 2 if prices and max(abs(p) for p in prices) < 10_000 else 0
    return max(floor, price_decimals(prices))


def price_format(lo: float, hi: float, decimals: int | None = None) -> str:
    """Prices in full: with the instrument's decimals when known, else at least two (four under
    one rouble); never rounded to fewer decimals than the instrument quotes."""
    if decimals is not None:
        return f"{{:.{max(0, min(MAX_DECIMALS, decimals))}f}}"
    return "{:.4f}" if max(abs(hi), abs(lo)) < 1 else "{:.2f}"


def blank(width: int, height: int, message: str = "", style: Style | None = None) -> list[Strip]:
    style = style or PLAIN
    lines = [Strip.blank(width, style) for _ in range(height)]
    if message and height > 0 and width > 0:
        text = message[:width].center(width)
        lines[height // 2] = Strip([Segment(text, style)], width)
    return lines


def render_chart(
    bars: Sequence[Bar],
    width: int,
    height: int,
    styles: ChartStyles,
    legs: Sequence[Leg] = (),
    decimals: int | None = None,
) -> list[Strip]:
    """``height`` strips of ``width`` cells: the newest bars that fit, right-aligned.

    ``decimals``: the instrument's price precision (from its step); None derives it from the
    bars' own prices."""
    if width <= 0 or height <= 0:
        return []
    if not bars:
        return blank(width, height, "no bars", styles.axis)
    lo_all = min(b.low for b in bars[-width:])
    hi_all = max(b.high for b in bars[-width:])
    if decimals is None:
        decimals = quoted_decimals([b.close for b in bars[-width:]])
    fmt = price_format(lo_all, hi_all, decimals)
    axis_w = max(len(fmt.format(lo_all)), len(fmt.format(hi_all))) + 1
    plot_w = width - axis_w
    if plot_w < 4 or height < 2:
        return blank(width, height, "too small", styles.axis)

    visible = bars[-plot_w:]
    first = len(bars) - len(visible)  # index in ``bars`` of the first visible bar
    x0 = plot_w - len(visible)  # its column
    lo = min(b.low for b in visible)
    hi = max(b.high for b in visible)
    if hi <= lo:
        hi, lo = hi + 0.5, lo - 0.5
    span = hi - lo
    ph = 2 * height

    def ypix(p: float) -> int:
        return min(ph - 1, max(0, round((hi - p) / span * (ph - 1))))

    glyph = [[" "] * plot_w for _ in range(height)]
    style: list[list[Style]] = [[styles.base] * plot_w for _ in range(height)]
    body_color: list[list[Style | None]] = [[None] * plot_w for _ in range(height)]

    for n, bar in enumerate(visible):
        col = x0 + n
        st = styles.bull if bar.close >= bar.open else styles.bear
        yh, yl = ypix(bar.high), ypix(bar.low)
        yb1, yb2 = ypix(max(bar.open, bar.close)), ypix(min(bar.open, bar.close))
        for row in range(yh // 2, yl // 2 + 1):
            pix = []
            for y in (2 * row, 2 * row + 1):
                if yb1 <= y <= yb2:
                    pix.append(_BODY)
                elif yh <= y <= yl:
                    pix.append(_WICK)
                else:
                    pix.append(_NONE)
            top, bottom = pix
            if top == _BODY and bottom == _BODY:
                ch = "█"
            elif top == _BODY:
                ch = "▀"
            elif bottom == _BODY:
                ch = "▄"
            elif top == _WICK and bottom == _WICK:
                ch = "│"
            elif top == _WICK:
                ch = "╵"
            elif bottom == _WICK:
                ch = "╷"
            else:
                continue
            glyph[row][col] = ch
            style[row][col] = st
            if _BODY in pix:
                body_color[row][col] = st

    if legs:
        _overlay(legs, first, x0, plot_w, height, hi, span, styles, glyph, style, body_color)

    # the price axis: a label every third row and the last close highlighted
    last_row = ypix(visible[-1].close) // 2
    labels: dict[int, tuple[str, Style]] = {}
    for row in range(0, height, 3):
        if abs(row - last_row) >= 2:
            p = hi - (2 * row + 0.5) / (ph - 1) * span
            labels[row] = (fmt.format(p), styles.axis)
    labels[last_row] = (fmt.format(visible[-1].close), styles.last)

    strips: list[Strip] = []
    for row in range(height):
        segments: list[Segment] = []
        run_text = ""
        run_style: Style = styles.base
        for col in range(plot_w):
            cell_style = style[row][col]
            if cell_style is not run_style and run_text:
                segments.append(Segment(run_text, run_style))
                run_text = ""
            run_style = cell_style
            run_text += glyph[row][col]
        if run_text:
            segments.append(Segment(run_text, run_style))
        label = labels.get(row)
        if label is None:
            segments.append(Segment(" " * axis_w, styles.base))
        else:
            text, label_style = label
            segments.append(Segment(" ", styles.base))
            segments.append(Segment(text.rjust(axis_w - 1)[: axis_w - 1], label_style))
        strips.append(Strip(segments, width))
    return strips


def _overlay(
    legs: Sequence[Leg],
    first: int,
    x0: int,
    plot_w: int,
    height: int,
    hi: float,
    span: float,
    styles: ChartStyles,
    glyph: list[list[str]],
    style: list[list[Style]],
    body_color: list[list[Style | None]],
) -> None:
    dw, dh = 2 * plot_w, 4 * height
    # per cell: [bits, term, dim]
    cells: dict[tuple[int, int], list[int]] = {}

    def dot_x(index: int) -> int:
        return 2 * (x0 + index - first)

    def dot_y(p: float) -> int:
        return round((hi - p) / span * (dh - 1))

    for leg in sorted(legs, key=lambda g: g.term):
        xa, xb = dot_x(leg.i1), dot_x(leg.i2)
        if max(xa, xb) < 0:
            continue
        ya, yb = dot_y(leg.p1), dot_y(leg.p2)
        for x, y in _line(xa, ya, xb, yb):
            if 0 <= x < dw and 0 <= y < dh:
                key = (y // 4, x // 2)
                cell = cells.get(key)
                bit = _BRAILLE[x % 2][y % 4]
                if cell is None:
                    cells[key] = [bit, leg.term, int(leg.tentative)]
                    continue
                cell[0] |= bit
                if leg.term > cell[1]:
                    cell[1], cell[2] = leg.term, int(leg.tentative)
                elif leg.term == cell[1] and not leg.tentative:
                    cell[2] = 0
    for (row, col), (bits, term, dim) in cells.items():
        st = styles.terms[min(term, len(styles.terms)) - 1]
        if dim:
            st = st + Style(dim=True)
        under = body_color[row][col]
        if under is not None and under.color is not None:
            st = st + Style(bgcolor=under.color)
        glyph[row][col] = chr(0x2800 + bits)
        style[row][col] = st
    if styles.marks:  # without colour a term is told by the digit on its pivots
        for leg in sorted(legs, key=lambda g: g.term):
            for index, p, confirmed in (
                (leg.i1, leg.p1, True),
                (leg.i2, leg.p2, not leg.tentative),
            ):
                x, y = dot_x(index), dot_y(p)
                if confirmed and 0 <= x < dw and 0 <= y < dh:
                    glyph[y // 4][x // 2] = TERM_MARKS[min(leg.term, 5) - 1]
                    style[y // 4][x // 2] = styles.terms[min(leg.term, len(styles.terms)) - 1]


def _line(x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
    """Bresenham's line between two dots, both ends included."""
    points = []
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx = 1 if x0 < x1 else -1
    sy = 1 if y0 < y1 else -1
    err = dx + dy
    while True:
        points.append((x0, y0))
        if x0 == x1 and y0 == y1:
            return points
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x0 += sx
        if e2 <= dx:
            err += dx
            y0 += sy
