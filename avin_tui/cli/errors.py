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
        from engine.config import ConfigError
        from engine.state import StoreError

        try:
            return command(args)
        except ConfigError as exc:
            print_problems(exc.problems)
            return EXIT_CONFIG
        except StoreError as exc:
            print(f"avin: the state store cannot be used: {exc}", file=sys.stderr)
            print("      -> check [state] in the config (`avin config check`)", file=sys.stderr)
            return EXIT_CONFIG

    return run


def print_problems(problems: list[Any]) -> None:
    print(f"avin: the configuration has {len(problems)} problem(s):", file=sys.stderr)
    for p in problems:
        print(f"  {p.file}: {p.key}: {p.message}", file=sys.stderr)
        if p.hint:
            print(f"      -> {p.hint}", file=sys.stderr)
