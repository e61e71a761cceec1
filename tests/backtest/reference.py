"""An independent plain-Python SMA cross with next-open fills: the reference for tests."""

from __future__ import annotations

import polars as pl


def sma_cross_trades(frame: pl.DataFrame, fast: int, slow: int) -> list[tuple[int, int, str]]:
    """Closed trades as (entry bar index, exit bar index, 'long'/'short').

    Signal at the close of bar i (fast SMA crosses slow SMA: before < 0 < now, or mirror), fill
    at the open of bar i + 1; always in the market after the first cross; the last open trade is
    not closed.
    """
    closes = frame["close"].to_list()
    n = len(closes)
    trades: list[tuple[int, int, str]] = []
    position = 0
    entry = -1

    def sma(end: int, length: int) -> float:
        return sum(closes[end - length + 1 : end + 1]) / length

    for i in range(slow, n - 1):
        before = sma(i - 1, fast) - sma(i - 1, slow)
        now = sma(i, fast) - sma(i, slow)
        target = 1 if before < 0 < now else -1 if before > 0 > now else 0
        if target == 0 or target == position:
            continue
        if position != 0:
            trades.append((entry, i + 1, "long" if position > 0 else "short"))
        position, entry = target, i + 1
    return trades
