"""What every command shares: its exit codes and how a user's mistake is told.

A bad config or an unusable state store is a message on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import Any

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 3


def user_errors(
    command: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """A bad config or an unusable state store is a message and exit 2, never a traceback."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except Exception as exc:
            if _raised(exc, "engine.config", "ConfigError"):
                print_problems(exc.problems)  # type: ignore[attr-defined]
                return EXIT_CONFIG
            if _raised(exc, "engine.state.base", "StoreError"):
                print(f"avin: the state store cannot be used: {exc}", file=sys.stderr)
                print("      -> check [state] in the config (`avin config check`)", file=sys.stderr)
                return EXIT_CONFIG
            raise

    return run


def _raised(exc: Exception, module: str, name: str) -> bool:
    """Whether ``exc`` is ``module.name``'s, without importing ``module`` for the question (the
    state store's modules cost a command that never opens it about 20 ms): none of its
    exceptions can exist before it is imported."""
    loaded = sys.modules.get(module)
    return loaded is not None and isinstance(exc, getattr(loaded, name))


def print_problems(problems: list[Any]) -> None:
    print(f"avin: the configuration has {len(problems)} problem(s):", file=sys.stderr)
    for p in problems:
        print(f"  {p.file}: {p.key}: {p.message}", file=sys.stderr)
        if p.hint:
            print(f"      -> {p.hint}", file=sys.stderr)
