"""Which broker a run may use: live trading only when asked for twice.

- No token: the simulated market (SIM), whatever else is configured, except an explicit
  ``mode = "live"`` or ``"sandbox"``, which is an error (there is nothing to connect with).
- A token and ``mode = "auto"`` (the default) or ``"sandbox"``: the T-Invest sandbox.
- Production only with ``mode = "live"`` in the config (or ``AVIN_MODE=live``) AND the ``--live``
  flag on the command line. ``--live`` alone, or ``mode = "live"`` alone, is refused with a message
  that says what is missing.
"""

from __future__ import annotations

from typing import Protocol

from engine.broker.base import BrokerError
from engine.model import Mode


class LiveTradingRefused(BrokerError):
    pass


class ModeSettings(Protocol):
    """What :func:`mode_for` reads of the settings (``engine.config.Settings``)."""

    @property
    def mode(self) -> str: ...

    @property
    def token(self) -> object | None: ...


def mode_for(settings: ModeSettings, live: bool = False) -> Mode:
    """The mode of a run with these settings: SIM without a token, the sandbox with one;
    production only with ``mode = "live"`` and the ``--live`` flag (``live``) together. Raises
    LiveTradingRefused otherwise."""
    return resolve_mode(settings.mode, has_token=settings.token is not None, live_flag=live)


def resolve_mode(configured: str, *, has_token: bool, live_flag: bool) -> Mode:
    """The mode to run in, from the configured ``mode``, the token and the ``--live`` flag."""
    configured = (configured or "auto").lower()
    if configured not in ("auto", "sim", "sandbox", "live"):
        raise ValueError(f"unknown mode {configured!r}: use auto, sim, sandbox or live")
    if live_flag and configured != "live":
        raise LiveTradingRefused(
            "--live given but the configured mode is not live",
            hint='set mode = "live" in avin.toml (or AVIN_MODE=live) as well; both are required',
        )
    if configured == "live" and not live_flag:
        raise LiveTradingRefused(
            'mode = "live" is configured but --live was not given',
            hint='add --live to trade real money, or use mode = "sandbox"',
        )
    if configured == "sim":
        return Mode.SIM
    if not has_token:
        if configured in ("sandbox", "live"):
            raise LiveTradingRefused(
                f"mode {configured} needs a T-Invest token",
                hint='store one with `avin token set` (or set AVIN_TOKEN), or use mode = "sim"',
            )
        return Mode.SIM
    return Mode.LIVE if configured == "live" else Mode.SANDBOX
