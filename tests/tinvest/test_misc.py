"""The safety rule, the CLI commands, fault parsing, the journal and candle dedupe."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from avin_tui.cli import broker as commands
from engine.broker.base import BarEvent, BrokerEvent, FillEvent
from engine.broker.fake_tinvest import DEFAULT_TOKEN, FakeExchange, FakeTInvestServer, Faults
from engine.broker.tinvest.broker import TInvestBroker
from engine.broker.tinvest.channel import ChannelConfig, Transport
from engine.broker.tinvest.market_stream import MarketStream
from engine.broker.tinvest.numbers import quotation, timestamp
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.broker.tinvest.safety import LiveTradingRefused, resolve_mode
from engine.model import Instrument, Mode, Order, OrderType, Side, TimeFrame
from engine.model.order_book import OrderManager
from engine.orders.journal import InMemoryJournal
from engine.runtime.router import OrderRouter
from tests.tinvest.helpers import START, EventSink, make_broker


@pytest.mark.parametrize(
    ("mode", "token", "live", "expected"),
    [
        ("auto", False, False, Mode.SIM),
        ("auto", True, False, Mode.SANDBOX),
        ("sandbox", True, False, Mode.SANDBOX),
        ("sim", True, False, Mode.SIM),
        ("live", True, True, Mode.LIVE),
    ],
)
def test_safety_rule(mode: str, token: bool, live: bool, expected: Mode) -> None:
    assert resolve_mode(mode, has_token=token, live_flag=live) is expected


@pytest.mark.parametrize(
    ("mode", "token", "live"),
    [("live", True, False), ("auto", True, True), ("sandbox", True, True), ("live", False, True)],
)
def test_live_needs_both_the_mode_and_the_flag(mode: str, token: bool, live: bool) -> None:
    with pytest.raises(LiveTradingRefused):
        resolve_mode(mode, has_token=token, live_flag=live)


def test_faults_parse() -> None:
    f = Faults.parse("drop_streams=1, drop_after=5, reject_next=30078+30034, unauthenticated")
    assert f.drop_streams == 1 and f.drop_after == 5 and f.reject_next == ["30078", "30034"]
    assert f.unauthenticated is True
    assert Faults.parse("rate-limit-reset=2.5").rate_limit_reset == 2.5
    with pytest.raises(ValueError, match="unknown fault"):
        Faults.parse("explode=1")
    f.reset()
    assert f == Faults()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="avin")
    commands.register(parser.add_subparsers(dest="command"))
    return parser


def test_commands_register() -> None:
    parser = _parser()
    args = parser.parse_args(["broker", "check", "--target", "127.0.0.1:1"])
    assert args.func is commands.cmd_broker_check and args.target == "127.0.0.1:1"
    args = parser.parse_args(["sim-server", "--port", "0", "--faults", "drop_streams=1"])
    assert args.func is commands.cmd_sim_server and args.faults == "drop_streams=1"


async def test_broker_check_against_the_fake_server(
    server: FakeTInvestServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AVIN_TOKEN", DEFAULT_TOKEN)
    args = _parser().parse_args(["broker", "check", "--target", server.target])
    code = await asyncio.to_thread(commands.cmd_broker_check, args)
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "fake-account-1" in out.out and "6 shares" in out.out
    monkeypatch.setenv("AVIN_TOKEN", "t.BADbadBADbadBADbad1234567890")
    code = await asyncio.to_thread(commands.cmd_broker_check, args)
    out = capsys.readouterr()
    assert code == 1 and "40003" in out.err and "AVIN_TOKEN" in out.err
    assert "t.BADbadBADbadBADbad1234567890" not in out.err + out.out


def test_broker_check_without_a_token(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(["broker", "check"])
    assert commands.cmd_broker_check(args) == 2
    assert "simulated market" in capsys.readouterr().out


def test_sim_server_rejects_non_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(["sim-server", "--host", "0.0.0.0"])
    assert commands.cmd_sim_server(args) == 2
    assert "loopback" in capsys.readouterr().err


class CheckingJournal(InMemoryJournal):
    def __init__(self, server: FakeTInvestServer) -> None:
        super().__init__()
        self.server = server
        self.seen_at_record: list[tuple[str, bool]] = []

    def record(self, key: str, order: Order) -> None:
        self.seen_at_record.append((key, key in self.server.post_order_keys))
        super().record(key, order)


async def test_the_key_is_journalled_once_by_the_router_before_it_is_sent(
    server: FakeTInvestServer,
) -> None:
    # the router writes the intent; the adapter, given the same journal, only resolves the key
    journal = CheckingJournal(server)
    broker = make_broker(server.target, journal=journal)
    book = OrderManager()
    tasks: list[asyncio.Task[Any]] = []

    def spawn(coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        tasks.append(asyncio.get_running_loop().create_task(coro, name=name))
        return tasks[-1]

    router = OrderRouter(
        broker,
        book,
        spawn=spawn,
        clock=lambda: None,
        changed=lambda order: None,
        reject=lambda order, reason: book.reject_local(order, reason, None),
        counters={"orders_sent": 0, "orders_rejected": 0},
        journal=journal,
    )
    try:
        order = book.record(
            Order("MOEX_SHARE_SBER", Side.BUY, OrderType.MARKET, 1, "fake-account-1")
        )
        router.post(order)
        _done, pending = await asyncio.wait(tasks, timeout=10)
        assert not pending
    finally:
        await broker.close()
    assert journal.seen_at_record == [(order.id, False)]  # once, and before the server saw it
    assert journal.unresolved() == []
    assert journal.entries[order.id].result is not None


async def test_the_adapter_itself_never_writes_an_intent(server: FakeTInvestServer) -> None:
    journal = CheckingJournal(server)
    broker = make_broker(server.target, journal=journal)
    try:
        order = Order("MOEX_SHARE_SBER", Side.BUY, OrderType.MARKET, 1, "fake-account-1")
        await broker.post_order(order)
    finally:
        await broker.close()
    assert journal.seen_at_record == []
    assert journal.entries[order.id].result is not None  # the broker's answer is resolved


async def test_orders_of_a_new_account_reach_the_stream() -> None:
    # sandbox accounts exist in the sandbox; the fill comes later, through the stream
    exchange = FakeExchange(start=START, fill_market_on_post=False)
    server = await FakeTInvestServer(exchange=exchange, profile="sandbox").start()
    broker = make_broker(server.target, local_stops=None)
    sink = EventSink(broker)
    try:
        await broker.connect()
        await broker.orders.connected.wait()
        account = await broker.open_sandbox_account("second")
        await broker.sandbox_pay_in(account, Decimal(100_000))
        order = Order("MOEX_SHARE_SBER", Side.BUY, OrderType.MARKET, 1, account)
        connects = broker.orders.stats.connects
        await broker.post_order(order)
        # the order stream reopens with the new account (a new subscription answer)
        await sink.wait(lambda ev: broker.orders.stats.connects > connects)
        server.step()
        await sink.wait(lambda ev: any(isinstance(e, FillEvent) for e in ev))
        assert account in broker.orders.accounts
        assert broker.orders.polls == 0 and broker.orders.stats.drops == 0  # via the stream
        assert sink.of(FillEvent)[0].fill.account == account
    finally:
        await sink.stop()
        await broker.close()
        await server.stop()


# --- candle dedupe, without a server ---------------------------------------------------------

SBER = Instrument("MOEX", "SHARE", "SBER", "uid-1", "FIGI1", "TQBR", 10, Decimal("0.01"))
T0 = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)


def _candle(minute: int, close: str) -> pb.MarketDataResponse:
    q = quotation(Decimal(close))
    return pb.MarketDataResponse(
        candle=pb.Candle(
            figi=SBER.figi,
            interval=pb.SUBSCRIPTION_INTERVAL_ONE_MINUTE,
            open=q,
            high=q,
            low=q,
            close=q,
            volume=1,
            time=timestamp(T0 + timedelta(minutes=minute)),
            instrument_uid=SBER.uid,
        )
    )


async def test_provisional_then_closed_and_no_duplicates() -> None:
    events: list[BrokerEvent] = []

    async def backfill(inst: Instrument, tf: TimeFrame, since: datetime) -> list:
        return []

    transport = Transport(ChannelConfig(target="127.0.0.1:1", token="x" * 10))
    stream = MarketStream(transport, events.append, backfill)
    await stream.subscribe_bars(SBER, TimeFrame.M1)
    await stream.close()
    for minute, close in [(0, "1"), (0, "2"), (1, "3"), (0, "9"), (1, "4"), (2, "5"), (1, "7")]:
        stream._handle(_candle(minute, close))
    bars = [e for e in events if isinstance(e, BarEvent)]
    closed = [(e.bar.ts.minute, e.bar.close) for e in bars if e.closed]
    provisional = [(e.bar.ts.minute, e.bar.close) for e in bars if not e.closed]
    assert closed == [(0, 2.0), (1, 4.0)]  # the latest values; late candles ignored
    assert provisional == [(0, 1.0), (0, 2.0), (1, 3.0), (1, 4.0), (2, 5.0)]
    await transport.close()


def test_repr_hides_the_token() -> None:
    broker = TInvestBroker("t.SECRETsecretSECRETsecret1234567", target="127.0.0.1:1")
    assert "SECRET" not in repr(broker) and "SECRET" not in repr(broker.config)
