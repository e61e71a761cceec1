"""Strategies: the base class, the context they act through, the live charts they read
(``chart``), a registry and examples."""

from engine.strategy.base import Strategy, StrategyParamError
from engine.strategy.context import CancelIntent, Intent, PostIntent, StrategyContext
from engine.strategy.registry import UnknownStrategy, build, names, register, resolve

__all__ = [
    "CancelIntent",
    "Intent",
    "PostIntent",
    "Strategy",
    "StrategyContext",
    "StrategyParamError",
    "UnknownStrategy",
    "build",
    "names",
    "register",
    "resolve",
]
