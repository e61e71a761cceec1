"""The chart rasteriser (pure) and the ZigZag legs it draws."""

from __future__ import annotations

from dataclasses import replace

from rich.style import Style

from avin_tui.widgets._zigzag import Leg, zigzag_legs
from avin_tui.widgets.chart_render import (
    ChartStyles,
    price_decimals,
    quoted_decimals,
    render_chart,
)

from .conftest import make_bars

STYLES = ChartStyles(
    bull=Style(color="green"),
    bear=Style(color="red"),
    axis=Style(dim=True),
    last=Style(reverse=True),
    terms=tuple(Style(color=c) for c in ("blue", "yellow", "magenta", "cyan", "white")),
)


def is_braille(ch: str) -> bool:
    return 0x2800 < ord(ch) <= 0x28FF


def test_strips_fill_the_area_exactly() -> None:
    bars = make_bars(300)
    for width, height in [(30, 10), (80, 24), (150, 40)]:
        strips = render_chart(bars, width, height, STYLES)
        assert len(strips) == height
        assert all(s.cell_length == width for s in strips)


def test_candles_use_half_blocks_and_the_axis_shows_the_last_close() -> None:
    bars = make_bars(100)
    strips = render_chart(bars, 60, 20, STYLES)
    text = "".join(s.text for s in strips)
    assert any(ch in text for ch in "█▀▄")
    assert any(ch in text for ch in "│╵╷")
    assert f"{bars[-1].close:.2f}" in text or f"{bars[-1].close:.1f}" in text
    # the newest bar is drawn in the last plot column: some row has a candle glyph there
    axis_w = 1 + max(len(f"{b.high:.2f}") for b in bars)
    column = 60 - axis_w - 1
    assert any(s.text[column] != " " for s in strips)


def test_a_rising_bar_is_above_a_falling_one() -> None:
    bars = make_bars(2)
    low, high = bars[0], bars[0]
    high = high.__class__(low.ts, 200.0, 201.0, 199.0, 200.5, 1)
    low = low.__class__(low.ts, 100.0, 101.0, 99.0, 99.5, 1)
    strips = render_chart([low, high], 20, 10, STYLES)
    cells = [(i, j) for i, s in enumerate(strips) for j, ch in enumerate(s.text) if ch in "█▀▄│╵╷"]
    columns = sorted({j for _i, j in cells})
    assert len(columns) == 2 and columns[1] == columns[0] + 1  # adjacent, right-aligned
    first_col = [i for i, j in cells if j == columns[0]]
    second_col = [i for i, j in cells if j == columns[1]]
    assert max(second_col) < min(first_col)  # higher prices are nearer the top


def test_zigzag_legs_are_drawn_in_braille_with_tentative_dimmed() -> None:
    bars = make_bars(200)
    legs = zigzag_legs(bars, [1, 2])
    assert legs and {leg.term for leg in legs} == {1, 2}
    assert sum(1 for leg in legs if leg.tentative) <= 2
    strips = render_chart(bars, 80, 20, STYLES, legs)
    cells = [(seg.text, seg.style) for s in strips for seg in s if seg.text.strip()]
    braille = [(t, st) for t, st in cells if any(is_braille(ch) for ch in t)]
    assert braille
    colors = {st.color.name for _t, st in braille if st is not None and st.color is not None}
    assert {"blue", "yellow"} <= colors


def test_only_a_tentative_leg_is_dim() -> None:
    bars = make_bars(50)
    leg = Leg(3, 10, bars[10].high, 49, bars[49].low, True)
    strips = render_chart(bars, 60, 12, STYLES, [leg])
    styles = [seg.style for s in strips for seg in s if any(is_braille(c) for c in seg.text)]
    assert styles and all(st is not None and st.dim for st in styles)


def test_degenerate_inputs_do_not_raise() -> None:
    assert render_chart([], 10, 3, STYLES)[1].text.strip() == "no bars"
    assert render_chart(make_bars(5), 3, 2, STYLES)  # too small: a message, not an error
    flat = [b.__class__(b.ts, 1.0, 1.0, 1.0, 1.0, 0) for b in make_bars(10)]
    assert len(render_chart(flat, 40, 8, STYLES)) == 8
    assert render_chart(make_bars(10), 0, 0, STYLES) == []
    # a leg that starts before the visible bars is clipped, not wrapped around
    bars = make_bars(400)
    strips = render_chart(
        bars, 50, 10, STYLES, [Leg(1, 0, bars[0].low, 399, bars[399].high, False)]
    )
    assert len(strips) == 10


def test_price_labels_keep_the_instruments_precision() -> None:
    # LKOH around 8,600 with a 0.5 step: the old axis cut these to "8647" / "8646.9"
    bars = [b.__class__(b.ts, 8646.5, 8650.0, 8640.0, 8646.5, 1) for b in make_bars(30)]
    text = "".join(s.text for s in render_chart(bars, 60, 12, STYLES, decimals=1))
    assert "8646.5" in text  # the last close, whole
    assert all(len(tok.split(".")[1]) == 1 for tok in text.split() if tok[:1].isdigit())
    # no step known: the decimals the prices are quoted with (here three), never fewer
    bars = [b.__class__(b.ts, 12.345, 12.5, 12.1, 12.345, 1) for b in make_bars(30)]
    text = "".join(s.text for s in render_chart(bars, 60, 12, STYLES))
    assert "12.345" in text
    assert price_decimals([8565.0, 8646.9, 300.12]) == 2
    assert quoted_decimals([8565.0]) == 2 and quoted_decimals([12345.0]) == 0


def test_without_colour_pivots_carry_their_terms_digit() -> None:
    bars = make_bars(200)
    legs = zigzag_legs(bars, [1, 2])
    plain = render_chart(bars, 80, 20, STYLES, legs)
    marked = render_chart(bars, 80, 20, replace(STYLES, marks=True), legs)
    plot = "".join(s.text[:60] for s in marked)
    assert "1" in plot and "2" in plot
    assert not {"1", "2"} & set("".join(s.text[:60] for s in plain))
    # every segment has a style: Textual's monochrome filter cannot take None
    assert all(seg.style is not None for s in marked + plain for seg in s)
