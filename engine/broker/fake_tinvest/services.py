"""The fake server's unary services: users, instruments, market data, orders, operations, stop
orders and the sandbox, each answering from the exchange as the real service would."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import grpc
import grpc.aio

from engine.broker.fake_tinvest import market_data as md
from engine.broker.fake_tinvest import messages as msg
from engine.broker.fake_tinvest.host import REJECT_TEXT, Ctx, ServiceHost, Servicer, status_for
from engine.broker.fake_tinvest.messages import (
    CANDLE_WINDOW,
    INTERVAL_TIMEFRAME,
    SIDE,
    STOP_KIND,
    from_money,
    from_quotation,
    from_timestamp,
    money,
)
from engine.broker.fake_tinvest.messages import timestamp as ts_pb
from engine.broker.fake_tinvest.records import ExchangeError
from engine.broker.fake_tinvest.streams import (
    trading_status_code,
)
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.broker.tinvest.proto import investapi_pb2_grpc as pb_grpc
from engine.model import Instrument, OrderStatus, OrderType, Side

log = logging.getLogger("avin.fake_tinvest")

_STOP_STATUS_OPTION = {
    pb.STOP_ORDER_STATUS_EXECUTED: OrderStatus.FILLED,
    pb.STOP_ORDER_STATUS_CANCELED: OrderStatus.CANCELLED,
    pb.STOP_ORDER_STATUS_EXPIRED: OrderStatus.EXPIRED,
}


def _accounts_response(server: ServiceHost) -> pb.GetAccountsResponse:
    return pb.GetAccountsResponse(
        accounts=[
            pb.Account(
                id=a.id,
                type=pb.ACCOUNT_TYPE_TINKOFF,
                name=a.name,
                status=pb.ACCOUNT_STATUS_OPEN,
                opened_date=ts_pb(datetime(2024, 1, 1, tzinfo=UTC)),
                access_level=pb.ACCOUNT_ACCESS_LEVEL_FULL_ACCESS,
            )
            for a in server.exchange.accounts.values()
        ]
    )


class UsersService(Servicer, pb_grpc.UsersServiceServicer):
    async def GetAccounts(self, request: pb.GetAccountsRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetAccounts")
        return _accounts_response(self.s)

    async def GetInfo(self, request: pb.GetInfoRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetInfo")
        return pb.GetInfoResponse(tariff="fake", user_id="fake-user", qual_status=False)


class InstrumentsService(Servicer, pb_grpc.InstrumentsServiceServicer):
    async def Shares(self, request: pb.InstrumentsRequest, context: Ctx) -> Any:
        await self.s.guard(context, "Shares")
        return pb.SharesResponse(instruments=[msg.share(i) for i in self.s.exchange.instruments])

    async def _by(self, request: pb.InstrumentRequest, context: Ctx) -> Instrument | None:
        try:
            inst = self.s.exchange.instrument(request.id)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            return None
        if request.id_type == pb.INSTRUMENT_ID_TYPE_TICKER and request.class_code not in (
            "",
            inst.class_code,
        ):
            await self.s.fail(context, ExchangeError("50002", "instrument not found"))
        return inst

    async def ShareBy(self, request: pb.InstrumentRequest, context: Ctx) -> Any:
        await self.s.guard(context, "ShareBy")
        inst = await self._by(request, context)
        assert inst is not None
        return pb.ShareResponse(instrument=msg.share(inst))

    async def GetInstrumentBy(self, request: pb.InstrumentRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetInstrumentBy")
        inst = await self._by(request, context)
        assert inst is not None
        return pb.InstrumentResponse(instrument=msg.instrument(inst))

    async def FindInstrument(self, request: pb.FindInstrumentRequest, context: Ctx) -> Any:
        await self.s.guard(context, "FindInstrument")
        query = request.query.strip().lower()
        found = [
            msg.short(i)
            for i in self.s.exchange.instruments
            if query
            and (
                query in i.ticker.lower()
                or query in i.name.lower()
                or query in (i.uid.lower(), i.figi.lower())
            )
        ]
        return pb.FindInstrumentResponse(instruments=found)


class MarketDataService(Servicer, pb_grpc.MarketDataServiceServicer):
    async def GetCandles(self, request: pb.GetCandlesRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetCandles")
        try:
            inst = self.s.instrument(request.instrument_id, request.figi)
            tf = INTERVAL_TIMEFRAME.get(request.interval)
            if tf is None:
                raise ExchangeError("30013", "interval is not supported")
            begin = from_timestamp(getattr(request, "from"))
            end = from_timestamp(request.to)
            if end <= begin:
                raise ExchangeError("30015", "'to' must be after 'from'")
            if end - begin > CANDLE_WINDOW[tf]:
                raise ExchangeError("30014", "The maximum request period for the interval")
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        bars = self.s.exchange.candles(inst, tf, begin, end)
        if request.HasField("limit") and request.limit > 0:
            bars = bars[: request.limit]
        return pb.GetCandlesResponse(candles=[msg.historic(b, inst, ok) for b, ok in bars])

    async def GetLastPrices(self, request: pb.GetLastPricesRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetLastPrices")
        out = []
        for ident in [*request.instrument_id, *request.figi]:
            try:
                inst = self.s.exchange.instrument(ident)
            except ExchangeError:
                continue
            out.append(
                pb.LastPrice(
                    figi=inst.figi,
                    price=msg.quotation(self.s.exchange.last_price(inst)),
                    time=ts_pb(self.s.now()),
                    ticker=inst.ticker,
                    class_code=inst.class_code,
                    instrument_uid=inst.uid,
                    last_price_type=pb.LAST_PRICE_EXCHANGE,
                )
            )
        return pb.GetLastPricesResponse(last_prices=out)

    async def GetTradingStatus(self, request: pb.GetTradingStatusRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetTradingStatus")
        try:
            inst = self.s.instrument(request.instrument_id, request.figi)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        return self._status(inst)

    def _status(self, inst: Instrument) -> pb.GetTradingStatusResponse:
        trading = self.s.exchange.is_trading(inst)
        return pb.GetTradingStatusResponse(
            figi=inst.figi,
            trading_status=trading_status_code(trading),
            limit_order_available_flag=trading,
            market_order_available_flag=trading,
            api_trade_available_flag=True,
            instrument_uid=inst.uid,
            ticker=inst.ticker,
            class_code=inst.class_code,
        )

    async def GetTradingStatuses(self, request: pb.GetTradingStatusesRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetTradingStatuses")
        try:
            found = [self.s.exchange.instrument(ident) for ident in request.instrument_id]
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        return pb.GetTradingStatusesResponse(trading_statuses=[self._status(i) for i in found])

    async def GetOrderBook(self, request: pb.GetOrderBookRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetOrderBook")
        try:
            inst = self.s.instrument(request.instrument_id, request.figi)
            md.check_depth(request.depth)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        book = self.s.market_data.book(inst, request.depth)
        return md.order_book_response(self.s.market_data, book, inst)

    async def GetLastTrades(self, request: pb.GetLastTradesRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetLastTrades")
        try:
            inst = self.s.instrument(request.instrument_id, request.figi)
            begin, end = md.check_window(request)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        trades = self.s.market_data.last_trades(inst, begin, end)
        return pb.GetLastTradesResponse(trades=[md.trade(t, inst) for t in trades])


class OrdersService(Servicer, pb_grpc.OrdersServiceServicer):
    async def PostOrder(self, request: pb.PostOrderRequest, context: Ctx) -> Any:
        await self.s.guard(context, "PostOrder", order_key=request.order_id)
        faults = self.s.faults
        if faults.reject_next:
            code = faults.reject_next.pop(0)
            await self.s.abort(
                context, status_for(code), code, REJECT_TEXT.get(code, "Order rejected")
            )
        kind = OrderType.LIMIT if request.order_type == pb.ORDER_TYPE_LIMIT else OrderType.MARKET
        price = from_quotation(request.price) if kind is OrderType.LIMIT else None
        self.s.exchange.fill_delay_ticks = faults.fill_delay_ticks
        self.s.exchange.max_fill_lots = faults.max_fill_lots
        try:
            record, created = self.s.exchange.post_order(
                account_id=request.account_id,
                key=request.order_id,
                instrument_id=request.instrument_id or request.figi,
                side=SIDE.get(request.direction, Side.BUY),
                kind=kind,
                lots=int(request.quantity),
                price=price,
            )
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        if created and faults.slow_after_place > 0:
            await asyncio.sleep(faults.slow_after_place)  # placed; the answer comes too late
        if created and faults.take("internal_after_place"):
            await self.s.abort(context, grpc.StatusCode.INTERNAL, "70002", "Internal network error")
        estimate = self.s.exchange.estimated_commission(record)
        return msg.post_response(record, uuid.uuid4().hex, self.s.now(), estimate)

    async def CancelOrder(self, request: pb.CancelOrderRequest, context: Ctx) -> Any:
        await self.s.guard(context, "CancelOrder")
        by_key = request.order_id_type == pb.ORDER_ID_TYPE_REQUEST
        try:
            self.s.exchange.cancel(request.account_id, request.order_id, by_key=by_key)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        return pb.CancelOrderResponse(time=ts_pb(self.s.now()))

    async def GetOrderState(self, request: pb.GetOrderStateRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetOrderState")
        by_key = request.order_id_type == pb.ORDER_ID_TYPE_REQUEST
        try:
            record = self.s.exchange.find(request.account_id, request.order_id, by_key=by_key)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        return msg.order_state(record, self.s.exchange.estimated_commission(record))

    async def GetOrders(self, request: pb.GetOrdersRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetOrders")
        try:
            orders = self.s.exchange.active_orders(request.account_id)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        estimate = self.s.exchange.estimated_commission
        return pb.GetOrdersResponse(orders=[msg.order_state(o, estimate(o)) for o in orders])


class OperationsService(Servicer, pb_grpc.OperationsServiceServicer):
    async def GetPositions(self, request: pb.PositionsRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetPositions")
        try:
            acc = self.s.exchange.account(request.account_id)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        securities = []
        for uid, pieces in acc.positions.items():
            if pieces == 0:
                continue
            inst = self.s.exchange.instrument(uid)
            securities.append(
                pb.PositionsSecurities(
                    figi=inst.figi,
                    balance=pieces,
                    instrument_uid=uid,
                    ticker=inst.ticker,
                    class_code=inst.class_code,
                    instrument_type="share",
                )
            )
        return pb.PositionsResponse(
            money=[money(acc.cash)], securities=securities, account_id=acc.id
        )

    async def GetPortfolio(self, request: pb.PortfolioRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetPortfolio")
        try:
            acc = self.s.exchange.account(request.account_id)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        positions = []
        shares_total = Decimal(0)
        for uid, pieces in acc.positions.items():
            if pieces == 0:
                continue
            inst = self.s.exchange.instrument(uid)
            last = self.s.exchange.last_price(inst)
            shares_total += last * pieces
            positions.append(
                pb.PortfolioPosition(
                    figi=inst.figi,
                    instrument_type="share",
                    quantity=msg.quotation(pieces),
                    average_position_price=money(acc.avg_price.get(uid, Decimal(0))),
                    current_price=money(last),
                    quantity_lots=msg.quotation(Decimal(pieces) / inst.lot),
                    instrument_uid=uid,
                    ticker=inst.ticker,
                    class_code=inst.class_code,
                )
            )
        positions.append(
            pb.PortfolioPosition(
                figi="RUB000UTSTOM",
                instrument_type="currency",
                quantity=msg.quotation(acc.cash),
                current_price=money(1),
            )
        )
        return pb.PortfolioResponse(
            total_amount_shares=money(shares_total),
            total_amount_currencies=money(acc.cash),
            total_amount_portfolio=money(shares_total + acc.cash),
            positions=positions,
            account_id=acc.id,
        )


class StopOrdersService(Servicer, pb_grpc.StopOrdersServiceServicer):
    async def PostStopOrder(self, request: pb.PostStopOrderRequest, context: Ctx) -> Any:
        await self.s.guard(context, "PostStopOrder")
        if self.s.faults.reject_stop_next:
            code = self.s.faults.reject_stop_next.pop(0)
            await self.s.abort(
                context, status_for(code), code, REJECT_TEXT.get(code, "Order rejected")
            )
        kind = STOP_KIND.get(request.stop_order_type, OrderType.STOP)
        side = Side.BUY if request.direction == pb.STOP_ORDER_DIRECTION_BUY else Side.SELL
        price = from_quotation(request.price) if kind is OrderType.STOP_LIMIT else None
        self.s.exchange.fill_delay_ticks = self.s.faults.fill_delay_ticks
        self.s.exchange.max_fill_lots = self.s.faults.max_fill_lots
        try:
            record, created = self.s.exchange.post_order(
                account_id=request.account_id,
                key=request.order_id or str(uuid.uuid4()),
                instrument_id=request.instrument_id or request.figi,
                side=side,
                kind=kind,
                lots=int(request.quantity),
                price=price,
                stop_price=from_quotation(request.stop_price),
                stop=True,
            )
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        if request.expiration_type == pb.STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_DATE:
            record.expire = from_timestamp(request.expire_date)
        if created and self.s.faults.take("internal_after_place"):
            await self.s.abort(context, grpc.StatusCode.INTERNAL, "70002", "Internal network error")
        return pb.PostStopOrderResponse(
            stop_order_id=record.exchange_id,
            order_request_id=record.key,
            response_metadata=pb.ResponseMetadata(
                tracking_id=uuid.uuid4().hex, server_time=ts_pb(self.s.now())
            ),
        )

    async def GetStopOrders(self, request: pb.GetStopOrdersRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetStopOrders")
        try:
            self.s.exchange.account(request.account_id)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        records = [
            o for o in self.s.exchange.orders.values() if o.stop and o.account == request.account_id
        ]
        if request.status in (pb.STOP_ORDER_STATUS_UNSPECIFIED, pb.STOP_ORDER_STATUS_ACTIVE):
            records = [o for o in records if o.order.is_open]
        elif request.status != pb.STOP_ORDER_STATUS_ALL:
            wanted = _STOP_STATUS_OPTION.get(request.status)
            records = [o for o in records if o.order.status is wanted]
        return pb.GetStopOrdersResponse(stop_orders=[msg.stop_order(o) for o in records])

    async def CancelStopOrder(self, request: pb.CancelStopOrderRequest, context: Ctx) -> Any:
        await self.s.guard(context, "CancelStopOrder")
        try:
            self.s.exchange.cancel(request.account_id, request.stop_order_id, stop=True)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        return pb.CancelStopOrderResponse(time=ts_pb(self.s.now()))


class SandboxService(Servicer, pb_grpc.SandboxServiceServicer):
    async def OpenSandboxAccount(self, request: pb.OpenSandboxAccountRequest, context: Ctx) -> Any:
        await self.s.guard(context, "OpenSandboxAccount")
        name = request.name if request.HasField("name") else ""
        return pb.OpenSandboxAccountResponse(account_id=self.s.exchange.open_account(name=name))

    async def GetSandboxAccounts(self, request: pb.GetAccountsRequest, context: Ctx) -> Any:
        await self.s.guard(context, "GetSandboxAccounts")
        return _accounts_response(self.s)

    async def CloseSandboxAccount(
        self, request: pb.CloseSandboxAccountRequest, context: Ctx
    ) -> Any:
        await self.s.guard(context, "CloseSandboxAccount")
        try:
            self.s.exchange.close_account(request.account_id)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        return pb.CloseSandboxAccountResponse()

    async def SandboxPayIn(self, request: pb.SandboxPayInRequest, context: Ctx) -> Any:
        await self.s.guard(context, "SandboxPayIn")
        try:
            acc = self.s.exchange.account(request.account_id)
        except ExchangeError as exc:
            await self.s.fail(context, exc)
            raise
        acc.cash += from_money(request.amount)
        return pb.SandboxPayInResponse(balance=money(acc.cash))


__all__ = [
    "InstrumentsService",
    "MarketDataService",
    "OperationsService",
    "OrdersService",
    "SandboxService",
    "StopOrdersService",
    "UsersService",
]
