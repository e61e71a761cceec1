from __future__ import annotations

import asyncio

import grpc
import pytest

from engine.broker.base import BrokerError
from engine.broker.tinvest.channel import ChannelConfig, Transport, is_loopback
from engine.broker.tinvest.errors import (
    AccessDenied,
    AuthenticationError,
    NotFound,
    RateLimited,
    RequestRejected,
    TInvestOrderRejected,
    Unavailable,
    from_rpc_error,
)
from engine.broker.tinvest.limiter import RateLimiter, TokenBucket

TOKEN = "t.SECRETsecretSECRETsecret123456"


class FakeRpcError(grpc.RpcError):
    def __init__(self, status: grpc.StatusCode, details: str, **trailing: str) -> None:
        self._status = status
        self._details = details
        self._trailing = tuple((k.replace("_", "-"), v) for k, v in trailing.items())

    def code(self) -> grpc.StatusCode:
        return self._status

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._trailing

    def initial_metadata(self) -> tuple[tuple[str, str], ...]:
        return ()


def test_40003_explains_the_token() -> None:
    err = from_rpc_error(
        FakeRpcError(
            grpc.StatusCode.UNAUTHENTICATED,
            "40003",
            message="Authentication token is missing or invalid",
            x_tracking_id="abc123",
        ),
        method="GetAccounts",
    )
    assert isinstance(err, AuthenticationError) and isinstance(err, BrokerError)
    assert err.status == "UNAUTHENTICATED" and err.api_code == "40003" and err.code == "40003"
    assert err.tracking_id == "abc123"
    assert err.server_message == "Authentication token is missing or invalid"
    text = str(err)
    assert "AVIN_TOKEN" in text and "token" in text and "tracking id abc123" in text
    assert not err.retryable


@pytest.mark.parametrize(
    ("status", "code", "cls", "words"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, "30078", RequestRejected, "multiple"),
        (grpc.StatusCode.INVALID_ARGUMENT, "30034", RequestRejected, "not enough money"),
        (grpc.StatusCode.INVALID_ARGUMENT, "30099", RequestRejected, "price band"),
        (grpc.StatusCode.INVALID_ARGUMENT, "30014", RequestRejected, "candle window"),
        (grpc.StatusCode.PERMISSION_DENIED, "40002", AccessDenied, "read-only"),
        (grpc.StatusCode.NOT_FOUND, "50002", NotFound, "instrument"),
        (grpc.StatusCode.INTERNAL, "70002", Unavailable, "may or may not"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "80002", RateLimited, "request limit"),
    ],
)
def test_codes_map_to_typed_errors(
    status: grpc.StatusCode, code: str, cls: type, words: str
) -> None:
    err = from_rpc_error(FakeRpcError(status, code, message="server text"))
    assert type(err) is cls
    assert err.api_code == code and err.status == status.name
    assert words in str(err).lower()
    assert err.server_message == "server text"


def test_rate_limit_reset_is_read() -> None:
    err = from_rpc_error(
        FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, "80002", x_ratelimit_reset="7")
    )
    assert isinstance(err, RateLimited) and err.reset_seconds == 7.0 and err.retryable


def test_transport_errors_without_a_code() -> None:
    err = from_rpc_error(FakeRpcError(grpc.StatusCode.UNAVAILABLE, "GOAWAY received"))
    assert isinstance(err, Unavailable) and err.retryable
    assert err.api_code == "" and err.code == "UNAVAILABLE"
    assert "GOAWAY" in str(err)


def test_the_token_is_redacted_from_server_text() -> None:
    err = from_rpc_error(
        FakeRpcError(grpc.StatusCode.UNAUTHENTICATED, "40003", message=f"bad token {TOKEN}")
    )
    assert TOKEN not in str(err) and TOKEN not in err.server_message


def test_order_rejected_keeps_the_details() -> None:
    err = from_rpc_error(
        FakeRpcError(grpc.StatusCode.INVALID_ARGUMENT, "30078", message="step", x_tracking_id="t1"),
        extra_action="the price step of MOEX_SHARE_SBER is 0.01",
    )
    rejected = TInvestOrderRejected("key-1", err)
    assert rejected.api_code == "30078" and rejected.tracking_id == "t1"
    assert "0.01" in str(rejected) and "key-1" in str(rejected)


def test_loopback_detection_and_insecure_refusal() -> None:
    assert is_loopback("127.0.0.1:5000") and is_loopback("localhost:1") and is_loopback("[::1]:9")
    assert not is_loopback("invest-public-api.tinkoff.ru:443")
    with pytest.raises(ValueError, match="loopback"):
        Transport(ChannelConfig(target="example.com:443", token="x" * 10, insecure=True))
    secure = Transport(ChannelConfig(target="invest-public-api.tinkoff.ru:443", token="x" * 10))
    assert not secure.insecure
    assert TOKEN not in repr(ChannelConfig(token=TOKEN))


async def test_token_bucket_waits_and_pauses() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=10.0, capacity=2, clock=lambda: now[0])
    await bucket.acquire()
    await bucket.acquire()
    assert bucket.delay() == pytest.approx(0.1)
    now[0] += 0.1
    assert bucket.delay() == 0
    bucket.pause(5.0)
    assert bucket.delay() == pytest.approx(5.0)


async def test_rate_limiter_spaces_calls() -> None:
    limiter = RateLimiter(scale=1.0, burst_fraction=0.01)  # StopOrders: 50/min, burst 1
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await limiter.acquire("StopOrdersService", "PostStopOrder")
    await limiter.acquire("StopOrdersService", "PostStopOrder")
    assert loop.time() - t0 >= 1.0  # 60 / 50 = 1.2 s between calls
