"""Strategy names to classes: the built-ins, plus ``package.module:ClassName`` for user code."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from engine.model import TimeFrame
from engine.strategy.base import Strategy
from engine.strategy.examples.big_trend import BigTrendLong, BigTrendShort
from engine.strategy.examples.pin_bar import PinBar
from engine.strategy.examples.sma_cross import SmaCross
from engine.strategy.examples.zigzag_breakout import ZigZagBreakout
from engine.strategy.rules import SmaCrossRule


class UnknownStrategy(LookupError):
    pass


_REGISTRY: dict[str, type[Strategy]] = {}


def register(cls: type[Strategy], name: str | None = None) -> type[Strategy]:
    """Register ``cls`` under ``name`` (default: its ``name`` attribute); usable as a decorator."""
    key = (name or cls.name).strip().lower()
    if not key:
        raise ValueError(f"{cls.__name__} has no name to register under")
    _REGISTRY[key] = cls
    return cls


def names() -> list[str]:
    return sorted(_REGISTRY)


def resolve(name: str) -> type[Strategy]:
    """A registered name (``sma_cross``) or an import path (``my_pkg.mod:MyStrategy``)."""
    text = name.strip()
    cls = _REGISTRY.get(text.lower())
    if cls is not None:
        return cls
    if ":" not in text:
        known = ", ".join(names())
        raise UnknownStrategy(
            f"unknown strategy {name!r}: use one of {known} or 'package.module:ClassName'"
        )
    module_name, _, attr = text.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnknownStrategy(
            f"cannot import {module_name!r} for strategy {name!r}: {exc}"
        ) from exc
    found = getattr(module, attr, None)
    if not (isinstance(found, type) and issubclass(found, Strategy)):
        raise UnknownStrategy(f"{name!r} is not a Strategy subclass")
    return found


def build(
    name: str, params: Mapping[str, Any] | None = None, timeframe: TimeFrame | str | None = None
) -> Strategy:
    """An instance of the strategy ``name``; raises UnknownStrategy or StrategyParamError."""
    cls = resolve(name)
    tf = TimeFrame.from_code(timeframe) if isinstance(timeframe, str) else timeframe
    return cls(params, tf)


register(SmaCross)
for _example in (BigTrendShort, BigTrendLong, PinBar, ZigZagBreakout, SmaCrossRule):
    register(_example)
