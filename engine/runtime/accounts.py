"""Which broker account each worklist row trades on.

A row names an account id. The demo worklist and rows without an explicit account use
``sim-1`` (the simulated market's account), or ``default``: at a broker that has no such account
these mean the broker's first account (the sandbox account, say). Any other id the broker does not
know fails that row with a clear error instead of sending orders nowhere.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable

from engine.broker.base import Broker
from engine.model.snapshot import StrategyState
from engine.runtime.slots import StrategySlot

DEFAULT_ACCOUNTS = frozenset({"", "default", "sim-1"})

log = logging.getLogger("avin.engine")


async def resolve_accounts(broker: Broker, slots: Iterable[StrategySlot]) -> None:
    """Point each slot at an account the broker has (mutates ``slot.spec``; ids stay)."""
    accounts = [a.id for a in await broker.accounts()]
    for slot in slots:
        wanted = slot.spec.account
        if wanted in accounts:
            continue
        if wanted in DEFAULT_ACCOUNTS and accounts:
            slot.spec = dataclasses.replace(slot.spec, account=accounts[0])
            log.info(
                "%s: account %r means the broker's first account %s", slot.id, wanted, accounts[0]
            )
            continue
        slot.state = StrategyState.FAILED
        known = ", ".join(accounts) or "none"
        slot.error = (
            f"account {wanted!r} is not at the broker (accounts: {known}); "
            "fix `account` in the worklist (`avin broker check` lists them)"
        )
        log.error("strategy %s cannot start: %s", slot.id, slot.error)
