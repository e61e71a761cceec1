"""The error-storm trip wire of the kill switch (what an order may do in each trading state is
one rule: :func:`engine.risk.checks.trading_state`)."""

from __future__ import annotations

from engine.risk.window import WindowCounter


class ErrorStorm(WindowCounter):
    """Trips when ``limit`` errors happen within ``window`` seconds (a risk window counter)."""
