"""The gRPC channel to T-Invest: TLS, auth metadata, deadlines, rate limits and safe retries.

- TLS (``grpc.ssl_channel_credentials()``) to the production or sandbox host; an insecure channel
  is allowed only for loopback hosts (the fake server).
- ``authorization: Bearer <token>`` and ``x-app-name`` on every call and every stream open.
- ``grpc.max_receive_message_length`` of 10 MB (instrument lists exceed the 4 MB default).
- Per-RPC deadlines from the broker's recommendations (:data:`DEADLINES`).
- A client-side :class:`~engine.broker.tinvest.limiter.RateLimiter` per service.
- Retries with exponential backoff and jitter only where safe (:meth:`Transport.call`): reads on
  UNAVAILABLE, 70xxx, DEADLINE_EXCEEDED, CANCELLED and UNKNOWN; any call refused with 80002 (it was
  not executed) after waiting ``x-ratelimit-reset``. Writes (PostOrder, CancelOrder, ...) are never
  retried here: the broker adapter resolves an ambiguous order by looking its key up.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
from dataclasses import dataclass
from enum import Enum
from typing import Any

import grpc
import grpc.aio

from engine.broker.tinvest.errors import RateLimited, TInvestError, Unavailable, from_rpc_error
from engine.broker.tinvest.limiter import RateLimiter
from engine.broker.tinvest.proto import investapi_pb2_grpc as pb_grpc
from engine.model.redact import register_secret

log = logging.getLogger("avin.tinvest")

PROD_TARGET = "invest-public-api.tinkoff.ru:443"
SANDBOX_TARGET = "sandbox-invest-public-api.tinkoff.ru:443"
MAX_RECEIVE = 10 * 1024 * 1024
PACKAGE = "tinkoff.public.invest.api.contract.v1"

DEADLINES: dict[str, float] = {
    "GetAccounts": 0.3,
    "ShareBy": 0.3,
    "GetInstrumentBy": 0.3,
    "GetOrderState": 0.3,
    "GetCandles": 0.5,
    "GetLastPrices": 0.5,
    "GetOrders": 0.5,
    "Shares": 0.5,
    "PostOrder": 1.5,
    "CancelOrder": 1.5,
    "GetPortfolio": 1.5,
    "GetOperations": 1.5,
}
DEFAULT_DEADLINE = 1.0


class Retry(Enum):
    READ = "read"  # safe to repeat: transport errors, 70xxx, deadlines, 80002
    WRITE = "write"  # only 80002 (the request was refused before execution)


_TRANSIENT = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
    }
)


def is_loopback(target: str) -> bool:
    host = target.rsplit(":", 1)[0] if target.count(":") == 1 or "]" in target else target
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(slots=True)
class ChannelConfig:
    target: str = SANDBOX_TARGET
    token: str = ""
    app_name: str = "avin"
    insecure: bool | None = None  # None: insecure exactly for loopback targets
    deadline_scale: float = 1.0
    max_attempts: int = 4
    backoff_base: float = 0.2
    backoff_max: float = 5.0
    max_rate_wait: float = 65.0  # the longest 80002 reset we are willing to wait

    def __repr__(self) -> str:  # never show the token
        return f"ChannelConfig(target={self.target!r}, app_name={self.app_name!r})"


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: between half and all of ``base * 2**attempt``."""
    ceiling = min(cap, base * (2**attempt))
    return ceiling * random.uniform(0.5, 1.0)


