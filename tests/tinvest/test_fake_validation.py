"""The fake server refuses what the real service refuses: a ping interval outside 5..180 s on
every stream (INVALID_ARGUMENT), and the client never asks for one."""

from __future__ import annotations

import asyncio

import grpc
import grpc.aio
import pytest

from engine.broker.fake_tinvest import DEFAULT_TOKEN, FakeTInvestServer
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.broker.tinvest.proto import investapi_pb2_grpc as pb_grpc
from engine.broker.tinvest.streams import StreamPolicy

AUTH = (("authorization", f"Bearer {DEFAULT_TOKEN}"),)


def test_the_client_asks_for_pings_the_service_allows() -> None:
    assert StreamPolicy(ping_interval=0.1).ping_delay_ms == 5_000
    assert StreamPolicy(ping_interval=30).ping_delay_ms == 30_000
    assert StreamPolicy(ping_interval=600).ping_delay_ms == 180_000


@pytest.mark.parametrize("delay", [100, 4_999, 180_001])
async def test_order_streams_refuse_a_ping_delay_out_of_range(
    server: FakeTInvestServer, delay: int
) -> None:
    async with grpc.aio.insecure_channel(server.target) as channel:
        stub = pb_grpc.OrdersStreamServiceStub(channel)
        call = stub.OrderStateStream(
            pb.OrderStateStreamRequest(accounts=["fake-account-1"], ping_delay_millis=delay),
            metadata=AUTH,
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call.read()
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        trades = stub.TradesStream(
            pb.TradesStreamRequest(accounts=["fake-account-1"], ping_delay_ms=delay),
            metadata=AUTH,
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await trades.read()
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "5000 and 180000" in server.errors[-1][1]


async def test_an_order_stream_in_range_opens(server: FakeTInvestServer) -> None:
    async with grpc.aio.insecure_channel(server.target) as channel:
        stub = pb_grpc.OrdersStreamServiceStub(channel)
        call = stub.OrderStateStream(
            pb.OrderStateStreamRequest(accounts=["fake-account-1"], ping_delay_millis=5_000),
            metadata=AUTH,
        )
        first = await call.read()
        assert first.WhichOneof("payload") == "subscription"
        call.cancel()


async def test_the_market_data_stream_refuses_a_ping_delay_out_of_range(
    server: FakeTInvestServer,
) -> None:
    async with grpc.aio.insecure_channel(server.target) as channel:
        stub = pb_grpc.MarketDataStreamServiceStub(channel)
        call = stub.MarketDataStream(metadata=AUTH)
        await call.write(
            pb.MarketDataRequest(ping_settings=pb.PingDelaySettings(ping_delay_ms=1_000))
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call.read()
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert (
            dict(caught.value.trailing_metadata() or ())
            .get("message", "")
            .startswith("ping_delay_ms must be between 5000 and 180000")
        )


async def test_request_limits_per_method_and_service(server: FakeTInvestServer) -> None:
    """OrdersService: 100 a minute shared by its methods, except PostOrder (300), CancelOrder
    (100) and GetOrders (200), which count on their own; beyond a limit: 80002 with the reset."""
    server.limit_scale = 0.02  # this server: Orders 2, GetOrders 4, PostOrder 6 a minute
    async with grpc.aio.insecure_channel(server.target) as channel:
        stub = pb_grpc.OrdersServiceStub(channel)
        state = pb.GetOrderStateRequest(account_id="fake-account-1", order_id="x")
        for _ in range(2):  # within the service's limit (50005: the order is unknown)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.GetOrderState(state, metadata=AUTH)
            assert caught.value.code() is grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetOrderState(state, metadata=AUTH)
        assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert caught.value.details() == "80002"
        trailing = dict(caught.value.trailing_metadata() or ())
        assert trailing["x-ratelimit-remaining"] == "0" and int(trailing["x-ratelimit-reset"]) > 0
        orders = pb.GetOrdersRequest(account_id="fake-account-1")
        for _ in range(4):  # GetOrders has a limit of its own
            await stub.GetOrders(orders, metadata=AUTH)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetOrders(orders, metadata=AUTH)
        assert caught.value.details() == "80002"


async def test_every_subscription_answer_names_its_instrument_and_stream(
    server: FakeTInvestServer,
) -> None:
    """Each kind of subscription answer carries the instrument's figi, uid, ticker and class
    code, the stream id and a subscription id of its own (the real messages have them all)."""
    sber = server.exchange.instrument("SBER")
    ident = pb.CandleInstrument(instrument_id=sber.uid)
    requests = [
        pb.MarketDataRequest(
            subscribe_candles_request=pb.SubscribeCandlesRequest(
                subscription_action=pb.SUBSCRIPTION_ACTION_SUBSCRIBE,
                instruments=[
                    pb.CandleInstrument(
                        instrument_id=sber.uid, interval=pb.SUBSCRIPTION_INTERVAL_ONE_MINUTE
                    )
                ],
            )
        ),
        pb.MarketDataRequest(
            subscribe_last_price_request=pb.SubscribeLastPriceRequest(
                subscription_action=pb.SUBSCRIPTION_ACTION_SUBSCRIBE,
                instruments=[pb.LastPriceInstrument(instrument_id=ident.instrument_id)],
            )
        ),
        pb.MarketDataRequest(
            subscribe_info_request=pb.SubscribeInfoRequest(
                subscription_action=pb.SUBSCRIPTION_ACTION_SUBSCRIBE,
                instruments=[pb.InfoInstrument(instrument_id=sber.uid)],
            )
        ),
        pb.MarketDataRequest(
            subscribe_order_book_request=pb.SubscribeOrderBookRequest(
                subscription_action=pb.SUBSCRIPTION_ACTION_SUBSCRIBE,
                instruments=[pb.OrderBookInstrument(instrument_id=sber.uid, depth=10)],
            )
        ),
        pb.MarketDataRequest(
            subscribe_trades_request=pb.SubscribeTradesRequest(
                subscription_action=pb.SUBSCRIPTION_ACTION_SUBSCRIBE,
                instruments=[pb.TradeInstrument(instrument_id=sber.uid)],
            )
        ),
    ]
    answers = {
        "subscribe_candles_response": "candles_subscriptions",
        "subscribe_last_price_response": "last_price_subscriptions",
        "subscribe_info_response": "info_subscriptions",
        "subscribe_order_book_response": "order_book_subscriptions",
        "subscribe_trades_response": "trade_subscriptions",
    }
    seen: dict[str, object] = {}
    async with grpc.aio.insecure_channel(server.target) as channel:
        call = pb_grpc.MarketDataStreamServiceStub(channel).MarketDataStream(metadata=AUTH)
        for request in requests:
            await call.write(request)
        while len(seen) < len(answers):
            response = await asyncio.wait_for(call.read(), timeout=10)
            kind = response.WhichOneof("payload")
            if kind in answers:
                [seen[kind]] = getattr(getattr(response, kind), answers[kind])
        call.cancel()
    ids = set()
    for kind, sub in seen.items():
        assert (sub.figi, sub.instrument_uid) == (sber.figi, sber.uid), kind  # type: ignore[attr-defined]
        assert (sub.ticker, sub.class_code) == (sber.ticker, sber.class_code), kind  # type: ignore[attr-defined]
        assert sub.subscription_status == pb.SUBSCRIPTION_STATUS_SUCCESS, kind  # type: ignore[attr-defined]
        ids.add(sub.subscription_id)  # type: ignore[attr-defined]
    assert len(ids) == len(answers)
    assert len({sub.stream_id for sub in seen.values()}) == 1  # type: ignore[attr-defined]
