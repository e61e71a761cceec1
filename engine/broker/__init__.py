"""Broker abstraction and its implementations (simulated market, T-Invest)."""

from engine.broker.base import (
    BarEvent,
    Broker,
    BrokerError,
    BrokerEvent,
    ConnectionEvent,
    FillEvent,
    OrderRejected,
    OrderUpdate,
    PriceEvent,
    ServerClock,
    ServerTime,
    Subscriptions,
    UnknownInstrument,
    server_time,
)

__all__ = [
    "BarEvent",
    "Broker",
    "BrokerError",
    "BrokerEvent",
    "ConnectionEvent",
    "FillEvent",
    "OrderRejected",
    "OrderUpdate",
    "PriceEvent",
    "ServerClock",
    "ServerTime",
    "Subscriptions",
    "UnknownInstrument",
    "server_time",
]
