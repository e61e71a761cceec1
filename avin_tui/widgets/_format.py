"""Small display helpers shared by the panes (Moscow time, money, tickers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from weakref import WeakKeyDictionary

from rich.text import Text
from textual.widget import Widget

MSK = timezone(timedelta(hours=3), "MSK")


def msk(ts: datetime | None, fmt: str = "%H:%M:%S") -> str:
    """A UTC timestamp shown in Moscow time (UTC+3); a naive one is taken to be UTC."""
    if ts is None:
        return ""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(MSK).strftime(fmt)


def ticker(code: str) -> str:
    """``MOEX_SHARE_SBER`` -> ``SBER`` (the part traders read); other codes unchanged."""
    parts = code.split("_", 2)
    return parts[2] if len(parts) == 3 else code


def num(value: Decimal | float | int | None, places: int = 2) -> str:
    if value is None:
        return ""
    return f"{float(value):,.{places}f}".replace(",", " ")


def price(value: Decimal | float | None) -> str:
    """A price with the decimals it needs (at least 2, at most 6)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        exponent = value.normalize().as_tuple().exponent
        places = max(2, min(6, -exponent)) if isinstance(exponent, int) else 2
        return num(value, places)
    return num(value, 2 if abs(value) >= 1 else 4)


def right(text: str, style: str = "") -> Text:
    return Text(text, style=style, justify="right")


def signed_money(value: Decimal | float | None) -> Text:
    """Money right-aligned, green when positive and red when negative."""
    if value is None:
        return right("")
    style = "green" if value > 0 else "red" if value < 0 else ""
    return right(num(value, 2), style)


def pnl_summary(pnl: Decimal, commission: Decimal | None = None) -> str:
    """The one P&L (net of commission) and the commission in it, as the panes' borders say it."""
    text = f"P&L {num(pnl, 2) if pnl < 0 else '+' + num(pnl, 2)}"
    return text if commission is None else f"{text} · fees {num(commission, 2)}"


_BORDER_TEXTS: WeakKeyDictionary[Widget, dict[str, str]] = WeakKeyDictionary()


def set_border_text(
    widget: Widget, *, title: str | None = None, subtitle: str | None = None
) -> None:
    """Set a pane's border title and/or subtitle, but only when the text changed.

    Textual repaints the whole widget on every assignment, even of the same text: a pane that
    sets its subtitle on every poll would repaint all its lines several times a second.
    """
    last = _BORDER_TEXTS.setdefault(widget, {})
    if title is not None and last.get("title") != title:
        last["title"] = title
        widget.border_title = title
    if subtitle is not None and last.get("subtitle") != subtitle:
        last["subtitle"] = subtitle
        widget.border_subtitle = subtitle
