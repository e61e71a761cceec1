import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InstrumentType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTRUMENT_TYPE_UNSPECIFIED: _ClassVar[InstrumentType]
    INSTRUMENT_TYPE_BOND: _ClassVar[InstrumentType]
    INSTRUMENT_TYPE_SHARE: _ClassVar[InstrumentType]
    INSTRUMENT_TYPE_CURRENCY: _ClassVar[InstrumentType]
    INSTRUMENT_TYPE_ETF: _ClassVar[InstrumentType]
    INSTRUMENT_TYPE_FUTURES: _ClassVar[InstrumentType]
    INSTRUMENT_TYPE_SP: _ClassVar[InstrumentType]
    INSTRUMENT_TYPE_OPTION: _ClassVar[InstrumentType]
    INSTRUMENT_TYPE_CLEARING_CERTIFICATE: _ClassVar[InstrumentType]
    INSTRUMENT_TYPE_INDEX: _ClassVar[InstrumentType]
    INSTRUMENT_TYPE_COMMODITY: _ClassVar[InstrumentType]

class InstrumentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTRUMENT_STATUS_UNSPECIFIED: _ClassVar[InstrumentStatus]
    INSTRUMENT_STATUS_BASE: _ClassVar[InstrumentStatus]
    INSTRUMENT_STATUS_ALL: _ClassVar[InstrumentStatus]

class SecurityTradingStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SECURITY_TRADING_STATUS_UNSPECIFIED: _ClassVar[SecurityTradingStatus]
    SECURITY_TRADING_STATUS_NOT_AVAILABLE_FOR_TRADING: _ClassVar[SecurityTradingStatus]
    SECURITY_TRADING_STATUS_OPENING_PERIOD: _ClassVar[SecurityTradingStatus]
    SECURITY_TRADING_STATUS_CLOSING_PERIOD: _ClassVar[SecurityTradingStatus]
    SECURITY_TRADING_STATUS_BREAK_IN_TRADING: _ClassVar[SecurityTradingStatus]
    SECURITY_TRADING_STATUS_NORMAL_TRADING: _ClassVar[SecurityTradingStatus]
    SECURITY_TRADING_STATUS_CLOSING_AUCTION: _ClassVar[SecurityTradingStatus]
    SECURITY_TRADING_STATUS_DARK_POOL_AUCTION: _ClassVar[SecurityTradingStatus]
    SECURITY_TRADING_STATUS_DISCRETE_AUCTION: _ClassVar[SecurityTradingStatus]
    SECURITY_TRADING_STATUS_OPENING_AUCTION_PERIOD: _ClassVar[SecurityTradingStatus]
    SECURITY_TRADING_STATUS_TRADING_AT_CLOSING_AUCTION_PRICE: _ClassVar[SecurityTradingStatus]
    SECURITY_TRADING_STATUS_SESSION_ASSIGNED: _ClassVar[SecurityTradingStatus]
    SECURITY_TRADING_STATUS_SESSION_CLOSE: _ClassVar[SecurityTradingStatus]
    SECURITY_TRADING_STATUS_SESSION_OPEN: _ClassVar[SecurityTradingStatus]
    SECURITY_TRADING_STATUS_DEALER_NORMAL_TRADING: _ClassVar[SecurityTradingStatus]
    SECURITY_TRADING_STATUS_DEALER_BREAK_IN_TRADING: _ClassVar[SecurityTradingStatus]
    SECURITY_TRADING_STATUS_DEALER_NOT_AVAILABLE_FOR_TRADING: _ClassVar[SecurityTradingStatus]

class PriceType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRICE_TYPE_UNSPECIFIED: _ClassVar[PriceType]
    PRICE_TYPE_POINT: _ClassVar[PriceType]
    PRICE_TYPE_CURRENCY: _ClassVar[PriceType]

class ResultSubscriptionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESULT_SUBSCRIPTION_STATUS_UNSPECIFIED: _ClassVar[ResultSubscriptionStatus]
    RESULT_SUBSCRIPTION_STATUS_OK: _ClassVar[ResultSubscriptionStatus]
    RESULT_SUBSCRIPTION_STATUS_ERROR: _ClassVar[ResultSubscriptionStatus]

