"""FLATTEN: the market orders that close every position, attributed to the strategies that hold it.

Netting rule: each strategy's position is a virtual sub-position; the account position in an
instrument is the sum of its strategies' sub-positions (plus any fills of orders no strategy
placed). When every sub-position of an (account, instrument) has the sign of the account
position and they add up to it, each strategy gets its own closing order (all on the same side,
so they never cross). Otherwise one net order, owned by no strategy, closes the account position;
once it is filled, the strategies' sub-positions are closed at its price (``OrderManager.allocate``),
so no strategy shows a position the account no longer holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.model import Order, OrderType, Side


@dataclass(frozen=True, slots=True)
class Holding:
    account: str
    instrument: str
    lots: int
    strategy: str = ""  # empty: the account position


def closing_orders(accounts: Iterable[Holding], strategies: Iterable[Holding]) -> list[Order]:
    by_key: dict[tuple[str, str], list[Holding]] = {}
    for h in strategies:
        if h.lots:
            by_key.setdefault((h.account, h.instrument), []).append(h)
    orders: list[Order] = []
    for acc in accounts:
        if acc.lots == 0:
            continue
        subs = by_key.get((acc.account, acc.instrument), [])
        same_sign = all((h.lots > 0) == (acc.lots > 0) for h in subs)
        owners = subs if subs and same_sign and sum(h.lots for h in subs) == acc.lots else [acc]
        for h in owners:
            side = Side.SELL if h.lots > 0 else Side.BUY
            orders.append(
                Order(
                    instrument=acc.instrument,
                    side=side,
                    type=OrderType.MARKET,
                    lots=abs(h.lots),
                    account=acc.account,
                    strategy=h.strategy,
                )
            )
    return orders
