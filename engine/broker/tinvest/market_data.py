"""Market data of the T-Invest adapter: candles, subscriptions, order books, trading status."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from engine.broker.base import UNKNOWN_STATUS, TradingStatus
from engine.broker.tinvest import market_depth
from engine.broker.tinvest.accounts import Accounts
from engine.broker.tinvest.convert import CANDLE_INTERVAL, CANDLE_WINDOW, historic_to_bar
from engine.broker.tinvest.errors import RequestRejected, TInvestError
from engine.broker.tinvest.numbers import from_quotation, timestamp
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.model import Bar, Instrument, MarketTrade, OrderBook, TimeFrame, as_utc

log = logging.getLogger("avin.tinvest")

STATUS_TTL = 30.0  # seconds a GetTradingStatus answer is used without asking again


class MarketData(Accounts):
    """GetCandles (windowed), the market-data stream's subscriptions, GetLastPrices and the
    trading status (stream first, GetTradingStatus cached for ``STATUS_TTL``)."""

    # --- candles ----------------------------------------------------------------------------

    async def _candle_chunk(
        self, inst: Instrument, tf: TimeFrame, begin: datetime, end: datetime
    ) -> tuple[list[Bar], bool]:
        """Complete bars of one window and whether the window had an incomplete candle."""
        request = pb.GetCandlesRequest(
            instrument_id=inst.uid,
            interval=CANDLE_INTERVAL[tf],
            to=timestamp(end),
            **{"from": timestamp(begin)},
        )
        try:
            resp = await self._call("MarketDataService", "GetCandles", request)
        except RequestRejected as exc:
            span = end - begin
            if exc.api_code != "30014" or span <= (tf.step or timedelta(days=31)) * 2:
                raise
            # the server's window is shorter than ours: ask for the two halves
            log.info("GetCandles %s %s: window too long (30014); splitting", inst.code, tf.value)
            middle = begin + span / 2
            first, partial_first = await self._candle_chunk(inst, tf, begin, middle)
            second, partial_second = await self._candle_chunk(inst, tf, middle, end)
            return first + second, partial_first or partial_second
        bars = [historic_to_bar(c) for c in resp.candles if c.is_complete]
        partial = any(not c.is_complete for c in resp.candles)
        return bars, partial

    async def candles(
        self, instrument: Instrument, timeframe: TimeFrame, begin: datetime, end: datetime
    ) -> list[Bar]:
        """Complete bars with ``begin <= ts < end``, in windows the API accepts."""
        begin, end = as_utc(begin), as_utc(end)
        window = CANDLE_WINDOW[timeframe]
        found: dict[datetime, Bar] = {}
        start = begin
        while start < end:
            stop = min(end, start + window)
            bars, _ = await self._candle_chunk(instrument, timeframe, start, stop)
            for bar in bars:
                if begin <= bar.ts < end:
                    found[bar.ts] = bar
            start = stop
        return [found[ts] for ts in sorted(found)]

    async def _backfill(self, inst: Instrument, tf: TimeFrame, since: datetime) -> list[Bar]:
        """Closed bars from ``since`` up to now (for the market stream after a reconnect)."""
        window = CANDLE_WINDOW[tf]
        found: dict[datetime, Bar] = {}
        start = since
        for _ in range(400):  # bounded: at most 400 windows (over a year of 1-minute bars)
            stop = start + window
            bars, partial = await self._candle_chunk(inst, tf, start, stop)
            for bar in bars:
                found[bar.ts] = bar
            if partial or stop >= datetime.now(UTC) or (not bars and start > since):
                break
            start = stop
        return [found[ts] for ts in sorted(found)]

    async def subscribe_bars(self, instrument: Instrument, timeframe: TimeFrame) -> None:
        self._remember(instrument)
        await self.market.subscribe_bars(instrument, timeframe)

    async def subscribe_prices(self, instrument: Instrument) -> None:
        """Last prices and trading statuses; the status is read once with GetTradingStatus
        too, so the pre-trade check knows it before the stream says anything."""
        self._remember(instrument)
        await self.market.subscribe_prices(instrument)
        try:
            await self.refresh_trading_status(instrument)
        except TInvestError as exc:
            log.info("trading status of %s: %s", instrument.code, exc)

    async def unsubscribe(self, instrument: Instrument) -> None:
        await self.market.unsubscribe(instrument)
        if any(
            s.waiting and s.local and self._stop_code(s) == instrument.code
            for s in self._stops.values()
        ):
            await self.market.subscribe_prices(instrument)  # a local stop still watches it

    # --- order books and the tape (MarketDepthFeed; engine/broker/tinvest/market_depth.py) ---

    async def subscribe_order_book(self, instrument: Instrument, depth: int) -> None:
        self._remember(instrument)
        await self.market.subscribe_order_book(instrument, market_depth.check_depth(depth))

    async def unsubscribe_order_book(self, instrument: Instrument) -> None:
        await self.market.unsubscribe_order_book(instrument)

    async def subscribe_trades(self, instrument: Instrument) -> None:
        self._remember(instrument)
        await self.market.subscribe_trades(instrument)

    async def order_book(self, instrument: Instrument, depth: int) -> OrderBook:
        return await market_depth.order_book(self._call, instrument, depth)

    async def last_trades(
        self, instrument: Instrument, begin: datetime, end: datetime
    ) -> list[MarketTrade]:
        """GetLastTrades: what the service still has of ``begin <= ts < end`` (the last hour)."""
        return await market_depth.last_trades(self._call, instrument, begin, end)

    async def last_trade_time(self, instrument: Instrument) -> datetime | None:
        """When ``instrument`` last traded (GetLastPrices), None when the service has no price."""
        return await market_depth.last_trade_time(self._call, instrument)

    async def last_prices(self, instruments: list[Instrument]) -> dict[str, Decimal]:
        resp = await self._call(
            "MarketDataService",
            "GetLastPrices",
            pb.GetLastPricesRequest(instrument_id=[i.uid for i in instruments]),
        )
        by_uid = {i.uid: i for i in instruments}
        return {
            by_uid[lp.instrument_uid].code: from_quotation(lp.price)
            for lp in resp.last_prices
            if lp.instrument_uid in by_uid
        }

    async def trading_status(self, instrument: Instrument) -> str:
        """The instrument's status name from GetTradingStatus (``NORMAL_TRADING``...)."""
        return (await self.refresh_trading_status(instrument)).status

    async def refresh_trading_status(self, instrument: Instrument) -> TradingStatus:
        """Ask GetTradingStatus and keep the answer for :meth:`market_status`."""
        resp = await self._call(
            "MarketDataService",
            "GetTradingStatus",
            pb.GetTradingStatusRequest(instrument_id=instrument.uid),
        )
        self._remember(instrument)
        status = TradingStatus(
            limit=bool(resp.limit_order_available_flag),
            market=bool(resp.market_order_available_flag),
            status=_status_name(resp.trading_status),
            source="GetTradingStatus",
        )
        self._status[instrument.uid] = (status, time.monotonic())
        return status

    def market_status(self, instrument: str) -> TradingStatus:
        """Whether ``instrument`` (a code) trades now: the market-data stream's trading status
        while the stream is up, else the last GetTradingStatus answer (asked again in the
        background when older than ``STATUS_TTL``); unknown for an instrument never seen."""
        inst = self._by_code.get(instrument.upper())
        if inst is None:
            return UNKNOWN_STATUS
        live = self.market.trading_flags.get(inst.uid)
        if live is not None and self.market.connected.is_set():
            code, limit, market = live
            return TradingStatus(limit, market, _status_name(code), "stream")
        cached = self._status.get(inst.uid)
        if cached is None or time.monotonic() - cached[1] > STATUS_TTL:
            self._refresh_soon(inst)
        if cached is not None:
            return cached[0]
        if live is not None:
            code, limit, market = live
            return TradingStatus(limit, market, _status_name(code), "stream (disconnected)")
        return UNKNOWN_STATUS

    def _refresh_soon(self, inst: Instrument) -> None:
        task = self._status_tasks.get(inst.uid)
        if task is not None and not task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # called outside the loop: nothing to schedule on

        async def refresh() -> None:
            try:
                await self.refresh_trading_status(inst)
            except TInvestError as exc:
                log.info("trading status of %s: %s", inst.code, exc)

        self._status_tasks[inst.uid] = loop.create_task(refresh(), name="tinvest-status")

    # --- orders -----------------------------------------------------------------------------


def _status_name(code: int) -> str:
    try:
        name = str(pb.SecurityTradingStatus.Name(code))
    except ValueError:
        return str(code)
    return name.removeprefix("SECURITY_TRADING_STATUS_")
