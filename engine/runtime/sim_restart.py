"""A restart on the simulated market, which keeps its orders and account in memory.

A fresh ``SimBroker`` (mode SIM, knowing none of the previous run's keys, holding nothing) is a
new market: recovery marks the previous run's open orders CANCELLED, keeps the positions the
journal restored without comparing them, and hands them to the new market
(:class:`~engine.broker.base.AccountCarryOver`), so that the account goes on with them and the
cash they leave instead of starting empty behind the engine's positions.
"""

from __future__ import annotations

import logging

from engine.broker.base import AccountCarryOver
from engine.model import Mode, Order
from engine.runtime.parts import EngineParts

log = logging.getLogger("avin.recovery")


async def fresh_simulated(
    parts: EngineParts, open_orders: list[Order], accounts: list[str]
) -> bool:
    """A SimBroker that knows none of our keys and holds nothing: a new simulated market."""
    broker = parts.broker
    if parts.options.mode is not Mode.SIM and getattr(broker, "mode", None) is not Mode.SIM:
        return False
    recent = open_orders + list(parts.book.orders.values())[-20:]
    for order in recent:
        if await broker.get_order(order.account, order.id) is not None:
            return False
    for account in accounts:
        if await broker.open_orders(account):
            return False
        if any(p.lots for p in await broker.positions(account)):
            return False
    return True


def carry_over(parts: EngineParts, accounts: list[str]) -> None:
    """Hand the restored positions of ``accounts`` to the new simulated market."""
    broker = parts.broker
    if not isinstance(broker, AccountCarryOver):
        return
    for account in accounts:
        positions = [p for (a, _code), p in parts.book.positions.items() if a == account]
        if positions and broker.carry_over(account, positions):
            held = sum(1 for p in positions if p.lots)
            log.info("the simulated account %s goes on with %d open position(s)", account, held)
