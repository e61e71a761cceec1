"""The T-Invest (Tinkoff Invest API v2) broker adapter over gRPC.

Public API (imported lazily, so that ``avin --help`` does not load grpc):

- :class:`TInvestBroker` (``broker.py``): the :class:`engine.broker.base.Broker` implementation,
  one facade over its roles (``core``, ``instruments``, ``accounts``, ``market_data``, ``fills``,
  ``stops``, ``orders``).
- The intent journal it resolves keys in is generic: :mod:`engine.orders.journal`.
- :class:`StreamPolicy` (``streams.py``): ping interval, stall factor, reconnect backoff.
  The streams themselves: ``market_stream.py`` (``MarketStream``) and ``order_stream.py``
  (``OrderStream``).
- :class:`RateLimiter` (``limiter.py``), :class:`ChannelConfig` / :class:`Transport`
  (``channel.py``), ``PROD_TARGET`` / ``SANDBOX_TARGET``.
- Errors (``errors.py``): :class:`TInvestError` and its kinds (AuthenticationError, AccessDenied,
  RequestRejected, NotFound, RateLimited, Unavailable, PreconditionFailed),
  :class:`TInvestOrderRejected`, :class:`OrderOutcomeUnknown`.
- :func:`resolve_mode` (``safety.py``): SIM / SANDBOX / LIVE from the config, the token and --live.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TInvestBroker": "broker",
    "OrderOutcomeUnknown": "broker",
    "StreamPolicy": "streams",
    "RateLimiter": "limiter",
    "ChannelConfig": "channel",
    "Transport": "channel",
    "PROD_TARGET": "channel",
    "SANDBOX_TARGET": "channel",
    "TInvestError": "errors",
    "AuthenticationError": "errors",
    "AccessDenied": "errors",
    "RequestRejected": "errors",
    "NotFound": "errors",
    "RateLimited": "errors",
    "Unavailable": "errors",
    "PreconditionFailed": "errors",
    "TInvestOrderRejected": "errors",
    "resolve_mode": "safety",
    "LiveTradingRefused": "safety",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
