"""The depth view of the chart pane: the order book and the tape of its instrument (key ``t``).

:class:`DepthView` is what the chart pane shows instead of candles while it is on. It reads the
engine's newest order book (``engine.order_book``) and tape (``engine.tape``) on the pane's poll
and draws them as text lines:

- wide (60 columns or more): the book on the left (asks above, best ask lowest; then bids, best
  bid highest; price and lots, with a bar proportional to the lots), the tape on the right
  (Moscow time, ``B``/``S`` for the aggressor, price, lots; newest on top);
- narrow: the book on top, the tape below.

Its state is one small JSON-able dict (:meth:`get_state` / :meth:`restore_state`): whether it is
on and the book depth asked for. Without a broker that streams books (a source with no
``order_book``), it says so instead of drawing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from avin_tui.widgets._format import msk, price
from engine.model import BOOK_DEPTHS, MarketTrade, OrderBook, Side

DEFAULT_DEPTH = 10
WIDE = 60  # columns from which the book and the tape stand side by side
PLAIN = Style()


@dataclass(frozen=True, slots=True)
class DepthStyles:
    bid: Style = PLAIN
    ask: Style = PLAIN
    muted: Style = PLAIN


class DepthView:
    """The on/off state, the data read last and the lines drawn from it."""

    def __init__(self) -> None:
        self.enabled = False
        self.depth = DEFAULT_DEPTH
        self.book: OrderBook | None = None
        self.trades: list[MarketTrade] = []
        self.message = ""
        self.fetch_error: str | None = None
        self._key: tuple[Any, ...] | None = None

    # --- state (the workspace keeps it) ------------------------------------------------------

    def get_state(self) -> dict[str, Any]:
        return {"mode": "depth" if self.enabled else "chart", "depth": self.depth}

    def restore_state(self, state: Any) -> None:
        """Apply a saved state; anything malformed leaves the defaults."""
        if not isinstance(state, dict):
            return
        self.enabled = state.get("mode") == "depth"
        depth = state.get("depth")
        self.depth = depth if isinstance(depth, int) and depth in BOOK_DEPTHS else DEFAULT_DEPTH

    # --- data ----------------------------------------------------------------------------------

    def fetch(self, source: Any, instrument: str | None, rows: int) -> bool:
        """Read the book and the tape; True when what shows changed."""
        book: OrderBook | None = None
        trades: list[MarketTrade] = []
        message = ""
        error = None
        get_book = getattr(source, "order_book", None)
        get_tape = getattr(source, "tape", None)
        if instrument is None:
            message = "no instrument"
        elif not callable(get_book) or not callable(get_tape):
            message = "this market gives no order book"
        else:
            try:
                book = get_book(instrument)
                trades = list(get_tape(instrument, max(rows, 1)))
            except Exception as exc:  # the depth view must never take the app down
                error = f"{type(exc).__name__}: {exc}"
            if book is None and not trades and error is None:
                message = "waiting for the order book"
        key = (instrument, _book_key(book), tuple(trades), message, error)
        changed = key != self._key
        self._key = key
        self.book, self.trades, self.message, self.fetch_error = book, trades, message, error
        return changed

    def title(self, ticker: str) -> str:
        return f"[u]C[/u]hart {ticker} depth {self.depth} (t: candles)"

    def subtitle(self) -> str:
        book = self.book
        if book is None or book.best_bid is None or book.best_ask is None:
            return self.fetch_error or self.message
        text = f"{msk(book.ts)} bid {price(book.best_bid)} ask {price(book.best_ask)}"
        return text if book.consistent else text + " (incomplete)"

    # --- drawing -------------------------------------------------------------------------------

    def render(self, width: int, height: int, styles: DepthStyles) -> list[Strip]:
        if width <= 0 or height <= 0:
            return []
        notice = self.fetch_error or self.message
        if notice and self.book is None and not self.trades:
            lines = [Strip.blank(width, PLAIN) for _ in range(height)]
            lines[height // 2] = Strip([Segment(notice[:width].center(width), styles.muted)], width)
            return lines
        if width >= WIDE:
            left = width * 11 // 20
            book = _book_lines(self.book, left - 1, height, styles)
            tape = _tape_lines(self.trades, width - left, height, styles)
            return [
                Strip([*b, Segment("│", styles.muted), *t], width)
                for b, t in zip(book, tape, strict=True)
            ]
        book_rows = max(1, (height * 3) // 5)
        book = _book_lines(self.book, width, book_rows, styles)
        tape = _tape_lines(self.trades, width, height - book_rows, styles)
        return [Strip(line, width) for line in [*book, *tape]]


def _book_key(book: OrderBook | None) -> tuple[Any, ...] | None:
    if book is None:
        return None
    return (book.ts, book.bids, book.asks, book.consistent)


def _pad(segments: list[Segment], width: int) -> list[Segment]:
    used = sum(len(s.text) for s in segments)
    if used > width:
        out: list[Segment] = []
        left = width
        for s in segments:
            if left <= 0:
                break
            out.append(Segment(s.text[:left], s.style))
            left -= len(s.text[:left])
        return out
    return [*segments, Segment(" " * (width - used), PLAIN)]


def _book_lines(
    book: OrderBook | None, width: int, height: int, styles: DepthStyles
) -> list[list[Segment]]:
    blank = [_pad([], width) for _ in range(height)]
    if book is None or height <= 0 or width <= 0:
        return blank
    side_rows = max(1, (height - 1) // 2)
    asks = list(book.asks[:side_rows])
    bids = list(book.bids[:side_rows])
    largest = max((lv.lots for lv in asks + bids), default=1) or 1
    price_w = max((len(price(lv.price)) for lv in asks + bids), default=6)
    lots_w = max((len(f"{lv.lots:,}") for lv in asks + bids), default=3)
    bar_w = max(0, width - price_w - lots_w - 3)

    def row(level: Any, style: Style) -> list[Segment]:
        bar = "█" * max(1, round(bar_w * level.lots / largest)) if bar_w else ""
        return _pad(
            [
                Segment(price(level.price).rjust(price_w) + " ", style),
                Segment(f"{level.lots:,}".rjust(lots_w) + " ", PLAIN),
                Segment(bar, style),
            ],
            width,
        )

    lines = [row(lv, styles.ask) for lv in reversed(asks)]
    spread = book.spread
    mid = f"spread {price(spread)}" if spread is not None else "no quotes"
    lines.append(_pad([Segment(mid.center(width), styles.muted)], width))
    lines.extend(row(lv, styles.bid) for lv in bids)
    lines = lines[:height]
    return lines + blank[len(lines) :]


def _tape_lines(
    trades: Sequence[MarketTrade], width: int, height: int, styles: DepthStyles
) -> list[list[Segment]]:
    lines: list[list[Segment]] = []
    if height > 0:
        lines.append(_pad([Segment(" time     side price      lots", styles.muted)], width))
    for trade in trades[: max(0, height - 1)]:
        style = (
            styles.bid
            if trade.side is Side.BUY
            else styles.ask
            if trade.side is Side.SELL
            else PLAIN
        )
        mark = "B" if trade.side is Side.BUY else "S" if trade.side is Side.SELL else "·"
        lines.append(
            _pad(
                [
                    Segment(f" {msk(trade.ts)} ", styles.muted),
                    Segment(f"{mark}  ", style),
                    Segment(f"{price(Decimal(trade.price)):>10} ", style),
                    Segment(f"{trade.lots:>6,}", PLAIN),
                ],
                width,
            )
        )
    return lines + [_pad([], width) for _ in range(height - len(lines))]
