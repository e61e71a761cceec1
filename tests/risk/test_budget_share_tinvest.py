"""A share budget against the T-Invest adapter and the fake T-Invest server on loopback: the
account's equity is the broker's cash (GetPositions) plus its positions at their current prices
(GetPortfolio), taken when the run starts; the row's budget is that share of it."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import tests.runtime.simkit  # noqa: F401  (registers the test_script strategy)
from engine.broker.fake_tinvest import FakeExchange, FakeTInvestServer
from engine.model import Mode
from engine.model.budget import Budget
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.worklist import StrategySpec
from tests.tinvest.helpers import START, make_broker

OPTIONS = EngineOptions(
    mode=Mode.SANDBOX, history_days=1, heartbeat_interval=0.05, persist_min_gap=0.0
)


async def test_a_share_budget_comes_from_the_broker_equity() -> None:
    server = FakeTInvestServer(exchange=FakeExchange(start=START))
    await server.start()
    try:
        row = StrategySpec("test_script", "SBER", account="default", budget="12.5%")
        engine = Engine(make_broker(server.target), [row], OPTIONS)
        run = asyncio.create_task(engine.run())
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while not (engine.started or run.done()):
                assert loop.time() < deadline, "the engine did not start"
                await asyncio.sleep(0.02)
            if run.done():
                run.result()
            (slot,) = engine.slots
            account = slot.spec.account  # "default": the broker's first account
            broker = engine.broker
            cash = {a.id: a.cash for a in await broker.accounts()}[account]
            positions = await broker.positions(account)
            equity = cash + sum(
                ((p.last_price or p.avg_price) * p.lots * p.lot_size for p in positions),
                Decimal(0),
            )
            assert equity > 0
            assert engine.budgets.equity[account].value == equity
            assert engine.budgets.money(slot.id) == Budget.parse("12.5%").money(equity)
            (view,) = engine.snapshot().budgets
            assert view.budget == "12.5%" and view.equity == equity
        finally:
            engine.request_stop()
            await asyncio.wait_for(run, 15)
    finally:
        await server.stop()
