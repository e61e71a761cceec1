"""Accounts of the T-Invest adapter: connect, accounts and cash, sandbox accounts, positions."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from engine.broker.tinvest.channel import Retry
from engine.broker.tinvest.errors import TInvestError
from engine.broker.tinvest.instruments import InstrumentLookup
from engine.broker.tinvest.numbers import from_money, from_quotation, money
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.model import Account, Mode, Position
from engine.model.redact import register_account

log = logging.getLogger("avin.tinvest")

SANDBOX_FUNDS = Decimal(1_000_000)  # RUB paid into a sandbox account avin opens


class Accounts(InstrumentLookup):
    """GetAccounts, GetPositions, GetPortfolio and the sandbox-only account calls."""

    async def connect(self) -> None:
        """Check the token (GetAccounts) and start the order-state stream. A sandbox token
        without an account gets one (OpenSandboxAccount, funded with SandboxPayIn): a new
        sandbox user has none, and nothing could trade."""
        accounts = await self._accounts_raw()
        if not accounts and self.mode is Mode.SANDBOX:
            account = await self.open_sandbox_account("avin")
            balance = await self.sandbox_pay_in(account, SANDBOX_FUNDS)
            log.warning(
                "the sandbox had no account: opened %s and paid in %s RUB (play money)",
                account,
                balance,
            )
            accounts = await self._accounts_raw()
        self.orders.start({a.id for a in accounts})

    # --- accounts ---------------------------------------------------------------------------

    async def _accounts_raw(self) -> list[Any]:
        resp = await self._call("UsersService", "GetAccounts", pb.GetAccountsRequest())
        for acc in resp.accounts:  # masked in what is shown when [privacy] hide_accounts is on
            register_account(acc.id)
        return list(resp.accounts)

    async def accounts(self) -> list[Account]:
        out = []
        for acc in await self._accounts_raw():
            if acc.status == pb.ACCOUNT_STATUS_CLOSED:
                continue
            cash = Decimal(0)
            try:
                positions = await self._call(
                    "OperationsService", "GetPositions", pb.PositionsRequest(account_id=acc.id)
                )
                cash = sum(
                    (from_money(m) for m in positions.money if m.currency.lower() == "rub"),
                    Decimal(0),
                )
            except TInvestError as exc:
                log.warning("cash of account %s: %s", acc.id, exc)
            out.append(Account(acc.id, acc.name or acc.id, self.mode, "rub", cash))
        return out

    async def open_sandbox_account(self, name: str = "avin") -> str:
        resp = await self._call(
            "SandboxService",
            "OpenSandboxAccount",
            pb.OpenSandboxAccountRequest(name=name),
            retry=Retry.WRITE,
        )
        register_account(resp.account_id)
        return str(resp.account_id)

    async def sandbox_accounts(self) -> list[str]:
        resp = await self._call("SandboxService", "GetSandboxAccounts", pb.GetAccountsRequest())
        for acc in resp.accounts:
            register_account(acc.id)
        return [a.id for a in resp.accounts]

    async def close_sandbox_account(self, account: str) -> None:
        await self._call(
            "SandboxService",
            "CloseSandboxAccount",
            pb.CloseSandboxAccountRequest(account_id=account),
            retry=Retry.WRITE,
        )

    async def sandbox_pay_in(self, account: str, amount: Decimal) -> Decimal:
        resp = await self._call(
            "SandboxService",
            "SandboxPayIn",
            pb.SandboxPayInRequest(account_id=account, amount=money(amount)),
            retry=Retry.WRITE,
        )
        return from_money(resp.balance)

    # --- instruments ------------------------------------------------------------------------

    async def positions(self, account: str) -> list[Position]:
        """Share positions in lots (the portfolio counts pieces)."""
        resp = await self._call(
            "OperationsService", "GetPortfolio", pb.PortfolioRequest(account_id=account)
        )
        out: list[Position] = []
        for item in resp.positions:
            if item.instrument_type == "currency":
                continue
            inst = await self._instrument_by_uid(item.instrument_uid, item.figi)
            if inst is None:
                continue
            pieces = from_quotation(item.quantity)
            lots = int(pieces / inst.lot)
            if pieces % inst.lot:
                log.warning(
                    "%s: %s pieces is not a whole number of lots of %d", inst.code, pieces, inst.lot
                )
            out.append(
                Position(
                    instrument=inst.code,
                    lot_size=inst.lot,
                    lots=lots,
                    avg_price=from_money(item.average_position_price),
                    last_price=from_money(item.current_price) or None,
                    account=account,
                )
            )
        return out
