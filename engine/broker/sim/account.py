"""The account a restarted simulated market goes on with.

The simulated market keeps its account in memory. On a restart the engine restores its own
positions (state snapshot and journal) and hands them over (:meth:`SimBroker.carry_over`); the
cash follows from them. Each buy paid its value plus commission and each sell received its value
less commission, so, for the cash the account started with::

    cash = start + realised - commission - the average price of what is held x its shares

(short positions count with their sign). The sum is exact up to the rounding of an average price,
so it is rounded to the kopeck, as every cash amount of the market is.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from decimal import Decimal

from engine.model import Position

KOPECK = Decimal("0.01")


def carried(start: Decimal, positions: Iterable[Position]) -> tuple[dict[str, Position], Decimal]:
    """The positions by instrument code (copies, with only their open round trip) and the cash."""
    held: dict[str, Position] = {}
    cash = start
    for p in positions:
        clone = copy.deepcopy(p)
        open_trade = clone.open_trade  # a fill that reduces the position closes it
        clone.trades = [open_trade] if open_trade is not None else []
        held[p.instrument] = clone
        cash += p.realized - p.commission - p.avg_price * p.lots * p.lot_size
    return held, cash.quantize(KOPECK)
