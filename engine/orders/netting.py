"""Netting: opposite market orders of strategies on one account and instrument, crossed inside.

A pure function over the market orders the strategies queued in one turn (``plan``) and one
over a net order's fill (``split``); the runtime's netting desk (:mod:`engine.runtime.netting`)
executes the plans. The rule (docs/risk.md, "the netting rule"):

- The buys and the sells of one account and instrument in one turn cross for ``min(buys,
  sells)`` lots at one price (the market's last trade price): each order on the smaller side is
  crossed whole, the orders on the bigger side share the crossed lots in proportion to their
  lots. A crossed part is a fill of the strategy's own order with no commission and no broker
  order.
- What is left (``|buys - sells|`` lots, on the bigger side) goes to the broker as one net order
  owned by no strategy; each order's share of it is what it did not get crossed. A fill of the
  net order is split over the shares still open, in proportion to them.
- Whole lots: a proportional split gives every share its floor, then the lots left over go one
  each to the largest fractional remainders; ties go to the earlier order (the order the
  strategies queued them in).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from engine.model import Order, OrderType, Side
from engine.model.lots import split

__all__ = ["NetPlan", "allocate", "nets", "plan", "split"]


@dataclass(frozen=True, slots=True)
class NetPlan:
    """What one turn's market orders of one account and instrument become."""

    account: str
    instrument: str
    price: Decimal  # the crossing price
    crossed: dict[str, int]  # order key -> lots crossed inside (only keys with lots)
    side: Side | None  # the net order's side (None: everything crossed)
    shares: dict[str, int]  # order key -> its lots of the net order (only keys with lots)

    @property
    def remainder(self) -> int:
        return sum(self.shares.values())

    @property
    def crossed_lots(self) -> int:
        """Lots crossed inside, counted once per pair (the buys' side)."""
        return sum(self.crossed.values()) // 2


def nets(orders: Sequence[Order]) -> bool:
    """Whether these orders (one account and instrument) have anything to cross."""
    sides = {o.side for o in orders if o.type is OrderType.MARKET}
    return len(sides) == 2


def plan(orders: Sequence[Order], price: Decimal) -> NetPlan:
    """Cross the market orders of one account and instrument (in the order they were queued)."""
    if not orders:
        raise ValueError("nothing to net")
    account, instrument = orders[0].account, orders[0].instrument
    for o in orders:
        if o.type is not OrderType.MARKET or (o.account, o.instrument) != (account, instrument):
            raise ValueError(f"order {o.id} is not a market order on {account} {instrument}")
    if price <= 0:
        raise ValueError(f"crossing price {price} is not positive")
    buys = [o for o in orders if o.side is Side.BUY]
    sells = [o for o in orders if o.side is Side.SELL]
    bought, sold = sum(o.lots for o in buys), sum(o.lots for o in sells)
    crossing = min(bought, sold)
    crossed: dict[str, int] = {}
    shares: dict[str, int] = {}
    for side_orders in (buys, sells):
        parts = split(crossing, [o.lots for o in side_orders])
        for o, part in zip(side_orders, parts, strict=True):
            if part:
                crossed[o.id] = part
            if o.lots > part:
                shares[o.id] = o.lots - part
    side = None if bought == sold else (Side.BUY if bought > sold else Side.SELL)
    return NetPlan(account, instrument, price, crossed, side, shares)


def allocate(lots: int, open_shares: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """A net order's fill of ``lots`` over the shares still open (key, lots), in proportion:
    (key, lots) for every share that gets some."""
    parts = split(lots, [n for _, n in open_shares])
    return [(key, part) for (key, _), part in zip(open_shares, parts, strict=True) if part]
