"""The T-Invest order-state stream, with a polling fallback while it is down.

See :mod:`engine.broker.tinvest.streams` for the reconnect rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import grpc.aio

from engine.broker.base import ConnectionEvent
from engine.broker.tinvest.channel import Transport, backoff_delay
from engine.broker.tinvest.errors import AuthenticationError, TInvestError, from_rpc_error
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.broker.tinvest.streams import Emit, StreamPolicy, StreamStalled, StreamStats, now

log = logging.getLogger("avin.tinvest.streams")

StateHandler = Callable[[pb.OrderStateStreamResponse.OrderState], Awaitable[None]]
Poll = Callable[[], Awaitable[None]]


class OrderStream:
    """OrderStateStream for the given accounts, with a polling fallback while it is down."""

    def __init__(
        self,
        transport: Transport,
        emit: Emit,
        on_state: StateHandler,
        poll: Poll,
        policy: StreamPolicy | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        self.transport = transport
        self.emit = emit
        self.on_state = on_state
        self.poll = poll
        self.policy = policy or StreamPolicy()
        self.poll_interval = poll_interval
        self.accounts: set[str] = set()
        self.connected = asyncio.Event()
        self.stats = StreamStats()
        self.polls = 0
        self._call: Any = None
        self._task: asyncio.Task[None] | None = None
        self._poller: asyncio.Task[None] | None = None
        self._restart = False
        self._closing = False

    def start(self, accounts: set[str]) -> None:
        self.accounts |= accounts
        if not self.accounts:
            return  # opened with the first account an order goes to
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="tinvest-orders")

    def add_account(self, account: str) -> None:
        if account and account not in self.accounts:
            self.accounts.add(account)
            if self._call is not None:
                self._restart = True
                self._call.cancel()  # reopen with the new account list
            elif self._task is None:
                self.start(set())

    async def close(self) -> None:
        self._closing = True
        if self._call is not None:  # first end the read, so that nothing can swallow the cancel
            self._call.cancel()
            self._call = None
        for task in (self._task, self._poller):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._poller = None

    def _start_polling(self) -> None:
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll_loop())

    def _stop_polling(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None

    async def _poll_loop(self) -> None:
        while True:
            try:
                await self.poll()
                self.polls += 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep polling whatever one round did
                log.warning("order polling failed: %s", exc)
            await asyncio.sleep(self.poll_interval)

    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            try:
                await self._session()
                reason = "stream ended"
                if self._closing:
                    return
                if self._restart:
                    self._restart = False
                    self.connected.clear()
                    continue  # reopen at once with the new account list
            except asyncio.CancelledError:
                raise
            except AuthenticationError as exc:
                self.emit(ConnectionEvent(False, now(), exc.describe()))
                return
            except StreamStalled:
                self.stats.stalls += 1
                reason = "order stream stalled (no pings)"
            except TInvestError as exc:
                reason = exc.describe()
            self.stats.drops += 1
            self.stats.last_error = reason
            if self.connected.is_set():
                attempt = 0
            self.connected.clear()
            self._call = None
            self._start_polling()
            delay = backoff_delay(attempt, self.policy.backoff_base, self.policy.backoff_max)
            attempt += 1
            log.warning("order stream down (%s); polling, reconnecting in %.2fs", reason, delay)
            await asyncio.sleep(delay)

    async def _session(self) -> None:
        request = pb.OrderStateStreamRequest(
            accounts=sorted(self.accounts),
            ping_delay_millis=self.policy.ping_delay_ms,
        )
        call = self.transport.open_stream("OrdersStreamService", "OrderStateStream", request)
        self._call = call
        while True:
            try:
                response = await asyncio.wait_for(call.read(), timeout=self.policy.stall_after)
            except TimeoutError:
                call.cancel()
                raise StreamStalled() from None
            except grpc.RpcError as exc:
                if self._restart:
                    return
                raise from_rpc_error(exc, method="OrderStateStream") from None
            except asyncio.CancelledError:
                if self._restart and not self._closing:  # our cancel() of the call, not the task
                    return
                raise
            if response is grpc.aio.EOF:
                return
            kind = response.WhichOneof("payload")
            if kind == "subscription":
                if not self.connected.is_set():
                    self.connected.set()
                    self.stats.connects += 1
                    self._stop_polling()
                    with contextlib.suppress(Exception):
                        await self.poll()  # catch up with what changed while we were away
            elif kind == "order_state":
                try:
                    await self.on_state(response.order_state)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # one bad message must not take the stream down
                    log.error("order state %s: %s", response.order_state.order_id, exc)
