"""A fake T-Invest server on loopback and a TInvestBroker pointed at it (always stopped)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from engine.broker.fake_tinvest import FakeExchange, FakeTInvestServer
from engine.broker.tinvest.broker import TInvestBroker
from tests.tinvest.helpers import START, EventSink, make_broker


@pytest.fixture
async def server() -> AsyncIterator[FakeTInvestServer]:
    srv = FakeTInvestServer(exchange=FakeExchange(start=START))
    await srv.start()
    try:
        yield srv
    finally:
        await asyncio.wait_for(srv.stop(), 10)


@pytest.fixture
async def broker(server: FakeTInvestServer) -> AsyncIterator[TInvestBroker]:
    b = make_broker(server.target)
    try:
        await b.connect()
        yield b
    finally:
        await asyncio.wait_for(b.close(), 10)


@pytest.fixture
async def sink(broker: TInvestBroker) -> AsyncIterator[EventSink]:
    s = EventSink(broker)
    try:
        yield s
    finally:
        await s.stop()