class RealExchange(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REAL_EXCHANGE_UNSPECIFIED: _ClassVar[RealExchange]
    REAL_EXCHANGE_MOEX: _ClassVar[RealExchange]
    REAL_EXCHANGE_RTS: _ClassVar[RealExchange]
    REAL_EXCHANGE_OTC: _ClassVar[RealExchange]
    REAL_EXCHANGE_DEALER: _ClassVar[RealExchange]

class InstrumentIdType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTRUMENT_ID_UNSPECIFIED: _ClassVar[InstrumentIdType]
    INSTRUMENT_ID_TYPE_FIGI: _ClassVar[InstrumentIdType]
    INSTRUMENT_ID_TYPE_TICKER: _ClassVar[InstrumentIdType]
    INSTRUMENT_ID_TYPE_UID: _ClassVar[InstrumentIdType]
    INSTRUMENT_ID_TYPE_POSITION_UID: _ClassVar[InstrumentIdType]

class ShareType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SHARE_TYPE_UNSPECIFIED: _ClassVar[ShareType]
    SHARE_TYPE_COMMON: _ClassVar[ShareType]
    SHARE_TYPE_PREFERRED: _ClassVar[ShareType]
    SHARE_TYPE_ADR: _ClassVar[ShareType]
    SHARE_TYPE_GDR: _ClassVar[ShareType]
    SHARE_TYPE_MLP: _ClassVar[ShareType]
    SHARE_TYPE_NY_REG_SHRS: _ClassVar[ShareType]
    SHARE_TYPE_CLOSED_END_FUND: _ClassVar[ShareType]
    SHARE_TYPE_REIT: _ClassVar[ShareType]

class InstrumentExchangeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTRUMENT_EXCHANGE_UNSPECIFIED: _ClassVar[InstrumentExchangeType]
    INSTRUMENT_EXCHANGE_DEALER: _ClassVar[InstrumentExchangeType]

class SubscriptionAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBSCRIPTION_ACTION_UNSPECIFIED: _ClassVar[SubscriptionAction]
    SUBSCRIPTION_ACTION_SUBSCRIBE: _ClassVar[SubscriptionAction]
    SUBSCRIPTION_ACTION_UNSUBSCRIBE: _ClassVar[SubscriptionAction]

class SubscriptionInterval(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBSCRIPTION_INTERVAL_UNSPECIFIED: _ClassVar[SubscriptionInterval]
    SUBSCRIPTION_INTERVAL_ONE_MINUTE: _ClassVar[SubscriptionInterval]
    SUBSCRIPTION_INTERVAL_FIVE_MINUTES: _ClassVar[SubscriptionInterval]
    SUBSCRIPTION_INTERVAL_FIFTEEN_MINUTES: _ClassVar[SubscriptionInterval]
    SUBSCRIPTION_INTERVAL_ONE_HOUR: _ClassVar[SubscriptionInterval]
    SUBSCRIPTION_INTERVAL_ONE_DAY: _ClassVar[SubscriptionInterval]
    SUBSCRIPTION_INTERVAL_2_MIN: _ClassVar[SubscriptionInterval]
    SUBSCRIPTION_INTERVAL_3_MIN: _ClassVar[SubscriptionInterval]
    SUBSCRIPTION_INTERVAL_10_MIN: _ClassVar[SubscriptionInterval]
    SUBSCRIPTION_INTERVAL_30_MIN: _ClassVar[SubscriptionInterval]
    SUBSCRIPTION_INTERVAL_2_HOUR: _ClassVar[SubscriptionInterval]
    SUBSCRIPTION_INTERVAL_4_HOUR: _ClassVar[SubscriptionInterval]
    SUBSCRIPTION_INTERVAL_WEEK: _ClassVar[SubscriptionInterval]
    SUBSCRIPTION_INTERVAL_MONTH: _ClassVar[SubscriptionInterval]

class SubscriptionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBSCRIPTION_STATUS_UNSPECIFIED: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_SUCCESS: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_INSTRUMENT_NOT_FOUND: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_SUBSCRIPTION_ACTION_IS_INVALID: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_DEPTH_IS_INVALID: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_INTERVAL_IS_INVALID: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_LIMIT_IS_EXCEEDED: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_INTERNAL_ERROR: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_TOO_MANY_REQUESTS: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_SUBSCRIPTION_NOT_FOUND: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_SOURCE_IS_INVALID: _ClassVar[SubscriptionStatus]

class TradeSourceType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRADE_SOURCE_UNSPECIFIED: _ClassVar[TradeSourceType]
    TRADE_SOURCE_EXCHANGE: _ClassVar[TradeSourceType]
    TRADE_SOURCE_DEALER: _ClassVar[TradeSourceType]
    TRADE_SOURCE_ALL: _ClassVar[TradeSourceType]

class TradeDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRADE_DIRECTION_UNSPECIFIED: _ClassVar[TradeDirection]
    TRADE_DIRECTION_BUY: _ClassVar[TradeDirection]
    TRADE_DIRECTION_SELL: _ClassVar[TradeDirection]

class CandleInterval(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CANDLE_INTERVAL_UNSPECIFIED: _ClassVar[CandleInterval]
    CANDLE_INTERVAL_1_MIN: _ClassVar[CandleInterval]
    CANDLE_INTERVAL_5_MIN: _ClassVar[CandleInterval]
    CANDLE_INTERVAL_15_MIN: _ClassVar[CandleInterval]
    CANDLE_INTERVAL_HOUR: _ClassVar[CandleInterval]
    CANDLE_INTERVAL_DAY: _ClassVar[CandleInterval]
    CANDLE_INTERVAL_2_MIN: _ClassVar[CandleInterval]
    CANDLE_INTERVAL_3_MIN: _ClassVar[CandleInterval]
    CANDLE_INTERVAL_10_MIN: _ClassVar[CandleInterval]
    CANDLE_INTERVAL_30_MIN: _ClassVar[CandleInterval]
    CANDLE_INTERVAL_2_HOUR: _ClassVar[CandleInterval]
    CANDLE_INTERVAL_4_HOUR: _ClassVar[CandleInterval]
    CANDLE_INTERVAL_WEEK: _ClassVar[CandleInterval]
    CANDLE_INTERVAL_MONTH: _ClassVar[CandleInterval]
    CANDLE_INTERVAL_5_SEC: _ClassVar[CandleInterval]
    CANDLE_INTERVAL_10_SEC: _ClassVar[CandleInterval]
    CANDLE_INTERVAL_30_SEC: _ClassVar[CandleInterval]

class CandleSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CANDLE_SOURCE_UNSPECIFIED: _ClassVar[CandleSource]
    CANDLE_SOURCE_EXCHANGE: _ClassVar[CandleSource]
    CANDLE_SOURCE_DEALER_WEEKEND: _ClassVar[CandleSource]

class OrderBookType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDERBOOK_TYPE_UNSPECIFIED: _ClassVar[OrderBookType]
    ORDERBOOK_TYPE_EXCHANGE: _ClassVar[OrderBookType]
    ORDERBOOK_TYPE_DEALER: _ClassVar[OrderBookType]
    ORDERBOOK_TYPE_ALL: _ClassVar[OrderBookType]

class LastPriceType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LAST_PRICE_UNSPECIFIED: _ClassVar[LastPriceType]
    LAST_PRICE_EXCHANGE: _ClassVar[LastPriceType]
    LAST_PRICE_DEALER: _ClassVar[LastPriceType]

class OrderDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_DIRECTION_UNSPECIFIED: _ClassVar[OrderDirection]
    ORDER_DIRECTION_BUY: _ClassVar[OrderDirection]
    ORDER_DIRECTION_SELL: _ClassVar[OrderDirection]

class OrderType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_TYPE_UNSPECIFIED: _ClassVar[OrderType]
    ORDER_TYPE_LIMIT: _ClassVar[OrderType]
    ORDER_TYPE_MARKET: _ClassVar[OrderType]
    ORDER_TYPE_BESTPRICE: _ClassVar[OrderType]

class OrderExecutionReportStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXECUTION_REPORT_STATUS_UNSPECIFIED: _ClassVar[OrderExecutionReportStatus]
    EXECUTION_REPORT_STATUS_FILL: _ClassVar[OrderExecutionReportStatus]
    EXECUTION_REPORT_STATUS_REJECTED: _ClassVar[OrderExecutionReportStatus]
    EXECUTION_REPORT_STATUS_CANCELLED: _ClassVar[OrderExecutionReportStatus]
    EXECUTION_REPORT_STATUS_NEW: _ClassVar[OrderExecutionReportStatus]
    EXECUTION_REPORT_STATUS_PARTIALLYFILL: _ClassVar[OrderExecutionReportStatus]

class TimeInForceType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIME_IN_FORCE_UNSPECIFIED: _ClassVar[TimeInForceType]
    TIME_IN_FORCE_DAY: _ClassVar[TimeInForceType]
    TIME_IN_FORCE_FILL_AND_KILL: _ClassVar[TimeInForceType]
    TIME_IN_FORCE_FILL_OR_KILL: _ClassVar[TimeInForceType]

class OrderIdType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_ID_TYPE_UNSPECIFIED: _ClassVar[OrderIdType]
    ORDER_ID_TYPE_EXCHANGE: _ClassVar[OrderIdType]
    ORDER_ID_TYPE_REQUEST: _ClassVar[OrderIdType]

class StopOrderDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STOP_ORDER_DIRECTION_UNSPECIFIED: _ClassVar[StopOrderDirection]
    STOP_ORDER_DIRECTION_BUY: _ClassVar[StopOrderDirection]
    STOP_ORDER_DIRECTION_SELL: _ClassVar[StopOrderDirection]

class StopOrderExpirationType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STOP_ORDER_EXPIRATION_TYPE_UNSPECIFIED: _ClassVar[StopOrderExpirationType]
    STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_CANCEL: _ClassVar[StopOrderExpirationType]
    STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_DATE: _ClassVar[StopOrderExpirationType]

class StopOrderType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STOP_ORDER_TYPE_UNSPECIFIED: _ClassVar[StopOrderType]
    STOP_ORDER_TYPE_TAKE_PROFIT: _ClassVar[StopOrderType]
    STOP_ORDER_TYPE_STOP_LOSS: _ClassVar[StopOrderType]
    STOP_ORDER_TYPE_STOP_LIMIT: _ClassVar[StopOrderType]

class StopOrderStatusOption(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STOP_ORDER_STATUS_UNSPECIFIED: _ClassVar[StopOrderStatusOption]
    STOP_ORDER_STATUS_ALL: _ClassVar[StopOrderStatusOption]
    STOP_ORDER_STATUS_ACTIVE: _ClassVar[StopOrderStatusOption]
    STOP_ORDER_STATUS_EXECUTED: _ClassVar[StopOrderStatusOption]
    STOP_ORDER_STATUS_CANCELED: _ClassVar[StopOrderStatusOption]
    STOP_ORDER_STATUS_EXPIRED: _ClassVar[StopOrderStatusOption]

class ExchangeOrderType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXCHANGE_ORDER_TYPE_UNSPECIFIED: _ClassVar[ExchangeOrderType]
    EXCHANGE_ORDER_TYPE_MARKET: _ClassVar[ExchangeOrderType]
    EXCHANGE_ORDER_TYPE_LIMIT: _ClassVar[ExchangeOrderType]

class TakeProfitType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TAKE_PROFIT_TYPE_UNSPECIFIED: _ClassVar[TakeProfitType]
    TAKE_PROFIT_TYPE_REGULAR: _ClassVar[TakeProfitType]
    TAKE_PROFIT_TYPE_TRAILING: _ClassVar[TakeProfitType]

class TrailingValueType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRAILING_VALUE_UNSPECIFIED: _ClassVar[TrailingValueType]
    TRAILING_VALUE_ABSOLUTE: _ClassVar[TrailingValueType]
    TRAILING_VALUE_RELATIVE: _ClassVar[TrailingValueType]

class TrailingStopStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRAILING_STOP_UNSPECIFIED: _ClassVar[TrailingStopStatus]
    TRAILING_STOP_ACTIVE: _ClassVar[TrailingStopStatus]
    TRAILING_STOP_ACTIVATED: _ClassVar[TrailingStopStatus]

class AccountType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_TYPE_UNSPECIFIED: _ClassVar[AccountType]
    ACCOUNT_TYPE_TINKOFF: _ClassVar[AccountType]
    ACCOUNT_TYPE_TINKOFF_IIS: _ClassVar[AccountType]
    ACCOUNT_TYPE_INVEST_BOX: _ClassVar[AccountType]
    ACCOUNT_TYPE_INVEST_FUND: _ClassVar[AccountType]
    ACCOUNT_TYPE_DEBIT: _ClassVar[AccountType]
    ACCOUNT_TYPE_SAVING: _ClassVar[AccountType]

class AccountStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_STATUS_UNSPECIFIED: _ClassVar[AccountStatus]
    ACCOUNT_STATUS_NEW: _ClassVar[AccountStatus]
    ACCOUNT_STATUS_OPEN: _ClassVar[AccountStatus]
    ACCOUNT_STATUS_CLOSED: _ClassVar[AccountStatus]
    ACCOUNT_STATUS_ALL: _ClassVar[AccountStatus]

class AccessLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_ACCESS_LEVEL_UNSPECIFIED: _ClassVar[AccessLevel]
    ACCOUNT_ACCESS_LEVEL_FULL_ACCESS: _ClassVar[AccessLevel]
    ACCOUNT_ACCESS_LEVEL_READ_ONLY: _ClassVar[AccessLevel]
    ACCOUNT_ACCESS_LEVEL_NO_ACCESS: _ClassVar[AccessLevel]
INSTRUMENT_TYPE_UNSPECIFIED: InstrumentType
INSTRUMENT_TYPE_BOND: InstrumentType
INSTRUMENT_TYPE_SHARE: InstrumentType
INSTRUMENT_TYPE_CURRENCY: InstrumentType
INSTRUMENT_TYPE_ETF: InstrumentType
INSTRUMENT_TYPE_FUTURES: InstrumentType
INSTRUMENT_TYPE_SP: InstrumentType
INSTRUMENT_TYPE_OPTION: InstrumentType
INSTRUMENT_TYPE_CLEARING_CERTIFICATE: InstrumentType
INSTRUMENT_TYPE_INDEX: InstrumentType
INSTRUMENT_TYPE_COMMODITY: InstrumentType
INSTRUMENT_STATUS_UNSPECIFIED: InstrumentStatus
INSTRUMENT_STATUS_BASE: InstrumentStatus
INSTRUMENT_STATUS_ALL: InstrumentStatus
SECURITY_TRADING_STATUS_UNSPECIFIED: SecurityTradingStatus
SECURITY_TRADING_STATUS_NOT_AVAILABLE_FOR_TRADING: SecurityTradingStatus
SECURITY_TRADING_STATUS_OPENING_PERIOD: SecurityTradingStatus
SECURITY_TRADING_STATUS_CLOSING_PERIOD: SecurityTradingStatus
SECURITY_TRADING_STATUS_BREAK_IN_TRADING: SecurityTradingStatus
SECURITY_TRADING_STATUS_NORMAL_TRADING: SecurityTradingStatus
SECURITY_TRADING_STATUS_CLOSING_AUCTION: SecurityTradingStatus
SECURITY_TRADING_STATUS_DARK_POOL_AUCTION: SecurityTradingStatus
SECURITY_TRADING_STATUS_DISCRETE_AUCTION: SecurityTradingStatus
SECURITY_TRADING_STATUS_OPENING_AUCTION_PERIOD: SecurityTradingStatus
SECURITY_TRADING_STATUS_TRADING_AT_CLOSING_AUCTION_PRICE: SecurityTradingStatus
SECURITY_TRADING_STATUS_SESSION_ASSIGNED: SecurityTradingStatus
SECURITY_TRADING_STATUS_SESSION_CLOSE: SecurityTradingStatus
SECURITY_TRADING_STATUS_SESSION_OPEN: SecurityTradingStatus
SECURITY_TRADING_STATUS_DEALER_NORMAL_TRADING: SecurityTradingStatus
SECURITY_TRADING_STATUS_DEALER_BREAK_IN_TRADING: SecurityTradingStatus
SECURITY_TRADING_STATUS_DEALER_NOT_AVAILABLE_FOR_TRADING: SecurityTradingStatus
PRICE_TYPE_UNSPECIFIED: PriceType
PRICE_TYPE_POINT: PriceType
PRICE_TYPE_CURRENCY: PriceType
RESULT_SUBSCRIPTION_STATUS_UNSPECIFIED: ResultSubscriptionStatus
RESULT_SUBSCRIPTION_STATUS_OK: ResultSubscriptionStatus
RESULT_SUBSCRIPTION_STATUS_ERROR: ResultSubscriptionStatus
REAL_EXCHANGE_UNSPECIFIED: RealExchange
REAL_EXCHANGE_MOEX: RealExchange
REAL_EXCHANGE_RTS: RealExchange
REAL_EXCHANGE_OTC: RealExchange
REAL_EXCHANGE_DEALER: RealExchange
INSTRUMENT_ID_UNSPECIFIED: InstrumentIdType
INSTRUMENT_ID_TYPE_FIGI: InstrumentIdType
INSTRUMENT_ID_TYPE_TICKER: InstrumentIdType
INSTRUMENT_ID_TYPE_UID: InstrumentIdType
INSTRUMENT_ID_TYPE_POSITION_UID: InstrumentIdType
SHARE_TYPE_UNSPECIFIED: ShareType
SHARE_TYPE_COMMON: ShareType
SHARE_TYPE_PREFERRED: ShareType
SHARE_TYPE_ADR: ShareType
SHARE_TYPE_GDR: ShareType
SHARE_TYPE_MLP: ShareType
SHARE_TYPE_NY_REG_SHRS: ShareType
SHARE_TYPE_CLOSED_END_FUND: ShareType
SHARE_TYPE_REIT: ShareType
INSTRUMENT_EXCHANGE_UNSPECIFIED: InstrumentExchangeType
INSTRUMENT_EXCHANGE_DEALER: InstrumentExchangeType
SUBSCRIPTION_ACTION_UNSPECIFIED: SubscriptionAction
SUBSCRIPTION_ACTION_SUBSCRIBE: SubscriptionAction
SUBSCRIPTION_ACTION_UNSUBSCRIBE: SubscriptionAction
SUBSCRIPTION_INTERVAL_UNSPECIFIED: SubscriptionInterval
SUBSCRIPTION_INTERVAL_ONE_MINUTE: SubscriptionInterval
SUBSCRIPTION_INTERVAL_FIVE_MINUTES: SubscriptionInterval
SUBSCRIPTION_INTERVAL_FIFTEEN_MINUTES: SubscriptionInterval
SUBSCRIPTION_INTERVAL_ONE_HOUR: SubscriptionInterval
SUBSCRIPTION_INTERVAL_ONE_DAY: SubscriptionInterval
SUBSCRIPTION_INTERVAL_2_MIN: SubscriptionInterval
SUBSCRIPTION_INTERVAL_3_MIN: SubscriptionInterval
SUBSCRIPTION_INTERVAL_10_MIN: SubscriptionInterval
SUBSCRIPTION_INTERVAL_30_MIN: SubscriptionInterval
SUBSCRIPTION_INTERVAL_2_HOUR: SubscriptionInterval
SUBSCRIPTION_INTERVAL_4_HOUR: SubscriptionInterval
SUBSCRIPTION_INTERVAL_WEEK: SubscriptionInterval
SUBSCRIPTION_INTERVAL_MONTH: SubscriptionInterval
SUBSCRIPTION_STATUS_UNSPECIFIED: SubscriptionStatus
SUBSCRIPTION_STATUS_SUCCESS: SubscriptionStatus
SUBSCRIPTION_STATUS_INSTRUMENT_NOT_FOUND: SubscriptionStatus
SUBSCRIPTION_STATUS_SUBSCRIPTION_ACTION_IS_INVALID: SubscriptionStatus
SUBSCRIPTION_STATUS_DEPTH_IS_INVALID: SubscriptionStatus
SUBSCRIPTION_STATUS_INTERVAL_IS_INVALID: SubscriptionStatus
SUBSCRIPTION_STATUS_LIMIT_IS_EXCEEDED: SubscriptionStatus
SUBSCRIPTION_STATUS_INTERNAL_ERROR: SubscriptionStatus
SUBSCRIPTION_STATUS_TOO_MANY_REQUESTS: SubscriptionStatus
SUBSCRIPTION_STATUS_SUBSCRIPTION_NOT_FOUND: SubscriptionStatus
SUBSCRIPTION_STATUS_SOURCE_IS_INVALID: SubscriptionStatus
TRADE_SOURCE_UNSPECIFIED: TradeSourceType
TRADE_SOURCE_EXCHANGE: TradeSourceType
TRADE_SOURCE_DEALER: TradeSourceType
TRADE_SOURCE_ALL: TradeSourceType
TRADE_DIRECTION_UNSPECIFIED: TradeDirection
TRADE_DIRECTION_BUY: TradeDirection
TRADE_DIRECTION_SELL: TradeDirection
CANDLE_INTERVAL_UNSPECIFIED: CandleInterval
CANDLE_INTERVAL_1_MIN: CandleInterval
CANDLE_INTERVAL_5_MIN: CandleInterval
CANDLE_INTERVAL_15_MIN: CandleInterval
CANDLE_INTERVAL_HOUR: CandleInterval
CANDLE_INTERVAL_DAY: CandleInterval
CANDLE_INTERVAL_2_MIN: CandleInterval
CANDLE_INTERVAL_3_MIN: CandleInterval
CANDLE_INTERVAL_10_MIN: CandleInterval
CANDLE_INTERVAL_30_MIN: CandleInterval
CANDLE_INTERVAL_2_HOUR: CandleInterval
CANDLE_INTERVAL_4_HOUR: CandleInterval
CANDLE_INTERVAL_WEEK: CandleInterval
CANDLE_INTERVAL_MONTH: CandleInterval
CANDLE_INTERVAL_5_SEC: CandleInterval
CANDLE_INTERVAL_10_SEC: CandleInterval
CANDLE_INTERVAL_30_SEC: CandleInterval
CANDLE_SOURCE_UNSPECIFIED: CandleSource
CANDLE_SOURCE_EXCHANGE: CandleSource
CANDLE_SOURCE_DEALER_WEEKEND: CandleSource
ORDERBOOK_TYPE_UNSPECIFIED: OrderBookType
ORDERBOOK_TYPE_EXCHANGE: OrderBookType
ORDERBOOK_TYPE_DEALER: OrderBookType
ORDERBOOK_TYPE_ALL: OrderBookType
LAST_PRICE_UNSPECIFIED: LastPriceType
LAST_PRICE_EXCHANGE: LastPriceType
LAST_PRICE_DEALER: LastPriceType
ORDER_DIRECTION_UNSPECIFIED: OrderDirection
ORDER_DIRECTION_BUY: OrderDirection
ORDER_DIRECTION_SELL: OrderDirection
ORDER_TYPE_UNSPECIFIED: OrderType
ORDER_TYPE_LIMIT: OrderType
ORDER_TYPE_MARKET: OrderType
ORDER_TYPE_BESTPRICE: OrderType
EXECUTION_REPORT_STATUS_UNSPECIFIED: OrderExecutionReportStatus
EXECUTION_REPORT_STATUS_FILL: OrderExecutionReportStatus
EXECUTION_REPORT_STATUS_REJECTED: OrderExecutionReportStatus
EXECUTION_REPORT_STATUS_CANCELLED: OrderExecutionReportStatus
EXECUTION_REPORT_STATUS_NEW: OrderExecutionReportStatus
EXECUTION_REPORT_STATUS_PARTIALLYFILL: OrderExecutionReportStatus
TIME_IN_FORCE_UNSPECIFIED: TimeInForceType
TIME_IN_FORCE_DAY: TimeInForceType
TIME_IN_FORCE_FILL_AND_KILL: TimeInForceType
TIME_IN_FORCE_FILL_OR_KILL: TimeInForceType
ORDER_ID_TYPE_UNSPECIFIED: OrderIdType
ORDER_ID_TYPE_EXCHANGE: OrderIdType
ORDER_ID_TYPE_REQUEST: OrderIdType
STOP_ORDER_DIRECTION_UNSPECIFIED: StopOrderDirection
STOP_ORDER_DIRECTION_BUY: StopOrderDirection
STOP_ORDER_DIRECTION_SELL: StopOrderDirection
STOP_ORDER_EXPIRATION_TYPE_UNSPECIFIED: StopOrderExpirationType
STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_CANCEL: StopOrderExpirationType
STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_DATE: StopOrderExpirationType
STOP_ORDER_TYPE_UNSPECIFIED: StopOrderType
STOP_ORDER_TYPE_TAKE_PROFIT: StopOrderType
STOP_ORDER_TYPE_STOP_LOSS: StopOrderType
STOP_ORDER_TYPE_STOP_LIMIT: StopOrderType
STOP_ORDER_STATUS_UNSPECIFIED: StopOrderStatusOption
STOP_ORDER_STATUS_ALL: StopOrderStatusOption
STOP_ORDER_STATUS_ACTIVE: StopOrderStatusOption
STOP_ORDER_STATUS_EXECUTED: StopOrderStatusOption
STOP_ORDER_STATUS_CANCELED: StopOrderStatusOption
STOP_ORDER_STATUS_EXPIRED: StopOrderStatusOption
EXCHANGE_ORDER_TYPE_UNSPECIFIED: ExchangeOrderType
EXCHANGE_ORDER_TYPE_MARKET: ExchangeOrderType
EXCHANGE_ORDER_TYPE_LIMIT: ExchangeOrderType
TAKE_PROFIT_TYPE_UNSPECIFIED: TakeProfitType
TAKE_PROFIT_TYPE_REGULAR: TakeProfitType
TAKE_PROFIT_TYPE_TRAILING: TakeProfitType
TRAILING_VALUE_UNSPECIFIED: TrailingValueType
TRAILING_VALUE_ABSOLUTE: TrailingValueType
TRAILING_VALUE_RELATIVE: TrailingValueType
TRAILING_STOP_UNSPECIFIED: TrailingStopStatus
TRAILING_STOP_ACTIVE: TrailingStopStatus
TRAILING_STOP_ACTIVATED: TrailingStopStatus
ACCOUNT_TYPE_UNSPECIFIED: AccountType
ACCOUNT_TYPE_TINKOFF: AccountType
ACCOUNT_TYPE_TINKOFF_IIS: AccountType
ACCOUNT_TYPE_INVEST_BOX: AccountType
ACCOUNT_TYPE_INVEST_FUND: AccountType
ACCOUNT_TYPE_DEBIT: AccountType
ACCOUNT_TYPE_SAVING: AccountType
ACCOUNT_STATUS_UNSPECIFIED: AccountStatus
ACCOUNT_STATUS_NEW: AccountStatus
ACCOUNT_STATUS_OPEN: AccountStatus
ACCOUNT_STATUS_CLOSED: AccountStatus
ACCOUNT_STATUS_ALL: AccountStatus
ACCOUNT_ACCESS_LEVEL_UNSPECIFIED: AccessLevel
ACCOUNT_ACCESS_LEVEL_FULL_ACCESS: AccessLevel
ACCOUNT_ACCESS_LEVEL_READ_ONLY: AccessLevel
ACCOUNT_ACCESS_LEVEL_NO_ACCESS: AccessLevel

class MoneyValue(_message.Message):
    __slots__ = ("currency", "units", "nano")
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    NANO_FIELD_NUMBER: _ClassVar[int]
    currency: str
    units: int
    nano: int
    def __init__(self, currency: _Optional[str] = ..., units: _Optional[int] = ..., nano: _Optional[int] = ...) -> None: ...

class Quotation(_message.Message):
    __slots__ = ("units", "nano")
    UNITS_FIELD_NUMBER: _ClassVar[int]
    NANO_FIELD_NUMBER: _ClassVar[int]
    units: int
    nano: int
    def __init__(self, units: _Optional[int] = ..., nano: _Optional[int] = ...) -> None: ...

class PingRequest(_message.Message):
    __slots__ = ("time",)
    TIME_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PingDelaySettings(_message.Message):
    __slots__ = ("ping_delay_ms",)
    PING_DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    ping_delay_ms: int
    def __init__(self, ping_delay_ms: _Optional[int] = ...) -> None: ...

class Ping(_message.Message):
    __slots__ = ("time", "stream_id", "ping_request_time")
    TIME_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    PING_REQUEST_TIME_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    stream_id: str
    ping_request_time: _timestamp_pb2.Timestamp
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stream_id: _Optional[str] = ..., ping_request_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ResponseMetadata(_message.Message):
    __slots__ = ("tracking_id", "server_time")
    TRACKING_ID_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    tracking_id: str
    server_time: _timestamp_pb2.Timestamp
    def __init__(self, tracking_id: _Optional[str] = ..., server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BrandData(_message.Message):
    __slots__ = ("logo_name", "logo_base_color", "text_color")
    LOGO_NAME_FIELD_NUMBER: _ClassVar[int]
    LOGO_BASE_COLOR_FIELD_NUMBER: _ClassVar[int]
    TEXT_COLOR_FIELD_NUMBER: _ClassVar[int]
    logo_name: str
    logo_base_color: str
    text_color: str
    def __init__(self, logo_name: _Optional[str] = ..., logo_base_color: _Optional[str] = ..., text_color: _Optional[str] = ...) -> None: ...

class ErrorDetail(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class InstrumentRequest(_message.Message):
    __slots__ = ("id_type", "class_code", "id")
    ID_TYPE_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    id_type: InstrumentIdType
    class_code: str
    id: str
    def __init__(self, id_type: _Optional[_Union[InstrumentIdType, str]] = ..., class_code: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class InstrumentsRequest(_message.Message):
    __slots__ = ("instrument_status", "instrument_exchange")
    INSTRUMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    instrument_status: InstrumentStatus
    instrument_exchange: InstrumentExchangeType
    def __init__(self, instrument_status: _Optional[_Union[InstrumentStatus, str]] = ..., instrument_exchange: _Optional[_Union[InstrumentExchangeType, str]] = ...) -> None: ...

class ShareResponse(_message.Message):
    __slots__ = ("instrument",)
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    instrument: Share
    def __init__(self, instrument: _Optional[_Union[Share, _Mapping]] = ...) -> None: ...

class SharesResponse(_message.Message):
    __slots__ = ("instruments",)
    INSTRUMENTS_FIELD_NUMBER: _ClassVar[int]
    instruments: _containers.RepeatedCompositeFieldContainer[Share]
    def __init__(self, instruments: _Optional[_Iterable[_Union[Share, _Mapping]]] = ...) -> None: ...

class Share(_message.Message):
    __slots__ = ("figi", "ticker", "class_code", "isin", "lot", "currency", "klong", "kshort", "dlong", "dshort", "dlong_min", "dshort_min", "short_enabled_flag", "name", "exchange", "ipo_date", "issue_size", "country_of_risk", "country_of_risk_name", "sector", "issue_size_plan", "nominal", "trading_status", "otc_flag", "buy_available_flag", "sell_available_flag", "div_yield_flag", "share_type", "min_price_increment", "api_trade_available_flag", "uid", "real_exchange", "position_uid", "asset_uid", "instrument_exchange", "required_tests", "for_iis_flag", "for_qual_investor_flag", "weekend_flag", "blocked_tca_flag", "liquidity_flag", "first_1min_candle_date", "first_1day_candle_date", "brand", "dlong_client", "dshort_client")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    ISIN_FIELD_NUMBER: _ClassVar[int]
    LOT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    KLONG_FIELD_NUMBER: _ClassVar[int]
    KSHORT_FIELD_NUMBER: _ClassVar[int]
    DLONG_FIELD_NUMBER: _ClassVar[int]
    DSHORT_FIELD_NUMBER: _ClassVar[int]
    DLONG_MIN_FIELD_NUMBER: _ClassVar[int]
    DSHORT_MIN_FIELD_NUMBER: _ClassVar[int]
    SHORT_ENABLED_FLAG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    IPO_DATE_FIELD_NUMBER: _ClassVar[int]
    ISSUE_SIZE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_OF_RISK_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_OF_RISK_NAME_FIELD_NUMBER: _ClassVar[int]
    SECTOR_FIELD_NUMBER: _ClassVar[int]
    ISSUE_SIZE_PLAN_FIELD_NUMBER: _ClassVar[int]
    NOMINAL_FIELD_NUMBER: _ClassVar[int]
    TRADING_STATUS_FIELD_NUMBER: _ClassVar[int]
    OTC_FLAG_FIELD_NUMBER: _ClassVar[int]
    BUY_AVAILABLE_FLAG_FIELD_NUMBER: _ClassVar[int]
    SELL_AVAILABLE_FLAG_FIELD_NUMBER: _ClassVar[int]
    DIV_YIELD_FLAG_FIELD_NUMBER: _ClassVar[int]
    SHARE_TYPE_FIELD_NUMBER: _ClassVar[int]
    MIN_PRICE_INCREMENT_FIELD_NUMBER: _ClassVar[int]
    API_TRADE_AVAILABLE_FLAG_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    REAL_EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    POSITION_UID_FIELD_NUMBER: _ClassVar[int]
    ASSET_UID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_TESTS_FIELD_NUMBER: _ClassVar[int]
    FOR_IIS_FLAG_FIELD_NUMBER: _ClassVar[int]
    FOR_QUAL_INVESTOR_FLAG_FIELD_NUMBER: _ClassVar[int]
    WEEKEND_FLAG_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_TCA_FLAG_FIELD_NUMBER: _ClassVar[int]
    LIQUIDITY_FLAG_FIELD_NUMBER: _ClassVar[int]
    FIRST_1MIN_CANDLE_DATE_FIELD_NUMBER: _ClassVar[int]
    FIRST_1DAY_CANDLE_DATE_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    DLONG_CLIENT_FIELD_NUMBER: _ClassVar[int]
    DSHORT_CLIENT_FIELD_NUMBER: _ClassVar[int]
    figi: str
    ticker: str
    class_code: str
    isin: str
    lot: int
    currency: str
    klong: Quotation
    kshort: Quotation
    dlong: Quotation
    dshort: Quotation
    dlong_min: Quotation
    dshort_min: Quotation
    short_enabled_flag: bool
    name: str
    exchange: str
    ipo_date: _timestamp_pb2.Timestamp
    issue_size: int
    country_of_risk: str
    country_of_risk_name: str
    sector: str
    issue_size_plan: int
    nominal: MoneyValue
    trading_status: SecurityTradingStatus
    otc_flag: bool
    buy_available_flag: bool
    sell_available_flag: bool
    div_yield_flag: bool
    share_type: ShareType
    min_price_increment: Quotation
    api_trade_available_flag: bool
    uid: str
    real_exchange: RealExchange
    position_uid: str
    asset_uid: str
    instrument_exchange: InstrumentExchangeType
    required_tests: _containers.RepeatedScalarFieldContainer[str]
    for_iis_flag: bool
    for_qual_investor_flag: bool
    weekend_flag: bool
    blocked_tca_flag: bool
    liquidity_flag: bool
    first_1min_candle_date: _timestamp_pb2.Timestamp
    first_1day_candle_date: _timestamp_pb2.Timestamp
    brand: BrandData
    dlong_client: Quotation
    dshort_client: Quotation
    def __init__(self, figi: _Optional[str] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ..., isin: _Optional[str] = ..., lot: _Optional[int] = ..., currency: _Optional[str] = ..., klong: _Optional[_Union[Quotation, _Mapping]] = ..., kshort: _Optional[_Union[Quotation, _Mapping]] = ..., dlong: _Optional[_Union[Quotation, _Mapping]] = ..., dshort: _Optional[_Union[Quotation, _Mapping]] = ..., dlong_min: _Optional[_Union[Quotation, _Mapping]] = ..., dshort_min: _Optional[_Union[Quotation, _Mapping]] = ..., short_enabled_flag: _Optional[bool] = ..., name: _Optional[str] = ..., exchange: _Optional[str] = ..., ipo_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., issue_size: _Optional[int] = ..., country_of_risk: _Optional[str] = ..., country_of_risk_name: _Optional[str] = ..., sector: _Optional[str] = ..., issue_size_plan: _Optional[int] = ..., nominal: _Optional[_Union[MoneyValue, _Mapping]] = ..., trading_status: _Optional[_Union[SecurityTradingStatus, str]] = ..., otc_flag: _Optional[bool] = ..., buy_available_flag: _Optional[bool] = ..., sell_available_flag: _Optional[bool] = ..., div_yield_flag: _Optional[bool] = ..., share_type: _Optional[_Union[ShareType, str]] = ..., min_price_increment: _Optional[_Union[Quotation, _Mapping]] = ..., api_trade_available_flag: _Optional[bool] = ..., uid: _Optional[str] = ..., real_exchange: _Optional[_Union[RealExchange, str]] = ..., position_uid: _Optional[str] = ..., asset_uid: _Optional[str] = ..., instrument_exchange: _Optional[_Union[InstrumentExchangeType, str]] = ..., required_tests: _Optional[_Iterable[str]] = ..., for_iis_flag: _Optional[bool] = ..., for_qual_investor_flag: _Optional[bool] = ..., weekend_flag: _Optional[bool] = ..., blocked_tca_flag: _Optional[bool] = ..., liquidity_flag: _Optional[bool] = ..., first_1min_candle_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., first_1day_candle_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., brand: _Optional[_Union[BrandData, _Mapping]] = ..., dlong_client: _Optional[_Union[Quotation, _Mapping]] = ..., dshort_client: _Optional[_Union[Quotation, _Mapping]] = ...) -> None: ...

class InstrumentResponse(_message.Message):
    __slots__ = ("instrument",)
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    instrument: Instrument
    def __init__(self, instrument: _Optional[_Union[Instrument, _Mapping]] = ...) -> None: ...

class Instrument(_message.Message):
    __slots__ = ("figi", "ticker", "class_code", "isin", "lot", "currency", "klong", "kshort", "dlong", "dshort", "dlong_min", "dshort_min", "short_enabled_flag", "name", "exchange", "country_of_risk", "country_of_risk_name", "instrument_type", "trading_status", "otc_flag", "buy_available_flag", "sell_available_flag", "min_price_increment", "api_trade_available_flag", "uid", "real_exchange", "position_uid", "asset_uid", "required_tests", "for_iis_flag", "for_qual_investor_flag", "weekend_flag", "blocked_tca_flag", "instrument_kind", "first_1min_candle_date", "first_1day_candle_date", "brand", "dlong_client", "dshort_client")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    ISIN_FIELD_NUMBER: _ClassVar[int]
    LOT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    KLONG_FIELD_NUMBER: _ClassVar[int]
    KSHORT_FIELD_NUMBER: _ClassVar[int]
    DLONG_FIELD_NUMBER: _ClassVar[int]
    DSHORT_FIELD_NUMBER: _ClassVar[int]
    DLONG_MIN_FIELD_NUMBER: _ClassVar[int]
    DSHORT_MIN_FIELD_NUMBER: _ClassVar[int]
    SHORT_ENABLED_FLAG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_OF_RISK_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_OF_RISK_NAME_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    TRADING_STATUS_FIELD_NUMBER: _ClassVar[int]
    OTC_FLAG_FIELD_NUMBER: _ClassVar[int]
    BUY_AVAILABLE_FLAG_FIELD_NUMBER: _ClassVar[int]
    SELL_AVAILABLE_FLAG_FIELD_NUMBER: _ClassVar[int]
    MIN_PRICE_INCREMENT_FIELD_NUMBER: _ClassVar[int]
    API_TRADE_AVAILABLE_FLAG_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    REAL_EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    POSITION_UID_FIELD_NUMBER: _ClassVar[int]
    ASSET_UID_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_TESTS_FIELD_NUMBER: _ClassVar[int]
    FOR_IIS_FLAG_FIELD_NUMBER: _ClassVar[int]
    FOR_QUAL_INVESTOR_FLAG_FIELD_NUMBER: _ClassVar[int]
    WEEKEND_FLAG_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_TCA_FLAG_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_KIND_FIELD_NUMBER: _ClassVar[int]
    FIRST_1MIN_CANDLE_DATE_FIELD_NUMBER: _ClassVar[int]
    FIRST_1DAY_CANDLE_DATE_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    DLONG_CLIENT_FIELD_NUMBER: _ClassVar[int]
    DSHORT_CLIENT_FIELD_NUMBER: _ClassVar[int]
    figi: str
    ticker: str
    class_code: str
    isin: str
    lot: int
    currency: str
    klong: Quotation
    kshort: Quotation
    dlong: Quotation
    dshort: Quotation
    dlong_min: Quotation
    dshort_min: Quotation
    short_enabled_flag: bool
    name: str
    exchange: str
    country_of_risk: str
    country_of_risk_name: str
    instrument_type: str
    trading_status: SecurityTradingStatus
    otc_flag: bool
    buy_available_flag: bool
    sell_available_flag: bool
    min_price_increment: Quotation
    api_trade_available_flag: bool
    uid: str
    real_exchange: RealExchange
    position_uid: str
    asset_uid: str
    required_tests: _containers.RepeatedScalarFieldContainer[str]
    for_iis_flag: bool
    for_qual_investor_flag: bool
    weekend_flag: bool
    blocked_tca_flag: bool
    instrument_kind: InstrumentType
    first_1min_candle_date: _timestamp_pb2.Timestamp
    first_1day_candle_date: _timestamp_pb2.Timestamp
    brand: BrandData
    dlong_client: Quotation
    dshort_client: Quotation
    def __init__(self, figi: _Optional[str] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ..., isin: _Optional[str] = ..., lot: _Optional[int] = ..., currency: _Optional[str] = ..., klong: _Optional[_Union[Quotation, _Mapping]] = ..., kshort: _Optional[_Union[Quotation, _Mapping]] = ..., dlong: _Optional[_Union[Quotation, _Mapping]] = ..., dshort: _Optional[_Union[Quotation, _Mapping]] = ..., dlong_min: _Optional[_Union[Quotation, _Mapping]] = ..., dshort_min: _Optional[_Union[Quotation, _Mapping]] = ..., short_enabled_flag: _Optional[bool] = ..., name: _Optional[str] = ..., exchange: _Optional[str] = ..., country_of_risk: _Optional[str] = ..., country_of_risk_name: _Optional[str] = ..., instrument_type: _Optional[str] = ..., trading_status: _Optional[_Union[SecurityTradingStatus, str]] = ..., otc_flag: _Optional[bool] = ..., buy_available_flag: _Optional[bool] = ..., sell_available_flag: _Optional[bool] = ..., min_price_increment: _Optional[_Union[Quotation, _Mapping]] = ..., api_trade_available_flag: _Optional[bool] = ..., uid: _Optional[str] = ..., real_exchange: _Optional[_Union[RealExchange, str]] = ..., position_uid: _Optional[str] = ..., asset_uid: _Optional[str] = ..., required_tests: _Optional[_Iterable[str]] = ..., for_iis_flag: _Optional[bool] = ..., for_qual_investor_flag: _Optional[bool] = ..., weekend_flag: _Optional[bool] = ..., blocked_tca_flag: _Optional[bool] = ..., instrument_kind: _Optional[_Union[InstrumentType, str]] = ..., first_1min_candle_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., first_1day_candle_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., brand: _Optional[_Union[BrandData, _Mapping]] = ..., dlong_client: _Optional[_Union[Quotation, _Mapping]] = ..., dshort_client: _Optional[_Union[Quotation, _Mapping]] = ...) -> None: ...

class FindInstrumentRequest(_message.Message):
    __slots__ = ("query", "instrument_kind", "api_trade_available_flag")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_KIND_FIELD_NUMBER: _ClassVar[int]
    API_TRADE_AVAILABLE_FLAG_FIELD_NUMBER: _ClassVar[int]
    query: str
    instrument_kind: InstrumentType
    api_trade_available_flag: bool
    def __init__(self, query: _Optional[str] = ..., instrument_kind: _Optional[_Union[InstrumentType, str]] = ..., api_trade_available_flag: _Optional[bool] = ...) -> None: ...

class FindInstrumentResponse(_message.Message):
    __slots__ = ("instruments",)
    INSTRUMENTS_FIELD_NUMBER: _ClassVar[int]
    instruments: _containers.RepeatedCompositeFieldContainer[InstrumentShort]
    def __init__(self, instruments: _Optional[_Iterable[_Union[InstrumentShort, _Mapping]]] = ...) -> None: ...

class InstrumentShort(_message.Message):
    __slots__ = ("isin", "figi", "ticker", "class_code", "instrument_type", "name", "uid", "position_uid", "instrument_kind", "api_trade_available_flag", "for_iis_flag", "first_1min_candle_date", "first_1day_candle_date", "for_qual_investor_flag", "weekend_flag", "blocked_tca_flag", "lot")
    ISIN_FIELD_NUMBER: _ClassVar[int]
    FIGI_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    POSITION_UID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_KIND_FIELD_NUMBER: _ClassVar[int]
    API_TRADE_AVAILABLE_FLAG_FIELD_NUMBER: _ClassVar[int]
    FOR_IIS_FLAG_FIELD_NUMBER: _ClassVar[int]
    FIRST_1MIN_CANDLE_DATE_FIELD_NUMBER: _ClassVar[int]
    FIRST_1DAY_CANDLE_DATE_FIELD_NUMBER: _ClassVar[int]
    FOR_QUAL_INVESTOR_FLAG_FIELD_NUMBER: _ClassVar[int]
    WEEKEND_FLAG_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_TCA_FLAG_FIELD_NUMBER: _ClassVar[int]
    LOT_FIELD_NUMBER: _ClassVar[int]
    isin: str
    figi: str
    ticker: str
    class_code: str
    instrument_type: str
    name: str
    uid: str
    position_uid: str
    instrument_kind: InstrumentType
    api_trade_available_flag: bool
    for_iis_flag: bool
    first_1min_candle_date: _timestamp_pb2.Timestamp
    first_1day_candle_date: _timestamp_pb2.Timestamp
    for_qual_investor_flag: bool
    weekend_flag: bool
    blocked_tca_flag: bool
    lot: int
    def __init__(self, isin: _Optional[str] = ..., figi: _Optional[str] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ..., instrument_type: _Optional[str] = ..., name: _Optional[str] = ..., uid: _Optional[str] = ..., position_uid: _Optional[str] = ..., instrument_kind: _Optional[_Union[InstrumentType, str]] = ..., api_trade_available_flag: _Optional[bool] = ..., for_iis_flag: _Optional[bool] = ..., first_1min_candle_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., first_1day_candle_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., for_qual_investor_flag: _Optional[bool] = ..., weekend_flag: _Optional[bool] = ..., blocked_tca_flag: _Optional[bool] = ..., lot: _Optional[int] = ...) -> None: ...

class MarketDataRequest(_message.Message):
    __slots__ = ("subscribe_candles_request", "subscribe_order_book_request", "subscribe_trades_request", "subscribe_info_request", "subscribe_last_price_request", "get_my_subscriptions", "ping", "ping_settings")
    SUBSCRIBE_CANDLES_REQUEST_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBE_ORDER_BOOK_REQUEST_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBE_TRADES_REQUEST_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBE_INFO_REQUEST_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBE_LAST_PRICE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    GET_MY_SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    PING_FIELD_NUMBER: _ClassVar[int]
    PING_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    subscribe_candles_request: SubscribeCandlesRequest
    subscribe_order_book_request: SubscribeOrderBookRequest
    subscribe_trades_request: SubscribeTradesRequest
    subscribe_info_request: SubscribeInfoRequest
    subscribe_last_price_request: SubscribeLastPriceRequest
    get_my_subscriptions: GetMySubscriptions
    ping: PingRequest
    ping_settings: PingDelaySettings
    def __init__(self, subscribe_candles_request: _Optional[_Union[SubscribeCandlesRequest, _Mapping]] = ..., subscribe_order_book_request: _Optional[_Union[SubscribeOrderBookRequest, _Mapping]] = ..., subscribe_trades_request: _Optional[_Union[SubscribeTradesRequest, _Mapping]] = ..., subscribe_info_request: _Optional[_Union[SubscribeInfoRequest, _Mapping]] = ..., subscribe_last_price_request: _Optional[_Union[SubscribeLastPriceRequest, _Mapping]] = ..., get_my_subscriptions: _Optional[_Union[GetMySubscriptions, _Mapping]] = ..., ping: _Optional[_Union[PingRequest, _Mapping]] = ..., ping_settings: _Optional[_Union[PingDelaySettings, _Mapping]] = ...) -> None: ...

class MarketDataResponse(_message.Message):
    __slots__ = ("subscribe_candles_response", "subscribe_order_book_response", "subscribe_trades_response", "subscribe_info_response", "candle", "trade", "orderbook", "trading_status", "ping", "subscribe_last_price_response", "last_price", "open_interest")
    SUBSCRIBE_CANDLES_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBE_ORDER_BOOK_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBE_TRADES_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBE_INFO_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    CANDLE_FIELD_NUMBER: _ClassVar[int]
    TRADE_FIELD_NUMBER: _ClassVar[int]
    ORDERBOOK_FIELD_NUMBER: _ClassVar[int]
    TRADING_STATUS_FIELD_NUMBER: _ClassVar[int]
    PING_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBE_LAST_PRICE_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    LAST_PRICE_FIELD_NUMBER: _ClassVar[int]
    OPEN_INTEREST_FIELD_NUMBER: _ClassVar[int]
    subscribe_candles_response: SubscribeCandlesResponse
    subscribe_order_book_response: SubscribeOrderBookResponse
    subscribe_trades_response: SubscribeTradesResponse
    subscribe_info_response: SubscribeInfoResponse
    candle: Candle
    trade: Trade
    orderbook: OrderBook
    trading_status: TradingStatus
    ping: Ping
    subscribe_last_price_response: SubscribeLastPriceResponse
    last_price: LastPrice
    open_interest: OpenInterest
    def __init__(self, subscribe_candles_response: _Optional[_Union[SubscribeCandlesResponse, _Mapping]] = ..., subscribe_order_book_response: _Optional[_Union[SubscribeOrderBookResponse, _Mapping]] = ..., subscribe_trades_response: _Optional[_Union[SubscribeTradesResponse, _Mapping]] = ..., subscribe_info_response: _Optional[_Union[SubscribeInfoResponse, _Mapping]] = ..., candle: _Optional[_Union[Candle, _Mapping]] = ..., trade: _Optional[_Union[Trade, _Mapping]] = ..., orderbook: _Optional[_Union[OrderBook, _Mapping]] = ..., trading_status: _Optional[_Union[TradingStatus, _Mapping]] = ..., ping: _Optional[_Union[Ping, _Mapping]] = ..., subscribe_last_price_response: _Optional[_Union[SubscribeLastPriceResponse, _Mapping]] = ..., last_price: _Optional[_Union[LastPrice, _Mapping]] = ..., open_interest: _Optional[_Union[OpenInterest, _Mapping]] = ...) -> None: ...

class SubscribeCandlesRequest(_message.Message):
    __slots__ = ("subscription_action", "instruments", "waiting_close", "candle_source_type")
    SUBSCRIPTION_ACTION_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENTS_FIELD_NUMBER: _ClassVar[int]
    WAITING_CLOSE_FIELD_NUMBER: _ClassVar[int]
    CANDLE_SOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    subscription_action: SubscriptionAction
    instruments: _containers.RepeatedCompositeFieldContainer[CandleInstrument]
    waiting_close: bool
    candle_source_type: GetCandlesRequest.CandleSource
    def __init__(self, subscription_action: _Optional[_Union[SubscriptionAction, str]] = ..., instruments: _Optional[_Iterable[_Union[CandleInstrument, _Mapping]]] = ..., waiting_close: _Optional[bool] = ..., candle_source_type: _Optional[_Union[GetCandlesRequest.CandleSource, str]] = ...) -> None: ...

class CandleInstrument(_message.Message):
    __slots__ = ("figi", "interval", "instrument_id")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    figi: str
    interval: SubscriptionInterval
    instrument_id: str
    def __init__(self, figi: _Optional[str] = ..., interval: _Optional[_Union[SubscriptionInterval, str]] = ..., instrument_id: _Optional[str] = ...) -> None: ...

class SubscribeCandlesResponse(_message.Message):
    __slots__ = ("tracking_id", "candles_subscriptions")
    TRACKING_ID_FIELD_NUMBER: _ClassVar[int]
    CANDLES_SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    tracking_id: str
    candles_subscriptions: _containers.RepeatedCompositeFieldContainer[CandleSubscription]
    def __init__(self, tracking_id: _Optional[str] = ..., candles_subscriptions: _Optional[_Iterable[_Union[CandleSubscription, _Mapping]]] = ...) -> None: ...

class CandleSubscription(_message.Message):
    __slots__ = ("figi", "interval", "subscription_status", "instrument_uid", "waiting_close", "stream_id", "subscription_id", "subscription_action", "candle_source_type", "ticker", "class_code")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_STATUS_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    WAITING_CLOSE_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ACTION_FIELD_NUMBER: _ClassVar[int]
    CANDLE_SOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    figi: str
    interval: SubscriptionInterval
    subscription_status: SubscriptionStatus
    instrument_uid: str
    waiting_close: bool
    stream_id: str
    subscription_id: str
    subscription_action: SubscriptionAction
    candle_source_type: GetCandlesRequest.CandleSource
    ticker: str
    class_code: str
    def __init__(self, figi: _Optional[str] = ..., interval: _Optional[_Union[SubscriptionInterval, str]] = ..., subscription_status: _Optional[_Union[SubscriptionStatus, str]] = ..., instrument_uid: _Optional[str] = ..., waiting_close: _Optional[bool] = ..., stream_id: _Optional[str] = ..., subscription_id: _Optional[str] = ..., subscription_action: _Optional[_Union[SubscriptionAction, str]] = ..., candle_source_type: _Optional[_Union[GetCandlesRequest.CandleSource, str]] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ...) -> None: ...

class SubscribeOrderBookRequest(_message.Message):
    __slots__ = ("subscription_action", "instruments")
    SUBSCRIPTION_ACTION_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENTS_FIELD_NUMBER: _ClassVar[int]
    subscription_action: SubscriptionAction
    instruments: _containers.RepeatedCompositeFieldContainer[OrderBookInstrument]
    def __init__(self, subscription_action: _Optional[_Union[SubscriptionAction, str]] = ..., instruments: _Optional[_Iterable[_Union[OrderBookInstrument, _Mapping]]] = ...) -> None: ...

class OrderBookInstrument(_message.Message):
    __slots__ = ("figi", "depth", "instrument_id", "order_book_type")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_BOOK_TYPE_FIELD_NUMBER: _ClassVar[int]
    figi: str
    depth: int
    instrument_id: str
    order_book_type: OrderBookType
    def __init__(self, figi: _Optional[str] = ..., depth: _Optional[int] = ..., instrument_id: _Optional[str] = ..., order_book_type: _Optional[_Union[OrderBookType, str]] = ...) -> None: ...

class SubscribeOrderBookResponse(_message.Message):
    __slots__ = ("tracking_id", "order_book_subscriptions")
    TRACKING_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_BOOK_SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    tracking_id: str
    order_book_subscriptions: _containers.RepeatedCompositeFieldContainer[OrderBookSubscription]
    def __init__(self, tracking_id: _Optional[str] = ..., order_book_subscriptions: _Optional[_Iterable[_Union[OrderBookSubscription, _Mapping]]] = ...) -> None: ...

class OrderBookSubscription(_message.Message):
    __slots__ = ("figi", "depth", "subscription_status", "instrument_uid", "stream_id", "subscription_id", "order_book_type", "subscription_action", "ticker", "class_code")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_STATUS_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_BOOK_TYPE_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ACTION_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    figi: str
    depth: int
    subscription_status: SubscriptionStatus
    instrument_uid: str
    stream_id: str
    subscription_id: str
    order_book_type: OrderBookType
    subscription_action: SubscriptionAction
    ticker: str
    class_code: str
    def __init__(self, figi: _Optional[str] = ..., depth: _Optional[int] = ..., subscription_status: _Optional[_Union[SubscriptionStatus, str]] = ..., instrument_uid: _Optional[str] = ..., stream_id: _Optional[str] = ..., subscription_id: _Optional[str] = ..., order_book_type: _Optional[_Union[OrderBookType, str]] = ..., subscription_action: _Optional[_Union[SubscriptionAction, str]] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ...) -> None: ...

class SubscribeTradesRequest(_message.Message):
    __slots__ = ("subscription_action", "instruments", "trade_source", "with_open_interest")
    SUBSCRIPTION_ACTION_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENTS_FIELD_NUMBER: _ClassVar[int]
    TRADE_SOURCE_FIELD_NUMBER: _ClassVar[int]
    WITH_OPEN_INTEREST_FIELD_NUMBER: _ClassVar[int]
    subscription_action: SubscriptionAction
    instruments: _containers.RepeatedCompositeFieldContainer[TradeInstrument]
    trade_source: TradeSourceType
    with_open_interest: bool
    def __init__(self, subscription_action: _Optional[_Union[SubscriptionAction, str]] = ..., instruments: _Optional[_Iterable[_Union[TradeInstrument, _Mapping]]] = ..., trade_source: _Optional[_Union[TradeSourceType, str]] = ..., with_open_interest: _Optional[bool] = ...) -> None: ...

class TradeInstrument(_message.Message):
    __slots__ = ("figi", "instrument_id")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    figi: str
    instrument_id: str
    def __init__(self, figi: _Optional[str] = ..., instrument_id: _Optional[str] = ...) -> None: ...

class SubscribeTradesResponse(_message.Message):
    __slots__ = ("tracking_id", "trade_subscriptions", "trade_source")
    TRACKING_ID_FIELD_NUMBER: _ClassVar[int]
    TRADE_SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    TRADE_SOURCE_FIELD_NUMBER: _ClassVar[int]
    tracking_id: str
    trade_subscriptions: _containers.RepeatedCompositeFieldContainer[TradeSubscription]
    trade_source: TradeSourceType
    def __init__(self, tracking_id: _Optional[str] = ..., trade_subscriptions: _Optional[_Iterable[_Union[TradeSubscription, _Mapping]]] = ..., trade_source: _Optional[_Union[TradeSourceType, str]] = ...) -> None: ...

class TradeSubscription(_message.Message):
    __slots__ = ("figi", "subscription_status", "instrument_uid", "stream_id", "subscription_id", "with_open_interest", "subscription_action", "ticker", "class_code")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_STATUS_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    WITH_OPEN_INTEREST_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ACTION_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    figi: str
    subscription_status: SubscriptionStatus
    instrument_uid: str
    stream_id: str
    subscription_id: str
    with_open_interest: bool
    subscription_action: SubscriptionAction
    ticker: str
    class_code: str
    def __init__(self, figi: _Optional[str] = ..., subscription_status: _Optional[_Union[SubscriptionStatus, str]] = ..., instrument_uid: _Optional[str] = ..., stream_id: _Optional[str] = ..., subscription_id: _Optional[str] = ..., with_open_interest: _Optional[bool] = ..., subscription_action: _Optional[_Union[SubscriptionAction, str]] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ...) -> None: ...

class SubscribeInfoRequest(_message.Message):
    __slots__ = ("subscription_action", "instruments")
    SUBSCRIPTION_ACTION_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENTS_FIELD_NUMBER: _ClassVar[int]
    subscription_action: SubscriptionAction
    instruments: _containers.RepeatedCompositeFieldContainer[InfoInstrument]
    def __init__(self, subscription_action: _Optional[_Union[SubscriptionAction, str]] = ..., instruments: _Optional[_Iterable[_Union[InfoInstrument, _Mapping]]] = ...) -> None: ...

class InfoInstrument(_message.Message):
    __slots__ = ("figi", "instrument_id")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    figi: str
    instrument_id: str
    def __init__(self, figi: _Optional[str] = ..., instrument_id: _Optional[str] = ...) -> None: ...

class SubscribeInfoResponse(_message.Message):
    __slots__ = ("tracking_id", "info_subscriptions")
    TRACKING_ID_FIELD_NUMBER: _ClassVar[int]
    INFO_SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    tracking_id: str
    info_subscriptions: _containers.RepeatedCompositeFieldContainer[InfoSubscription]
    def __init__(self, tracking_id: _Optional[str] = ..., info_subscriptions: _Optional[_Iterable[_Union[InfoSubscription, _Mapping]]] = ...) -> None: ...

class InfoSubscription(_message.Message):
    __slots__ = ("figi", "subscription_status", "instrument_uid", "stream_id", "subscription_id", "subscription_action", "ticker", "class_code")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_STATUS_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ACTION_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    figi: str
    subscription_status: SubscriptionStatus
    instrument_uid: str
    stream_id: str
    subscription_id: str
    subscription_action: SubscriptionAction
    ticker: str
    class_code: str
    def __init__(self, figi: _Optional[str] = ..., subscription_status: _Optional[_Union[SubscriptionStatus, str]] = ..., instrument_uid: _Optional[str] = ..., stream_id: _Optional[str] = ..., subscription_id: _Optional[str] = ..., subscription_action: _Optional[_Union[SubscriptionAction, str]] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ...) -> None: ...

class SubscribeLastPriceRequest(_message.Message):
    __slots__ = ("subscription_action", "instruments")
    SUBSCRIPTION_ACTION_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENTS_FIELD_NUMBER: _ClassVar[int]
    subscription_action: SubscriptionAction
    instruments: _containers.RepeatedCompositeFieldContainer[LastPriceInstrument]
    def __init__(self, subscription_action: _Optional[_Union[SubscriptionAction, str]] = ..., instruments: _Optional[_Iterable[_Union[LastPriceInstrument, _Mapping]]] = ...) -> None: ...

class LastPriceInstrument(_message.Message):
    __slots__ = ("figi", "instrument_id")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    figi: str
    instrument_id: str
    def __init__(self, figi: _Optional[str] = ..., instrument_id: _Optional[str] = ...) -> None: ...

class SubscribeLastPriceResponse(_message.Message):
    __slots__ = ("tracking_id", "last_price_subscriptions")
    TRACKING_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_PRICE_SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    tracking_id: str
    last_price_subscriptions: _containers.RepeatedCompositeFieldContainer[LastPriceSubscription]
    def __init__(self, tracking_id: _Optional[str] = ..., last_price_subscriptions: _Optional[_Iterable[_Union[LastPriceSubscription, _Mapping]]] = ...) -> None: ...

class LastPriceSubscription(_message.Message):
    __slots__ = ("figi", "subscription_status", "instrument_uid", "stream_id", "subscription_id", "subscription_action", "ticker", "class_code")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_STATUS_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ACTION_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    figi: str
    subscription_status: SubscriptionStatus
    instrument_uid: str
    stream_id: str
    subscription_id: str
    subscription_action: SubscriptionAction
    ticker: str
    class_code: str
    def __init__(self, figi: _Optional[str] = ..., subscription_status: _Optional[_Union[SubscriptionStatus, str]] = ..., instrument_uid: _Optional[str] = ..., stream_id: _Optional[str] = ..., subscription_id: _Optional[str] = ..., subscription_action: _Optional[_Union[SubscriptionAction, str]] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ...) -> None: ...

class Candle(_message.Message):
    __slots__ = ("figi", "interval", "open", "high", "low", "close", "volume", "time", "last_trade_ts", "instrument_uid", "ticker", "class_code", "volume_buy", "volume_sell", "candle_source_type")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_TRADE_TS_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_BUY_FIELD_NUMBER: _ClassVar[int]
    VOLUME_SELL_FIELD_NUMBER: _ClassVar[int]
    CANDLE_SOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    figi: str
    interval: SubscriptionInterval
    open: Quotation
    high: Quotation
    low: Quotation
    close: Quotation
    volume: int
    time: _timestamp_pb2.Timestamp
    last_trade_ts: _timestamp_pb2.Timestamp
    instrument_uid: str
    ticker: str
    class_code: str
    volume_buy: int
    volume_sell: int
    candle_source_type: CandleSource
    def __init__(self, figi: _Optional[str] = ..., interval: _Optional[_Union[SubscriptionInterval, str]] = ..., open: _Optional[_Union[Quotation, _Mapping]] = ..., high: _Optional[_Union[Quotation, _Mapping]] = ..., low: _Optional[_Union[Quotation, _Mapping]] = ..., close: _Optional[_Union[Quotation, _Mapping]] = ..., volume: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_trade_ts: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., instrument_uid: _Optional[str] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ..., volume_buy: _Optional[int] = ..., volume_sell: _Optional[int] = ..., candle_source_type: _Optional[_Union[CandleSource, str]] = ...) -> None: ...

class OrderBook(_message.Message):
    __slots__ = ("figi", "depth", "is_consistent", "bids", "asks", "time", "limit_up", "limit_down", "instrument_uid", "order_book_type", "ticker", "class_code")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    IS_CONSISTENT_FIELD_NUMBER: _ClassVar[int]
    BIDS_FIELD_NUMBER: _ClassVar[int]
    ASKS_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    LIMIT_UP_FIELD_NUMBER: _ClassVar[int]
    LIMIT_DOWN_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    ORDER_BOOK_TYPE_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    figi: str
    depth: int
    is_consistent: bool
    bids: _containers.RepeatedCompositeFieldContainer[Order]
    asks: _containers.RepeatedCompositeFieldContainer[Order]
    time: _timestamp_pb2.Timestamp
    limit_up: Quotation
    limit_down: Quotation
    instrument_uid: str
    order_book_type: OrderBookType
    ticker: str
    class_code: str
    def __init__(self, figi: _Optional[str] = ..., depth: _Optional[int] = ..., is_consistent: _Optional[bool] = ..., bids: _Optional[_Iterable[_Union[Order, _Mapping]]] = ..., asks: _Optional[_Iterable[_Union[Order, _Mapping]]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., limit_up: _Optional[_Union[Quotation, _Mapping]] = ..., limit_down: _Optional[_Union[Quotation, _Mapping]] = ..., instrument_uid: _Optional[str] = ..., order_book_type: _Optional[_Union[OrderBookType, str]] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("price", "quantity")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    price: Quotation
    quantity: int
    def __init__(self, price: _Optional[_Union[Quotation, _Mapping]] = ..., quantity: _Optional[int] = ...) -> None: ...

class Trade(_message.Message):
    __slots__ = ("figi", "direction", "price", "quantity", "time", "instrument_uid", "trade_source", "ticker", "class_code")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    TRADE_SOURCE_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    figi: str
    direction: TradeDirection
    price: Quotation
    quantity: int
    time: _timestamp_pb2.Timestamp
    instrument_uid: str
    trade_source: TradeSourceType
    ticker: str
    class_code: str
    def __init__(self, figi: _Optional[str] = ..., direction: _Optional[_Union[TradeDirection, str]] = ..., price: _Optional[_Union[Quotation, _Mapping]] = ..., quantity: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., instrument_uid: _Optional[str] = ..., trade_source: _Optional[_Union[TradeSourceType, str]] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ...) -> None: ...

class TradingStatus(_message.Message):
    __slots__ = ("figi", "trading_status", "time", "limit_order_available_flag", "market_order_available_flag", "instrument_uid", "ticker", "class_code")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    TRADING_STATUS_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    LIMIT_ORDER_AVAILABLE_FLAG_FIELD_NUMBER: _ClassVar[int]
    MARKET_ORDER_AVAILABLE_FLAG_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    figi: str
    trading_status: SecurityTradingStatus
    time: _timestamp_pb2.Timestamp
    limit_order_available_flag: bool
    market_order_available_flag: bool
    instrument_uid: str
    ticker: str
    class_code: str
    def __init__(self, figi: _Optional[str] = ..., trading_status: _Optional[_Union[SecurityTradingStatus, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., limit_order_available_flag: _Optional[bool] = ..., market_order_available_flag: _Optional[bool] = ..., instrument_uid: _Optional[str] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ...) -> None: ...

class GetCandlesRequest(_message.Message):
    __slots__ = ("figi", "to", "interval", "instrument_id", "candle_source_type", "limit")
    class CandleSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        CANDLE_SOURCE_UNSPECIFIED: _ClassVar[GetCandlesRequest.CandleSource]
        CANDLE_SOURCE_EXCHANGE: _ClassVar[GetCandlesRequest.CandleSource]
        CANDLE_SOURCE_INCLUDE_WEEKEND: _ClassVar[GetCandlesRequest.CandleSource]
    CANDLE_SOURCE_UNSPECIFIED: GetCandlesRequest.CandleSource
    CANDLE_SOURCE_EXCHANGE: GetCandlesRequest.CandleSource
    CANDLE_SOURCE_INCLUDE_WEEKEND: GetCandlesRequest.CandleSource
    FIGI_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CANDLE_SOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    figi: str
    to: _timestamp_pb2.Timestamp
    interval: CandleInterval
    instrument_id: str
    candle_source_type: GetCandlesRequest.CandleSource
    limit: int
    def __init__(self, figi: _Optional[str] = ..., to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., interval: _Optional[_Union[CandleInterval, str]] = ..., instrument_id: _Optional[str] = ..., candle_source_type: _Optional[_Union[GetCandlesRequest.CandleSource, str]] = ..., limit: _Optional[int] = ..., **kwargs) -> None: ...

class GetCandlesResponse(_message.Message):
    __slots__ = ("candles",)
    CANDLES_FIELD_NUMBER: _ClassVar[int]
    candles: _containers.RepeatedCompositeFieldContainer[HistoricCandle]
    def __init__(self, candles: _Optional[_Iterable[_Union[HistoricCandle, _Mapping]]] = ...) -> None: ...

class HistoricCandle(_message.Message):
    __slots__ = ("open", "high", "low", "close", "volume", "time", "is_complete", "candle_source", "volume_buy", "volume_sell")
    OPEN_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    IS_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    CANDLE_SOURCE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_BUY_FIELD_NUMBER: _ClassVar[int]
    VOLUME_SELL_FIELD_NUMBER: _ClassVar[int]
    open: Quotation
    high: Quotation
    low: Quotation
    close: Quotation
    volume: int
    time: _timestamp_pb2.Timestamp
    is_complete: bool
    candle_source: CandleSource
    volume_buy: int
    volume_sell: int
    def __init__(self, open: _Optional[_Union[Quotation, _Mapping]] = ..., high: _Optional[_Union[Quotation, _Mapping]] = ..., low: _Optional[_Union[Quotation, _Mapping]] = ..., close: _Optional[_Union[Quotation, _Mapping]] = ..., volume: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., is_complete: _Optional[bool] = ..., candle_source: _Optional[_Union[CandleSource, str]] = ..., volume_buy: _Optional[int] = ..., volume_sell: _Optional[int] = ...) -> None: ...

class GetLastPricesRequest(_message.Message):
    __slots__ = ("figi", "instrument_id", "last_price_type", "instrument_status")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_PRICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    figi: _containers.RepeatedScalarFieldContainer[str]
    instrument_id: _containers.RepeatedScalarFieldContainer[str]
    last_price_type: LastPriceType
    instrument_status: InstrumentStatus
    def __init__(self, figi: _Optional[_Iterable[str]] = ..., instrument_id: _Optional[_Iterable[str]] = ..., last_price_type: _Optional[_Union[LastPriceType, str]] = ..., instrument_status: _Optional[_Union[InstrumentStatus, str]] = ...) -> None: ...

class GetLastPricesResponse(_message.Message):
    __slots__ = ("last_prices",)
    LAST_PRICES_FIELD_NUMBER: _ClassVar[int]
    last_prices: _containers.RepeatedCompositeFieldContainer[LastPrice]
    def __init__(self, last_prices: _Optional[_Iterable[_Union[LastPrice, _Mapping]]] = ...) -> None: ...

class LastPrice(_message.Message):
    __slots__ = ("figi", "price", "time", "ticker", "class_code", "instrument_uid", "last_price_type")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    LAST_PRICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    figi: str
    price: Quotation
    time: _timestamp_pb2.Timestamp
    ticker: str
    class_code: str
    instrument_uid: str
    last_price_type: LastPriceType
    def __init__(self, figi: _Optional[str] = ..., price: _Optional[_Union[Quotation, _Mapping]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ..., instrument_uid: _Optional[str] = ..., last_price_type: _Optional[_Union[LastPriceType, str]] = ...) -> None: ...

class OpenInterest(_message.Message):
    __slots__ = ("instrument_uid", "time", "open_interest", "ticker", "class_code")
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    OPEN_INTEREST_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    instrument_uid: str
    time: _timestamp_pb2.Timestamp
    open_interest: int
    ticker: str
    class_code: str
    def __init__(self, instrument_uid: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., open_interest: _Optional[int] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ...) -> None: ...

class GetTradingStatusRequest(_message.Message):
    __slots__ = ("figi", "instrument_id")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    figi: str
    instrument_id: str
    def __init__(self, figi: _Optional[str] = ..., instrument_id: _Optional[str] = ...) -> None: ...

class GetTradingStatusResponse(_message.Message):
    __slots__ = ("figi", "trading_status", "limit_order_available_flag", "market_order_available_flag", "api_trade_available_flag", "instrument_uid", "bestprice_order_available_flag", "only_best_price", "ticker", "class_code")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    TRADING_STATUS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_ORDER_AVAILABLE_FLAG_FIELD_NUMBER: _ClassVar[int]
    MARKET_ORDER_AVAILABLE_FLAG_FIELD_NUMBER: _ClassVar[int]
    API_TRADE_AVAILABLE_FLAG_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    BESTPRICE_ORDER_AVAILABLE_FLAG_FIELD_NUMBER: _ClassVar[int]
    ONLY_BEST_PRICE_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    figi: str
    trading_status: SecurityTradingStatus
    limit_order_available_flag: bool
    market_order_available_flag: bool
    api_trade_available_flag: bool
    instrument_uid: str
    bestprice_order_available_flag: bool
    only_best_price: bool
    ticker: str
    class_code: str
    def __init__(self, figi: _Optional[str] = ..., trading_status: _Optional[_Union[SecurityTradingStatus, str]] = ..., limit_order_available_flag: _Optional[bool] = ..., market_order_available_flag: _Optional[bool] = ..., api_trade_available_flag: _Optional[bool] = ..., instrument_uid: _Optional[str] = ..., bestprice_order_available_flag: _Optional[bool] = ..., only_best_price: _Optional[bool] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ...) -> None: ...

class GetOrderBookRequest(_message.Message):
    __slots__ = ("figi", "depth", "instrument_id")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    figi: str
    depth: int
    instrument_id: str
    def __init__(self, figi: _Optional[str] = ..., depth: _Optional[int] = ..., instrument_id: _Optional[str] = ...) -> None: ...

class GetOrderBookResponse(_message.Message):
    __slots__ = ("figi", "depth", "bids", "asks", "last_price", "close_price", "limit_up", "limit_down", "instrument_uid", "ticker", "class_code", "last_price_ts", "close_price_ts", "orderbook_ts")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    BIDS_FIELD_NUMBER: _ClassVar[int]
    ASKS_FIELD_NUMBER: _ClassVar[int]
    LAST_PRICE_FIELD_NUMBER: _ClassVar[int]
    CLOSE_PRICE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_UP_FIELD_NUMBER: _ClassVar[int]
    LIMIT_DOWN_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    LAST_PRICE_TS_FIELD_NUMBER: _ClassVar[int]
    CLOSE_PRICE_TS_FIELD_NUMBER: _ClassVar[int]
    ORDERBOOK_TS_FIELD_NUMBER: _ClassVar[int]
    figi: str
    depth: int
    bids: _containers.RepeatedCompositeFieldContainer[Order]
    asks: _containers.RepeatedCompositeFieldContainer[Order]
    last_price: Quotation
    close_price: Quotation
    limit_up: Quotation
    limit_down: Quotation
    instrument_uid: str
    ticker: str
    class_code: str
    last_price_ts: _timestamp_pb2.Timestamp
    close_price_ts: _timestamp_pb2.Timestamp
    orderbook_ts: _timestamp_pb2.Timestamp
    def __init__(self, figi: _Optional[str] = ..., depth: _Optional[int] = ..., bids: _Optional[_Iterable[_Union[Order, _Mapping]]] = ..., asks: _Optional[_Iterable[_Union[Order, _Mapping]]] = ..., last_price: _Optional[_Union[Quotation, _Mapping]] = ..., close_price: _Optional[_Union[Quotation, _Mapping]] = ..., limit_up: _Optional[_Union[Quotation, _Mapping]] = ..., limit_down: _Optional[_Union[Quotation, _Mapping]] = ..., instrument_uid: _Optional[str] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ..., last_price_ts: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., close_price_ts: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., orderbook_ts: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetTradingStatusesRequest(_message.Message):
    __slots__ = ("instrument_id",)
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    instrument_id: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, instrument_id: _Optional[_Iterable[str]] = ...) -> None: ...

class GetTradingStatusesResponse(_message.Message):
    __slots__ = ("trading_statuses",)
    TRADING_STATUSES_FIELD_NUMBER: _ClassVar[int]
    trading_statuses: _containers.RepeatedCompositeFieldContainer[GetTradingStatusResponse]
    def __init__(self, trading_statuses: _Optional[_Iterable[_Union[GetTradingStatusResponse, _Mapping]]] = ...) -> None: ...

class GetLastTradesRequest(_message.Message):
    __slots__ = ("figi", "to", "instrument_id", "trade_source")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    TRADE_SOURCE_FIELD_NUMBER: _ClassVar[int]
    figi: str
    to: _timestamp_pb2.Timestamp
    instrument_id: str
    trade_source: TradeSourceType
    def __init__(self, figi: _Optional[str] = ..., to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., instrument_id: _Optional[str] = ..., trade_source: _Optional[_Union[TradeSourceType, str]] = ..., **kwargs) -> None: ...

class GetLastTradesResponse(_message.Message):
    __slots__ = ("trades",)
    TRADES_FIELD_NUMBER: _ClassVar[int]
    trades: _containers.RepeatedCompositeFieldContainer[Trade]
    def __init__(self, trades: _Optional[_Iterable[_Union[Trade, _Mapping]]] = ...) -> None: ...

class GetMySubscriptions(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PortfolioRequest(_message.Message):
    __slots__ = ("account_id", "currency")
    class CurrencyRequest(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        RUB: _ClassVar[PortfolioRequest.CurrencyRequest]
        USD: _ClassVar[PortfolioRequest.CurrencyRequest]
        EUR: _ClassVar[PortfolioRequest.CurrencyRequest]
    RUB: PortfolioRequest.CurrencyRequest
    USD: PortfolioRequest.CurrencyRequest
    EUR: PortfolioRequest.CurrencyRequest
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    currency: PortfolioRequest.CurrencyRequest
    def __init__(self, account_id: _Optional[str] = ..., currency: _Optional[_Union[PortfolioRequest.CurrencyRequest, str]] = ...) -> None: ...

class PortfolioResponse(_message.Message):
    __slots__ = ("total_amount_shares", "total_amount_bonds", "total_amount_etf", "total_amount_currencies", "total_amount_futures", "expected_yield", "positions", "account_id", "total_amount_options", "total_amount_sp", "total_amount_portfolio", "virtual_positions", "daily_yield", "daily_yield_relative")
    TOTAL_AMOUNT_SHARES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_BONDS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_ETF_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_CURRENCIES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_FUTURES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_YIELD_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_SP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_PORTFOLIO_FIELD_NUMBER: _ClassVar[int]
    VIRTUAL_POSITIONS_FIELD_NUMBER: _ClassVar[int]
    DAILY_YIELD_FIELD_NUMBER: _ClassVar[int]
    DAILY_YIELD_RELATIVE_FIELD_NUMBER: _ClassVar[int]
    total_amount_shares: MoneyValue
    total_amount_bonds: MoneyValue
    total_amount_etf: MoneyValue
    total_amount_currencies: MoneyValue
    total_amount_futures: MoneyValue
    expected_yield: Quotation
    positions: _containers.RepeatedCompositeFieldContainer[PortfolioPosition]
    account_id: str
    total_amount_options: MoneyValue
    total_amount_sp: MoneyValue
    total_amount_portfolio: MoneyValue
    virtual_positions: _containers.RepeatedCompositeFieldContainer[VirtualPortfolioPosition]
    daily_yield: MoneyValue
    daily_yield_relative: Quotation
    def __init__(self, total_amount_shares: _Optional[_Union[MoneyValue, _Mapping]] = ..., total_amount_bonds: _Optional[_Union[MoneyValue, _Mapping]] = ..., total_amount_etf: _Optional[_Union[MoneyValue, _Mapping]] = ..., total_amount_currencies: _Optional[_Union[MoneyValue, _Mapping]] = ..., total_amount_futures: _Optional[_Union[MoneyValue, _Mapping]] = ..., expected_yield: _Optional[_Union[Quotation, _Mapping]] = ..., positions: _Optional[_Iterable[_Union[PortfolioPosition, _Mapping]]] = ..., account_id: _Optional[str] = ..., total_amount_options: _Optional[_Union[MoneyValue, _Mapping]] = ..., total_amount_sp: _Optional[_Union[MoneyValue, _Mapping]] = ..., total_amount_portfolio: _Optional[_Union[MoneyValue, _Mapping]] = ..., virtual_positions: _Optional[_Iterable[_Union[VirtualPortfolioPosition, _Mapping]]] = ..., daily_yield: _Optional[_Union[MoneyValue, _Mapping]] = ..., daily_yield_relative: _Optional[_Union[Quotation, _Mapping]] = ...) -> None: ...

class PositionsRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class PositionsResponse(_message.Message):
    __slots__ = ("money", "blocked", "securities", "limits_loading_in_progress", "futures", "options", "account_id")
    MONEY_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_FIELD_NUMBER: _ClassVar[int]
    SECURITIES_FIELD_NUMBER: _ClassVar[int]
    LIMITS_LOADING_IN_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    FUTURES_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    money: _containers.RepeatedCompositeFieldContainer[MoneyValue]
    blocked: _containers.RepeatedCompositeFieldContainer[MoneyValue]
    securities: _containers.RepeatedCompositeFieldContainer[PositionsSecurities]
    limits_loading_in_progress: bool
    futures: _containers.RepeatedCompositeFieldContainer[PositionsFutures]
    options: _containers.RepeatedCompositeFieldContainer[PositionsOptions]
    account_id: str
    def __init__(self, money: _Optional[_Iterable[_Union[MoneyValue, _Mapping]]] = ..., blocked: _Optional[_Iterable[_Union[MoneyValue, _Mapping]]] = ..., securities: _Optional[_Iterable[_Union[PositionsSecurities, _Mapping]]] = ..., limits_loading_in_progress: _Optional[bool] = ..., futures: _Optional[_Iterable[_Union[PositionsFutures, _Mapping]]] = ..., options: _Optional[_Iterable[_Union[PositionsOptions, _Mapping]]] = ..., account_id: _Optional[str] = ...) -> None: ...

class PortfolioPosition(_message.Message):
    __slots__ = ("figi", "instrument_type", "quantity", "average_position_price", "expected_yield", "current_nkd", "average_position_price_pt", "current_price", "average_position_price_fifo", "quantity_lots", "blocked", "blocked_lots", "position_uid", "instrument_uid", "var_margin", "expected_yield_fifo", "daily_yield", "ticker", "class_code")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_POSITION_PRICE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_YIELD_FIELD_NUMBER: _ClassVar[int]
    CURRENT_NKD_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_POSITION_PRICE_PT_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PRICE_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_POSITION_PRICE_FIFO_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_LOTS_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_LOTS_FIELD_NUMBER: _ClassVar[int]
    POSITION_UID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    VAR_MARGIN_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_YIELD_FIFO_FIELD_NUMBER: _ClassVar[int]
    DAILY_YIELD_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    figi: str
    instrument_type: str
    quantity: Quotation
    average_position_price: MoneyValue
    expected_yield: Quotation
    current_nkd: MoneyValue
    average_position_price_pt: Quotation
    current_price: MoneyValue
    average_position_price_fifo: MoneyValue
    quantity_lots: Quotation
    blocked: bool
    blocked_lots: Quotation
    position_uid: str
    instrument_uid: str
    var_margin: MoneyValue
    expected_yield_fifo: Quotation
    daily_yield: MoneyValue
    ticker: str
    class_code: str
    def __init__(self, figi: _Optional[str] = ..., instrument_type: _Optional[str] = ..., quantity: _Optional[_Union[Quotation, _Mapping]] = ..., average_position_price: _Optional[_Union[MoneyValue, _Mapping]] = ..., expected_yield: _Optional[_Union[Quotation, _Mapping]] = ..., current_nkd: _Optional[_Union[MoneyValue, _Mapping]] = ..., average_position_price_pt: _Optional[_Union[Quotation, _Mapping]] = ..., current_price: _Optional[_Union[MoneyValue, _Mapping]] = ..., average_position_price_fifo: _Optional[_Union[MoneyValue, _Mapping]] = ..., quantity_lots: _Optional[_Union[Quotation, _Mapping]] = ..., blocked: _Optional[bool] = ..., blocked_lots: _Optional[_Union[Quotation, _Mapping]] = ..., position_uid: _Optional[str] = ..., instrument_uid: _Optional[str] = ..., var_margin: _Optional[_Union[MoneyValue, _Mapping]] = ..., expected_yield_fifo: _Optional[_Union[Quotation, _Mapping]] = ..., daily_yield: _Optional[_Union[MoneyValue, _Mapping]] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ...) -> None: ...

class VirtualPortfolioPosition(_message.Message):
    __slots__ = ("position_uid", "instrument_uid", "figi", "instrument_type", "quantity", "average_position_price", "expected_yield", "expected_yield_fifo", "expire_date", "current_price", "average_position_price_fifo", "daily_yield", "ticker", "class_code")
    POSITION_UID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    FIGI_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_POSITION_PRICE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_YIELD_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_YIELD_FIFO_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_DATE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PRICE_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_POSITION_PRICE_FIFO_FIELD_NUMBER: _ClassVar[int]
    DAILY_YIELD_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    position_uid: str
    instrument_uid: str
    figi: str
    instrument_type: str
    quantity: Quotation
    average_position_price: MoneyValue
    expected_yield: Quotation
    expected_yield_fifo: Quotation
    expire_date: _timestamp_pb2.Timestamp
    current_price: MoneyValue
    average_position_price_fifo: MoneyValue
    daily_yield: MoneyValue
    ticker: str
    class_code: str
    def __init__(self, position_uid: _Optional[str] = ..., instrument_uid: _Optional[str] = ..., figi: _Optional[str] = ..., instrument_type: _Optional[str] = ..., quantity: _Optional[_Union[Quotation, _Mapping]] = ..., average_position_price: _Optional[_Union[MoneyValue, _Mapping]] = ..., expected_yield: _Optional[_Union[Quotation, _Mapping]] = ..., expected_yield_fifo: _Optional[_Union[Quotation, _Mapping]] = ..., expire_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., current_price: _Optional[_Union[MoneyValue, _Mapping]] = ..., average_position_price_fifo: _Optional[_Union[MoneyValue, _Mapping]] = ..., daily_yield: _Optional[_Union[MoneyValue, _Mapping]] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ...) -> None: ...

class PositionsSecurities(_message.Message):
    __slots__ = ("figi", "blocked", "balance", "position_uid", "instrument_uid", "ticker", "class_code", "exchange_blocked", "instrument_type")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    POSITION_UID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_BLOCKED_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    figi: str
    blocked: int
    balance: int
    position_uid: str
    instrument_uid: str
    ticker: str
    class_code: str
    exchange_blocked: bool
    instrument_type: str
    def __init__(self, figi: _Optional[str] = ..., blocked: _Optional[int] = ..., balance: _Optional[int] = ..., position_uid: _Optional[str] = ..., instrument_uid: _Optional[str] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ..., exchange_blocked: _Optional[bool] = ..., instrument_type: _Optional[str] = ...) -> None: ...

class PositionsFutures(_message.Message):
    __slots__ = ("figi", "blocked", "balance", "position_uid", "instrument_uid", "ticker", "class_code")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    POSITION_UID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    figi: str
    blocked: int
    balance: int
    position_uid: str
    instrument_uid: str
    ticker: str
    class_code: str
    def __init__(self, figi: _Optional[str] = ..., blocked: _Optional[int] = ..., balance: _Optional[int] = ..., position_uid: _Optional[str] = ..., instrument_uid: _Optional[str] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ...) -> None: ...

class PositionsOptions(_message.Message):
    __slots__ = ("position_uid", "instrument_uid", "ticker", "class_code", "blocked", "balance")
    POSITION_UID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    position_uid: str
    instrument_uid: str
    ticker: str
    class_code: str
    blocked: int
    balance: int
    def __init__(self, position_uid: _Optional[str] = ..., instrument_uid: _Optional[str] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ..., blocked: _Optional[int] = ..., balance: _Optional[int] = ...) -> None: ...

class TradesStreamRequest(_message.Message):
    __slots__ = ("accounts", "ping_delay_ms")
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    PING_DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedScalarFieldContainer[str]
    ping_delay_ms: int
    def __init__(self, accounts: _Optional[_Iterable[str]] = ..., ping_delay_ms: _Optional[int] = ...) -> None: ...

class TradesStreamResponse(_message.Message):
    __slots__ = ("order_trades", "ping", "subscription")
    ORDER_TRADES_FIELD_NUMBER: _ClassVar[int]
    PING_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    order_trades: OrderTrades
    ping: Ping
    subscription: SubscriptionResponse
    def __init__(self, order_trades: _Optional[_Union[OrderTrades, _Mapping]] = ..., ping: _Optional[_Union[Ping, _Mapping]] = ..., subscription: _Optional[_Union[SubscriptionResponse, _Mapping]] = ...) -> None: ...

class OrderTrades(_message.Message):
    __slots__ = ("order_id", "created_at", "direction", "figi", "trades", "account_id", "instrument_uid")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    FIGI_FIELD_NUMBER: _ClassVar[int]
    TRADES_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    created_at: _timestamp_pb2.Timestamp
    direction: OrderDirection
    figi: str
    trades: _containers.RepeatedCompositeFieldContainer[OrderTrade]
    account_id: str
    instrument_uid: str
    def __init__(self, order_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., direction: _Optional[_Union[OrderDirection, str]] = ..., figi: _Optional[str] = ..., trades: _Optional[_Iterable[_Union[OrderTrade, _Mapping]]] = ..., account_id: _Optional[str] = ..., instrument_uid: _Optional[str] = ...) -> None: ...

class OrderTrade(_message.Message):
    __slots__ = ("date_time", "price", "quantity", "trade_id")
    DATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    date_time: _timestamp_pb2.Timestamp
    price: Quotation
    quantity: int
    trade_id: str
    def __init__(self, date_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., price: _Optional[_Union[Quotation, _Mapping]] = ..., quantity: _Optional[int] = ..., trade_id: _Optional[str] = ...) -> None: ...

class PostOrderRequest(_message.Message):
    __slots__ = ("figi", "quantity", "price", "direction", "account_id", "order_type", "order_id", "instrument_id", "time_in_force", "price_type", "confirm_margin_trade")
    FIGI_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_FORCE_FIELD_NUMBER: _ClassVar[int]
    PRICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_MARGIN_TRADE_FIELD_NUMBER: _ClassVar[int]
    figi: str
    quantity: int
    price: Quotation
    direction: OrderDirection
    account_id: str
    order_type: OrderType
    order_id: str
    instrument_id: str
    time_in_force: TimeInForceType
    price_type: PriceType
    confirm_margin_trade: bool
    def __init__(self, figi: _Optional[str] = ..., quantity: _Optional[int] = ..., price: _Optional[_Union[Quotation, _Mapping]] = ..., direction: _Optional[_Union[OrderDirection, str]] = ..., account_id: _Optional[str] = ..., order_type: _Optional[_Union[OrderType, str]] = ..., order_id: _Optional[str] = ..., instrument_id: _Optional[str] = ..., time_in_force: _Optional[_Union[TimeInForceType, str]] = ..., price_type: _Optional[_Union[PriceType, str]] = ..., confirm_margin_trade: _Optional[bool] = ...) -> None: ...

class PostOrderResponse(_message.Message):
    __slots__ = ("order_id", "execution_report_status", "lots_requested", "lots_executed", "initial_order_price", "executed_order_price", "total_order_amount", "initial_commission", "executed_commission", "aci_value", "figi", "direction", "initial_security_price", "order_type", "message", "initial_order_price_pt", "instrument_uid", "ticker", "class_code", "order_request_id", "response_metadata")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_REPORT_STATUS_FIELD_NUMBER: _ClassVar[int]
    LOTS_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    LOTS_EXECUTED_FIELD_NUMBER: _ClassVar[int]
    INITIAL_ORDER_PRICE_FIELD_NUMBER: _ClassVar[int]
    EXECUTED_ORDER_PRICE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ORDER_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    INITIAL_COMMISSION_FIELD_NUMBER: _ClassVar[int]
    EXECUTED_COMMISSION_FIELD_NUMBER: _ClassVar[int]
    ACI_VALUE_FIELD_NUMBER: _ClassVar[int]
    FIGI_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    INITIAL_SECURITY_PRICE_FIELD_NUMBER: _ClassVar[int]
    ORDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    INITIAL_ORDER_PRICE_PT_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    ORDER_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_METADATA_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    execution_report_status: OrderExecutionReportStatus
    lots_requested: int
    lots_executed: int
    initial_order_price: MoneyValue
    executed_order_price: MoneyValue
    total_order_amount: MoneyValue
    initial_commission: MoneyValue
    executed_commission: MoneyValue
    aci_value: MoneyValue
    figi: str
    direction: OrderDirection
    initial_security_price: MoneyValue
    order_type: OrderType
    message: str
    initial_order_price_pt: Quotation
    instrument_uid: str
    ticker: str
    class_code: str
    order_request_id: str
    response_metadata: ResponseMetadata
    def __init__(self, order_id: _Optional[str] = ..., execution_report_status: _Optional[_Union[OrderExecutionReportStatus, str]] = ..., lots_requested: _Optional[int] = ..., lots_executed: _Optional[int] = ..., initial_order_price: _Optional[_Union[MoneyValue, _Mapping]] = ..., executed_order_price: _Optional[_Union[MoneyValue, _Mapping]] = ..., total_order_amount: _Optional[_Union[MoneyValue, _Mapping]] = ..., initial_commission: _Optional[_Union[MoneyValue, _Mapping]] = ..., executed_commission: _Optional[_Union[MoneyValue, _Mapping]] = ..., aci_value: _Optional[_Union[MoneyValue, _Mapping]] = ..., figi: _Optional[str] = ..., direction: _Optional[_Union[OrderDirection, str]] = ..., initial_security_price: _Optional[_Union[MoneyValue, _Mapping]] = ..., order_type: _Optional[_Union[OrderType, str]] = ..., message: _Optional[str] = ..., initial_order_price_pt: _Optional[_Union[Quotation, _Mapping]] = ..., instrument_uid: _Optional[str] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ..., order_request_id: _Optional[str] = ..., response_metadata: _Optional[_Union[ResponseMetadata, _Mapping]] = ...) -> None: ...

class CancelOrderRequest(_message.Message):
    __slots__ = ("account_id", "order_id", "order_id_type")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_TYPE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    order_id: str
    order_id_type: OrderIdType
    def __init__(self, account_id: _Optional[str] = ..., order_id: _Optional[str] = ..., order_id_type: _Optional[_Union[OrderIdType, str]] = ...) -> None: ...

class CancelOrderResponse(_message.Message):
    __slots__ = ("time", "response_metadata")
    TIME_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_METADATA_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    response_metadata: ResponseMetadata
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., response_metadata: _Optional[_Union[ResponseMetadata, _Mapping]] = ...) -> None: ...

class GetOrderStateRequest(_message.Message):
    __slots__ = ("account_id", "order_id", "price_type", "order_id_type")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_TYPE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    order_id: str
    price_type: PriceType
    order_id_type: OrderIdType
    def __init__(self, account_id: _Optional[str] = ..., order_id: _Optional[str] = ..., price_type: _Optional[_Union[PriceType, str]] = ..., order_id_type: _Optional[_Union[OrderIdType, str]] = ...) -> None: ...

class GetOrdersRequest(_message.Message):
    __slots__ = ("account_id", "advanced_filters")
    class GetOrdersRequestFilters(_message.Message):
        __slots__ = ("to", "execution_status")
        FROM_FIELD_NUMBER: _ClassVar[int]
        TO_FIELD_NUMBER: _ClassVar[int]
        EXECUTION_STATUS_FIELD_NUMBER: _ClassVar[int]
        to: _timestamp_pb2.Timestamp
        execution_status: _containers.RepeatedScalarFieldContainer[OrderExecutionReportStatus]
        def __init__(self, to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., execution_status: _Optional[_Iterable[_Union[OrderExecutionReportStatus, str]]] = ..., **kwargs) -> None: ...
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ADVANCED_FILTERS_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    advanced_filters: GetOrdersRequest.GetOrdersRequestFilters
    def __init__(self, account_id: _Optional[str] = ..., advanced_filters: _Optional[_Union[GetOrdersRequest.GetOrdersRequestFilters, _Mapping]] = ...) -> None: ...

class GetOrdersResponse(_message.Message):
    __slots__ = ("orders",)
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[OrderState]
    def __init__(self, orders: _Optional[_Iterable[_Union[OrderState, _Mapping]]] = ...) -> None: ...

class OrderState(_message.Message):
    __slots__ = ("order_id", "execution_report_status", "lots_requested", "lots_executed", "initial_order_price", "executed_order_price", "total_order_amount", "average_position_price", "initial_commission", "executed_commission", "figi", "direction", "initial_security_price", "stages", "service_commission", "currency", "order_type", "order_date", "instrument_uid", "order_request_id", "ticker", "class_code")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_REPORT_STATUS_FIELD_NUMBER: _ClassVar[int]
    LOTS_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    LOTS_EXECUTED_FIELD_NUMBER: _ClassVar[int]
    INITIAL_ORDER_PRICE_FIELD_NUMBER: _ClassVar[int]
    EXECUTED_ORDER_PRICE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ORDER_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_POSITION_PRICE_FIELD_NUMBER: _ClassVar[int]
    INITIAL_COMMISSION_FIELD_NUMBER: _ClassVar[int]
    EXECUTED_COMMISSION_FIELD_NUMBER: _ClassVar[int]
    FIGI_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    INITIAL_SECURITY_PRICE_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    SERVICE_COMMISSION_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ORDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    ORDER_DATE_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    ORDER_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    execution_report_status: OrderExecutionReportStatus
    lots_requested: int
    lots_executed: int
    initial_order_price: MoneyValue
    executed_order_price: MoneyValue
    total_order_amount: MoneyValue
    average_position_price: MoneyValue
    initial_commission: MoneyValue
    executed_commission: MoneyValue
    figi: str
    direction: OrderDirection
    initial_security_price: MoneyValue
    stages: _containers.RepeatedCompositeFieldContainer[OrderStage]
    service_commission: MoneyValue
    currency: str
    order_type: OrderType
    order_date: _timestamp_pb2.Timestamp
    instrument_uid: str
    order_request_id: str
    ticker: str
    class_code: str
    def __init__(self, order_id: _Optional[str] = ..., execution_report_status: _Optional[_Union[OrderExecutionReportStatus, str]] = ..., lots_requested: _Optional[int] = ..., lots_executed: _Optional[int] = ..., initial_order_price: _Optional[_Union[MoneyValue, _Mapping]] = ..., executed_order_price: _Optional[_Union[MoneyValue, _Mapping]] = ..., total_order_amount: _Optional[_Union[MoneyValue, _Mapping]] = ..., average_position_price: _Optional[_Union[MoneyValue, _Mapping]] = ..., initial_commission: _Optional[_Union[MoneyValue, _Mapping]] = ..., executed_commission: _Optional[_Union[MoneyValue, _Mapping]] = ..., figi: _Optional[str] = ..., direction: _Optional[_Union[OrderDirection, str]] = ..., initial_security_price: _Optional[_Union[MoneyValue, _Mapping]] = ..., stages: _Optional[_Iterable[_Union[OrderStage, _Mapping]]] = ..., service_commission: _Optional[_Union[MoneyValue, _Mapping]] = ..., currency: _Optional[str] = ..., order_type: _Optional[_Union[OrderType, str]] = ..., order_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., instrument_uid: _Optional[str] = ..., order_request_id: _Optional[str] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ...) -> None: ...

class OrderStage(_message.Message):
    __slots__ = ("price", "quantity", "trade_id", "execution_time")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_TIME_FIELD_NUMBER: _ClassVar[int]
    price: MoneyValue
    quantity: int
    trade_id: str
    execution_time: _timestamp_pb2.Timestamp
    def __init__(self, price: _Optional[_Union[MoneyValue, _Mapping]] = ..., quantity: _Optional[int] = ..., trade_id: _Optional[str] = ..., execution_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OrderStateStreamRequest(_message.Message):
    __slots__ = ("accounts", "ping_delay_millis")
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    PING_DELAY_MILLIS_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedScalarFieldContainer[str]
    ping_delay_millis: int
    def __init__(self, accounts: _Optional[_Iterable[str]] = ..., ping_delay_millis: _Optional[int] = ...) -> None: ...

class SubscriptionResponse(_message.Message):
    __slots__ = ("tracking_id", "status", "stream_id", "accounts", "error")
    TRACKING_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    tracking_id: str
    status: ResultSubscriptionStatus
    stream_id: str
    accounts: _containers.RepeatedScalarFieldContainer[str]
    error: ErrorDetail
    def __init__(self, tracking_id: _Optional[str] = ..., status: _Optional[_Union[ResultSubscriptionStatus, str]] = ..., stream_id: _Optional[str] = ..., accounts: _Optional[_Iterable[str]] = ..., error: _Optional[_Union[ErrorDetail, _Mapping]] = ...) -> None: ...

class OrderStateStreamResponse(_message.Message):
    __slots__ = ("order_state", "ping", "subscription")
    class MarkerType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MARKER_UNKNOWN: _ClassVar[OrderStateStreamResponse.MarkerType]
        MARKER_BROKER: _ClassVar[OrderStateStreamResponse.MarkerType]
        MARKER_CHAT: _ClassVar[OrderStateStreamResponse.MarkerType]
        MARKER_PAPER: _ClassVar[OrderStateStreamResponse.MarkerType]
        MARKER_MARGIN: _ClassVar[OrderStateStreamResponse.MarkerType]
        MARKER_TKBNM: _ClassVar[OrderStateStreamResponse.MarkerType]
        MARKER_SHORT: _ClassVar[OrderStateStreamResponse.MarkerType]
        MARKER_SPECMM: _ClassVar[OrderStateStreamResponse.MarkerType]
        MARKER_PO: _ClassVar[OrderStateStreamResponse.MarkerType]
    MARKER_UNKNOWN: OrderStateStreamResponse.MarkerType
    MARKER_BROKER: OrderStateStreamResponse.MarkerType
    MARKER_CHAT: OrderStateStreamResponse.MarkerType
    MARKER_PAPER: OrderStateStreamResponse.MarkerType
    MARKER_MARGIN: OrderStateStreamResponse.MarkerType
    MARKER_TKBNM: OrderStateStreamResponse.MarkerType
    MARKER_SHORT: OrderStateStreamResponse.MarkerType
    MARKER_SPECMM: OrderStateStreamResponse.MarkerType
    MARKER_PO: OrderStateStreamResponse.MarkerType
    class StatusCauseInfo(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        CAUSE_UNSPECIFIED: _ClassVar[OrderStateStreamResponse.StatusCauseInfo]
        CAUSE_CANCELLED_BY_CLIENT: _ClassVar[OrderStateStreamResponse.StatusCauseInfo]
        CAUSE_CANCELLED_BY_EXCHANGE: _ClassVar[OrderStateStreamResponse.StatusCauseInfo]
        CAUSE_CANCELLED_NOT_ENOUGH_POSITION: _ClassVar[OrderStateStreamResponse.StatusCauseInfo]
        CAUSE_CANCELLED_BY_CLIENT_BLOCK: _ClassVar[OrderStateStreamResponse.StatusCauseInfo]
        CAUSE_REJECTED_BY_BROKER: _ClassVar[OrderStateStreamResponse.StatusCauseInfo]
        CAUSE_REJECTED_BY_EXCHANGE: _ClassVar[OrderStateStreamResponse.StatusCauseInfo]
        CAUSE_CANCELLED_BY_BROKER: _ClassVar[OrderStateStreamResponse.StatusCauseInfo]
    CAUSE_UNSPECIFIED: OrderStateStreamResponse.StatusCauseInfo
    CAUSE_CANCELLED_BY_CLIENT: OrderStateStreamResponse.StatusCauseInfo
    CAUSE_CANCELLED_BY_EXCHANGE: OrderStateStreamResponse.StatusCauseInfo
    CAUSE_CANCELLED_NOT_ENOUGH_POSITION: OrderStateStreamResponse.StatusCauseInfo
    CAUSE_CANCELLED_BY_CLIENT_BLOCK: OrderStateStreamResponse.StatusCauseInfo
    CAUSE_REJECTED_BY_BROKER: OrderStateStreamResponse.StatusCauseInfo
    CAUSE_REJECTED_BY_EXCHANGE: OrderStateStreamResponse.StatusCauseInfo
    CAUSE_CANCELLED_BY_BROKER: OrderStateStreamResponse.StatusCauseInfo
    class OrderState(_message.Message):
        __slots__ = ("order_id", "order_request_id", "client_code", "created_at", "execution_report_status", "status_info", "ticker", "class_code", "lot_size", "direction", "time_in_force", "order_type", "account_id", "initial_order_price", "order_price", "amount", "executed_order_price", "currency", "lots_requested", "lots_executed", "lots_left", "lots_cancelled", "marker", "trades", "completion_time", "exchange", "instrument_uid")
        ORDER_ID_FIELD_NUMBER: _ClassVar[int]
        ORDER_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
        CLIENT_CODE_FIELD_NUMBER: _ClassVar[int]
        CREATED_AT_FIELD_NUMBER: _ClassVar[int]
        EXECUTION_REPORT_STATUS_FIELD_NUMBER: _ClassVar[int]
        STATUS_INFO_FIELD_NUMBER: _ClassVar[int]
        TICKER_FIELD_NUMBER: _ClassVar[int]
        CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
        LOT_SIZE_FIELD_NUMBER: _ClassVar[int]
        DIRECTION_FIELD_NUMBER: _ClassVar[int]
        TIME_IN_FORCE_FIELD_NUMBER: _ClassVar[int]
        ORDER_TYPE_FIELD_NUMBER: _ClassVar[int]
        ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
        INITIAL_ORDER_PRICE_FIELD_NUMBER: _ClassVar[int]
        ORDER_PRICE_FIELD_NUMBER: _ClassVar[int]
        AMOUNT_FIELD_NUMBER: _ClassVar[int]
        EXECUTED_ORDER_PRICE_FIELD_NUMBER: _ClassVar[int]
        CURRENCY_FIELD_NUMBER: _ClassVar[int]
        LOTS_REQUESTED_FIELD_NUMBER: _ClassVar[int]
        LOTS_EXECUTED_FIELD_NUMBER: _ClassVar[int]
        LOTS_LEFT_FIELD_NUMBER: _ClassVar[int]
        LOTS_CANCELLED_FIELD_NUMBER: _ClassVar[int]
        MARKER_FIELD_NUMBER: _ClassVar[int]
        TRADES_FIELD_NUMBER: _ClassVar[int]
        COMPLETION_TIME_FIELD_NUMBER: _ClassVar[int]
        EXCHANGE_FIELD_NUMBER: _ClassVar[int]
        INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
        order_id: str
        order_request_id: str
        client_code: str
        created_at: _timestamp_pb2.Timestamp
        execution_report_status: OrderExecutionReportStatus
        status_info: OrderStateStreamResponse.StatusCauseInfo
        ticker: str
        class_code: str
        lot_size: int
        direction: OrderDirection
        time_in_force: TimeInForceType
        order_type: OrderType
        account_id: str
        initial_order_price: MoneyValue
        order_price: MoneyValue
        amount: MoneyValue
        executed_order_price: MoneyValue
        currency: str
        lots_requested: int
        lots_executed: int
        lots_left: int
        lots_cancelled: int
        marker: OrderStateStreamResponse.MarkerType
        trades: _containers.RepeatedCompositeFieldContainer[OrderTrade]
        completion_time: _timestamp_pb2.Timestamp
        exchange: str
        instrument_uid: str
        def __init__(self, order_id: _Optional[str] = ..., order_request_id: _Optional[str] = ..., client_code: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., execution_report_status: _Optional[_Union[OrderExecutionReportStatus, str]] = ..., status_info: _Optional[_Union[OrderStateStreamResponse.StatusCauseInfo, str]] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ..., lot_size: _Optional[int] = ..., direction: _Optional[_Union[OrderDirection, str]] = ..., time_in_force: _Optional[_Union[TimeInForceType, str]] = ..., order_type: _Optional[_Union[OrderType, str]] = ..., account_id: _Optional[str] = ..., initial_order_price: _Optional[_Union[MoneyValue, _Mapping]] = ..., order_price: _Optional[_Union[MoneyValue, _Mapping]] = ..., amount: _Optional[_Union[MoneyValue, _Mapping]] = ..., executed_order_price: _Optional[_Union[MoneyValue, _Mapping]] = ..., currency: _Optional[str] = ..., lots_requested: _Optional[int] = ..., lots_executed: _Optional[int] = ..., lots_left: _Optional[int] = ..., lots_cancelled: _Optional[int] = ..., marker: _Optional[_Union[OrderStateStreamResponse.MarkerType, str]] = ..., trades: _Optional[_Iterable[_Union[OrderTrade, _Mapping]]] = ..., completion_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., exchange: _Optional[str] = ..., instrument_uid: _Optional[str] = ...) -> None: ...
    ORDER_STATE_FIELD_NUMBER: _ClassVar[int]
    PING_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    order_state: OrderStateStreamResponse.OrderState
    ping: Ping
    subscription: SubscriptionResponse
    def __init__(self, order_state: _Optional[_Union[OrderStateStreamResponse.OrderState, _Mapping]] = ..., ping: _Optional[_Union[Ping, _Mapping]] = ..., subscription: _Optional[_Union[SubscriptionResponse, _Mapping]] = ...) -> None: ...

class PostStopOrderRequest(_message.Message):
    __slots__ = ("figi", "quantity", "price", "stop_price", "direction", "account_id", "expiration_type", "stop_order_type", "expire_date", "instrument_id", "exchange_order_type", "take_profit_type", "trailing_data", "price_type", "order_id", "confirm_margin_trade")
    class TrailingData(_message.Message):
        __slots__ = ("indent", "indent_type", "spread", "spread_type")
        INDENT_FIELD_NUMBER: _ClassVar[int]
        INDENT_TYPE_FIELD_NUMBER: _ClassVar[int]
        SPREAD_FIELD_NUMBER: _ClassVar[int]
        SPREAD_TYPE_FIELD_NUMBER: _ClassVar[int]
        indent: Quotation
        indent_type: TrailingValueType
        spread: Quotation
        spread_type: TrailingValueType
        def __init__(self, indent: _Optional[_Union[Quotation, _Mapping]] = ..., indent_type: _Optional[_Union[TrailingValueType, str]] = ..., spread: _Optional[_Union[Quotation, _Mapping]] = ..., spread_type: _Optional[_Union[TrailingValueType, str]] = ...) -> None: ...
    FIGI_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    STOP_PRICE_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRATION_TYPE_FIELD_NUMBER: _ClassVar[int]
    STOP_ORDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_DATE_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_ORDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    TAKE_PROFIT_TYPE_FIELD_NUMBER: _ClassVar[int]
    TRAILING_DATA_FIELD_NUMBER: _ClassVar[int]
    PRICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_MARGIN_TRADE_FIELD_NUMBER: _ClassVar[int]
    figi: str
    quantity: int
    price: Quotation
    stop_price: Quotation
    direction: StopOrderDirection
    account_id: str
    expiration_type: StopOrderExpirationType
    stop_order_type: StopOrderType
    expire_date: _timestamp_pb2.Timestamp
    instrument_id: str
    exchange_order_type: ExchangeOrderType
    take_profit_type: TakeProfitType
    trailing_data: PostStopOrderRequest.TrailingData
    price_type: PriceType
    order_id: str
    confirm_margin_trade: bool
    def __init__(self, figi: _Optional[str] = ..., quantity: _Optional[int] = ..., price: _Optional[_Union[Quotation, _Mapping]] = ..., stop_price: _Optional[_Union[Quotation, _Mapping]] = ..., direction: _Optional[_Union[StopOrderDirection, str]] = ..., account_id: _Optional[str] = ..., expiration_type: _Optional[_Union[StopOrderExpirationType, str]] = ..., stop_order_type: _Optional[_Union[StopOrderType, str]] = ..., expire_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., instrument_id: _Optional[str] = ..., exchange_order_type: _Optional[_Union[ExchangeOrderType, str]] = ..., take_profit_type: _Optional[_Union[TakeProfitType, str]] = ..., trailing_data: _Optional[_Union[PostStopOrderRequest.TrailingData, _Mapping]] = ..., price_type: _Optional[_Union[PriceType, str]] = ..., order_id: _Optional[str] = ..., confirm_margin_trade: _Optional[bool] = ...) -> None: ...

class PostStopOrderResponse(_message.Message):
    __slots__ = ("stop_order_id", "order_request_id", "response_metadata")
    STOP_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_METADATA_FIELD_NUMBER: _ClassVar[int]
    stop_order_id: str
    order_request_id: str
    response_metadata: ResponseMetadata
    def __init__(self, stop_order_id: _Optional[str] = ..., order_request_id: _Optional[str] = ..., response_metadata: _Optional[_Union[ResponseMetadata, _Mapping]] = ...) -> None: ...

class GetStopOrdersRequest(_message.Message):
    __slots__ = ("account_id", "status", "to")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    status: StopOrderStatusOption
    to: _timestamp_pb2.Timestamp
    def __init__(self, account_id: _Optional[str] = ..., status: _Optional[_Union[StopOrderStatusOption, str]] = ..., to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., **kwargs) -> None: ...

class GetStopOrdersResponse(_message.Message):
    __slots__ = ("stop_orders",)
    STOP_ORDERS_FIELD_NUMBER: _ClassVar[int]
    stop_orders: _containers.RepeatedCompositeFieldContainer[StopOrder]
    def __init__(self, stop_orders: _Optional[_Iterable[_Union[StopOrder, _Mapping]]] = ...) -> None: ...

class CancelStopOrderRequest(_message.Message):
    __slots__ = ("account_id", "stop_order_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    STOP_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    stop_order_id: str
    def __init__(self, account_id: _Optional[str] = ..., stop_order_id: _Optional[str] = ...) -> None: ...

class CancelStopOrderResponse(_message.Message):
    __slots__ = ("time",)
    TIME_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StopOrder(_message.Message):
    __slots__ = ("stop_order_id", "lots_requested", "figi", "direction", "currency", "order_type", "create_date", "activation_date_time", "expiration_time", "price", "stop_price", "instrument_uid", "take_profit_type", "trailing_data", "status", "exchange_order_type", "exchange_order_id", "ticker", "class_code")
    class TrailingData(_message.Message):
        __slots__ = ("indent", "indent_type", "spread", "spread_type", "status", "price", "extr")
        INDENT_FIELD_NUMBER: _ClassVar[int]
        INDENT_TYPE_FIELD_NUMBER: _ClassVar[int]
        SPREAD_FIELD_NUMBER: _ClassVar[int]
        SPREAD_TYPE_FIELD_NUMBER: _ClassVar[int]
        STATUS_FIELD_NUMBER: _ClassVar[int]
        PRICE_FIELD_NUMBER: _ClassVar[int]
        EXTR_FIELD_NUMBER: _ClassVar[int]
        indent: Quotation
        indent_type: TrailingValueType
        spread: Quotation
        spread_type: TrailingValueType
        status: TrailingStopStatus
        price: Quotation
        extr: Quotation
        def __init__(self, indent: _Optional[_Union[Quotation, _Mapping]] = ..., indent_type: _Optional[_Union[TrailingValueType, str]] = ..., spread: _Optional[_Union[Quotation, _Mapping]] = ..., spread_type: _Optional[_Union[TrailingValueType, str]] = ..., status: _Optional[_Union[TrailingStopStatus, str]] = ..., price: _Optional[_Union[Quotation, _Mapping]] = ..., extr: _Optional[_Union[Quotation, _Mapping]] = ...) -> None: ...
    STOP_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    LOTS_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    FIGI_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ORDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    CREATE_DATE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_DATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRATION_TIME_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    STOP_PRICE_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_UID_FIELD_NUMBER: _ClassVar[int]
    TAKE_PROFIT_TYPE_FIELD_NUMBER: _ClassVar[int]
    TRAILING_DATA_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_ORDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    CLASS_CODE_FIELD_NUMBER: _ClassVar[int]
    stop_order_id: str
    lots_requested: int
    figi: str
    direction: StopOrderDirection
    currency: str
    order_type: StopOrderType
    create_date: _timestamp_pb2.Timestamp
    activation_date_time: _timestamp_pb2.Timestamp
    expiration_time: _timestamp_pb2.Timestamp
    price: MoneyValue
    stop_price: MoneyValue
    instrument_uid: str
    take_profit_type: TakeProfitType
    trailing_data: StopOrder.TrailingData
    status: StopOrderStatusOption
    exchange_order_type: ExchangeOrderType
    exchange_order_id: str
    ticker: str
    class_code: str
    def __init__(self, stop_order_id: _Optional[str] = ..., lots_requested: _Optional[int] = ..., figi: _Optional[str] = ..., direction: _Optional[_Union[StopOrderDirection, str]] = ..., currency: _Optional[str] = ..., order_type: _Optional[_Union[StopOrderType, str]] = ..., create_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., activation_date_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expiration_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., price: _Optional[_Union[MoneyValue, _Mapping]] = ..., stop_price: _Optional[_Union[MoneyValue, _Mapping]] = ..., instrument_uid: _Optional[str] = ..., take_profit_type: _Optional[_Union[TakeProfitType, str]] = ..., trailing_data: _Optional[_Union[StopOrder.TrailingData, _Mapping]] = ..., status: _Optional[_Union[StopOrderStatusOption, str]] = ..., exchange_order_type: _Optional[_Union[ExchangeOrderType, str]] = ..., exchange_order_id: _Optional[str] = ..., ticker: _Optional[str] = ..., class_code: _Optional[str] = ...) -> None: ...

class GetAccountsRequest(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: AccountStatus
    def __init__(self, status: _Optional[_Union[AccountStatus, str]] = ...) -> None: ...

class GetAccountsResponse(_message.Message):
    __slots__ = ("accounts",)
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[Account]
    def __init__(self, accounts: _Optional[_Iterable[_Union[Account, _Mapping]]] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("id", "type", "name", "status", "opened_date", "closed_date", "access_level")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OPENED_DATE_FIELD_NUMBER: _ClassVar[int]
    CLOSED_DATE_FIELD_NUMBER: _ClassVar[int]
    ACCESS_LEVEL_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: AccountType
    name: str
    status: AccountStatus
    opened_date: _timestamp_pb2.Timestamp
    closed_date: _timestamp_pb2.Timestamp
    access_level: AccessLevel
    def __init__(self, id: _Optional[str] = ..., type: _Optional[_Union[AccountType, str]] = ..., name: _Optional[str] = ..., status: _Optional[_Union[AccountStatus, str]] = ..., opened_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., closed_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., access_level: _Optional[_Union[AccessLevel, str]] = ...) -> None: ...

class GetInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetInfoResponse(_message.Message):
    __slots__ = ("prem_status", "qual_status", "qualified_for_work_with", "tariff", "user_id", "risk_level_code")
    PREM_STATUS_FIELD_NUMBER: _ClassVar[int]
    QUAL_STATUS_FIELD_NUMBER: _ClassVar[int]
    QUALIFIED_FOR_WORK_WITH_FIELD_NUMBER: _ClassVar[int]
    TARIFF_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    RISK_LEVEL_CODE_FIELD_NUMBER: _ClassVar[int]
    prem_status: bool
    qual_status: bool
    qualified_for_work_with: _containers.RepeatedScalarFieldContainer[str]
    tariff: str
    user_id: str
    risk_level_code: str
    def __init__(self, prem_status: _Optional[bool] = ..., qual_status: _Optional[bool] = ..., qualified_for_work_with: _Optional[_Iterable[str]] = ..., tariff: _Optional[str] = ..., user_id: _Optional[str] = ..., risk_level_code: _Optional[str] = ...) -> None: ...

class OpenSandboxAccountRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class OpenSandboxAccountResponse(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class CloseSandboxAccountRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class CloseSandboxAccountResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SandboxPayInRequest(_message.Message):
    __slots__ = ("account_id", "amount")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    amount: MoneyValue
    def __init__(self, account_id: _Optional[str] = ..., amount: _Optional[_Union[MoneyValue, _Mapping]] = ...) -> None: ...

class SandboxPayInResponse(_message.Message):
    __slots__ = ("balance",)
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    balance: MoneyValue
    def __init__(self, balance: _Optional[_Union[MoneyValue, _Mapping]] = ...) -> None: ...