class Transport:
    """One channel, its stubs and the call policy."""

    def __init__(self, config: ChannelConfig, *, limiter: RateLimiter | None = None) -> None:
        self.config = config
        self.limiter = limiter or RateLimiter()
        register_secret(config.token)
        insecure = config.insecure
        if insecure is None:
            insecure = is_loopback(config.target)
        if insecure and not is_loopback(config.target):
            raise ValueError(
                f"an insecure channel is allowed only to a loopback host, not {config.target}"
            )
        self.insecure = insecure
        self._channel: grpc.aio.Channel | None = None
        self._stubs: dict[str, Any] = {}
        self.last_limits: dict[str, str] = {}

    @property
    def channel(self) -> grpc.aio.Channel:
        if self._channel is None:
            options = [
                ("grpc.max_receive_message_length", MAX_RECEIVE),
                ("grpc.keepalive_time_ms", 30_000),
                ("grpc.keepalive_timeout_ms", 10_000),
            ]
            if self.insecure:
                self._channel = grpc.aio.insecure_channel(self.config.target, options=options)
            else:
                creds = grpc.ssl_channel_credentials()
                self._channel = grpc.aio.secure_channel(self.config.target, creds, options=options)
        return self._channel

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (
            ("authorization", f"Bearer {self.config.token}"),
            ("x-app-name", self.config.app_name),
        )

    def stub(self, service: str) -> Any:
        stub = self._stubs.get(service)
        if stub is None:
            stub = getattr(pb_grpc, f"{service}Stub")(self.channel)
            self._stubs[service] = stub
        return stub

    def deadline(self, method: str) -> float:
        return DEADLINES.get(method, DEFAULT_DEADLINE) * self.config.deadline_scale

    async def close(self) -> None:
        if self._channel is not None:
            channel, self._channel = self._channel, None
            self._stubs.clear()
            await channel.close(grace=None)

    async def call(
        self,
        service: str,
        method: str,
        request: Any,
        *,
        retry: Retry = Retry.READ,
        extra_action: str = "",
    ) -> Any:
        """One unary call with the policy above; raises a :class:`TInvestError`."""
        attempt = 0
        while True:
            await self.limiter.acquire(service, method)
            rpc = getattr(self.stub(service), method)
            try:
                call = rpc(request, metadata=self.metadata(), timeout=self.deadline(method))
                response = await call
                await self._note_limits(service, method, call)
                return response
            except grpc.RpcError as exc:
                error = from_rpc_error(exc, method=method, extra_action=extra_action)
            attempt += 1
            delay = self._retry_delay(error, exc_status=error.status, retry=retry, attempt=attempt)
            if delay is None:
                raise error
            if isinstance(error, RateLimited):
                self.limiter.pause(service, method, delay)
            log.warning(
                "T-Invest %s failed (%s%s); retry %d in %.2fs",
                method,
                error.status,
                f" {error.api_code}" if error.api_code else "",
                attempt,
                delay,
            )
            await asyncio.sleep(delay)

    def _retry_delay(
        self, error: TInvestError, *, exc_status: str, retry: Retry, attempt: int
    ) -> float | None:
        if attempt >= self.config.max_attempts:
            return None
        if isinstance(error, RateLimited) and error.api_code in ("80002", ""):
            reset = error.reset_seconds if error.reset_seconds is not None else 1.0
            if reset > self.config.max_rate_wait:
                return None
            return reset + random.uniform(0.0, 0.05)
        if retry is Retry.READ and isinstance(error, Unavailable):
            status = getattr(grpc.StatusCode, exc_status, None)
            if status in _TRANSIENT or error.api_code.startswith("7"):
                return backoff_delay(attempt - 1, self.config.backoff_base, self.config.backoff_max)
        return None

    async def _note_limits(self, service: str, method: str, call: Any) -> None:
        try:
            initial = await call.initial_metadata()
        except Exception:
            return
        limits = {k: v for k, v in (initial or ()) if str(k).startswith("x-ratelimit")}
        if not limits:
            return
        self.last_limits = {str(k): str(v) for k, v in limits.items()}
        remaining = self.last_limits.get("x-ratelimit-remaining", "")
        reset = self.last_limits.get("x-ratelimit-reset", "")
        if remaining == "0" and reset:
            with contextlib.suppress(ValueError):
                self.limiter.pause(service, method, float(reset))

    def open_stream(self, service: str, method: str, request: Any = None) -> Any:
        """Open a server or bidirectional stream with the auth metadata (no deadline)."""
        rpc = getattr(self.stub(service), method)
        if request is None:
            return rpc(metadata=self.metadata())
        return rpc(request, metadata=self.metadata())


__all__ = [
    "DEADLINES",
    "PROD_TARGET",
    "SANDBOX_TARGET",
    "ChannelConfig",
    "Retry",
    "Transport",
    "Unavailable",
    "backoff_delay",
    "is_loopback",
]
