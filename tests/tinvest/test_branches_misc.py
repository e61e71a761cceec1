"""Small paths of the T-Invest modules no other test runs: the journal ignoring an answer for a
key it never recorded, a bucket refusing a zero rate, a last-trade lookup that finds nothing, a
rate-limit reset too long to wait for, the x-ratelimit headers pausing a bucket, a rejection's
one-line detail, an unknown trading status code, and unsubscribing prices only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine.broker.fake_tinvest import FakeTInvestServer
from engine.broker.tinvest import market_depth
from engine.broker.tinvest.broker import TInvestBroker
from engine.broker.tinvest.errors import RateLimited, RequestRejected, TInvestOrderRejected
from engine.broker.tinvest.limiter import TokenBucket
from engine.broker.tinvest.market_data import _status_name
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.model import Order, OrderType, Side
from engine.orders.journal import InMemoryJournal
from tests.tinvest.helpers import START


def test_the_journal_ignores_a_never_sent_answer_for_a_key_it_does_not_know() -> None:
    journal = InMemoryJournal()
    journal.resolve("unknown", None)
    assert journal.entries == {} and journal.unresolved() == []
    order = Order("MOEX_SHARE_SBER", Side.BUY, OrderType.MARKET, 1, "acc")
    journal.resolve(order.id, order)  # an answer for an unrecorded key is kept
    assert journal.entries[order.id].resolved and journal.entries[order.id].result is order


@pytest.mark.parametrize(("rate", "capacity"), [(0, 5), (1, 0.5)])
def test_a_bucket_needs_a_positive_rate_and_room_for_one(rate: float, capacity: float) -> None:
    with pytest.raises(ValueError, match="positive rate"):
        TokenBucket(rate, capacity)


async def test_last_trade_time_is_none_when_the_service_has_no_price_for_it(
    broker: TInvestBroker,
) -> None:
    sber = await broker.find_instrument("SBER")

    async def answer(service: str, method: str, request: Any) -> Any:
        return pb.GetLastPricesResponse(
            last_prices=[
                pb.LastPrice(instrument_uid="another"),
                pb.LastPrice(instrument_uid=sber.uid),  # ours, but without a time
            ]
        )

    assert await market_depth.last_trade_time(answer, sber) is None
    # an empty window asks nothing
    assert await broker.last_trades(sber, START, START - timedelta(minutes=1)) == []


async def test_a_rate_limit_reset_longer_than_we_wait_is_raised_at_once(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    server.faults.rate_limit_calls = 3
    server.faults.rate_limit_reset = 100.0  # more than max_rate_wait (65 s)
    server.faults.only_methods = {"GetPortfolio"}
    with pytest.raises(RateLimited):
        await broker.positions("fake-account-1")
    assert server.faults.rate_limit_calls == 2  # one attempt, no retry


async def test_the_last_request_of_a_window_pauses_its_bucket(
    broker: TInvestBroker, server: FakeTInvestServer
) -> None:
    server.limit_scale = 0.001  # one request a minute per service
    bucket = broker.transport.limiter.bucket("OperationsService", "GetPortfolio")
    assert bucket.delay() == 0
    await broker.positions("fake-account-1")
    assert broker.transport.last_limits["x-ratelimit-remaining"] == "0"
    assert bucket.delay() > 1  # paused until the server's window resets


def test_a_rejection_detail_has_code_message_explanation_tracking_id_and_action() -> None:
    error = RequestRejected(
        "T-Invest PostOrder: bad price",
        status="INVALID_ARGUMENT",
        api_code="30078",
        tracking_id="abc123",
        server_message="Price must be a multiple",
        explanation="the price is not on the step",
        action="round it",
    )
    rejected = TInvestOrderRejected("key-1", error)
    detail = rejected.detail
    assert detail.startswith('code 30078 "Price must be a multiple"')
    assert ": the price is not on the step; tracking id abc123. Round it" in detail
    bare = RequestRejected("T-Invest PostOrder: refused")
    assert TInvestOrderRejected("key-2", bare).detail == "rejected"


def test_an_unknown_trading_status_code_is_shown_as_its_number() -> None:
    assert _status_name(pb.SECURITY_TRADING_STATUS_NORMAL_TRADING) == "NORMAL_TRADING"
    assert _status_name(9999) == "9999"


async def test_unsubscribing_prices_only_sends_just_those_and_closes_the_stream(
    broker: TInvestBroker,
) -> None:
    sber = await broker.find_instrument("SBER")
    md = broker.market
    sent: list[Any] = []

    async def send(request: Any) -> None:
        sent.append(request.WhichOneof("payload"))

    md._send = send  # type: ignore[method-assign]
    await md.subscribe_prices(sber)
    sent.clear()
    await md.unsubscribe(sber)
    assert sent == ["subscribe_last_price_request", "subscribe_info_request"]
    assert md._task is None and not md.prices
    sent.clear()
    await md.unsubscribe(sber)  # nothing subscribed: nothing to say
    assert sent == []


async def test_a_remote_target_gets_a_tls_channel() -> None:
    from engine.broker.tinvest.channel import ChannelConfig, Transport

    transport = Transport(ChannelConfig(target="invest-public-api.tinkoff.ru:443", token="t.x"))
    try:
        assert transport.insecure is False
        assert transport.channel is transport.channel  # made once, lazily, no connection yet
    finally:
        await transport.close()
    assert transport._channel is None


async def test_rate_limit_headers_that_cannot_be_read_or_are_absent_change_nothing() -> None:
    from engine.broker.tinvest.channel import ChannelConfig, Transport

    transport = Transport(ChannelConfig(target="127.0.0.1:1", token="t.x"))

    class Broken:
        async def initial_metadata(self) -> Any:
            raise RuntimeError("the call is gone")

    class Plain:
        async def initial_metadata(self) -> Any:
            return (("x-tracking-id", "abc"),)

    transport.last_limits = {"x-ratelimit-remaining": "7"}
    await transport._note_limits("UsersService", "GetAccounts", Broken())
    await transport._note_limits("UsersService", "GetAccounts", Plain())
    assert transport.last_limits == {"x-ratelimit-remaining": "7"}
    assert transport.limiter.bucket("UsersService", "GetAccounts").delay() == 0
    await transport.close()


def test_an_unknown_configured_mode_is_refused() -> None:
    from engine.broker.tinvest.safety import resolve_mode

    with pytest.raises(ValueError, match="unknown mode 'paper'"):
        resolve_mode("paper", has_token=True, live_flag=False)
