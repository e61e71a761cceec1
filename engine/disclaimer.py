"""The risk disclaimer and the record that the user accepted it.

Trading against a broker (the T-Invest sandbox or live) needs the disclaimer accepted once; the
acceptance is stored in the config home (``risk-accepted.json``) so later runs do not ask again. A
person accepts it at a prompt; a non-interactive run needs ``--accept-risk`` or ``accept_risk =
true`` in the config (``AVIN_ACCEPT_RISK=true``), which are recorded the same way. The simulated
market (SIM) trades nothing real and needs no acceptance.

A new :data:`DISCLAIMER_VERSION` (a materially changed text) asks again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DISCLAIMER_VERSION = 1
RECORD_NAME = "risk-accepted.json"

DISCLAIMER = """\
avin is provided as is, without warranty of any kind. All trading risk is yours: every order it
sends, every loss, every missed exit. avin guarantees nothing: not that a limit holds, that the kill
switch acts in time, that the broker or the network behave, or that a strategy makes money. Test
on the simulated market and the sandbox first, and trade only money you can afford to lose.
Details: docs/risk.md."""

HOW_TO_ACCEPT = (
    "trading against a broker (sandbox or live) needs the risk disclaimer accepted once: run "
    "`avin run` in a terminal and answer the prompt, or pass --accept-risk, or set accept_risk = "
    "true in the config (AVIN_ACCEPT_RISK=true). Read it in docs/risk.md or `avin --help`."
)

Ask = Callable[[str], bool]
"""Shows the disclaimer and returns whether the person accepted it (an interactive prompt)."""


@dataclass(frozen=True, slots=True)
class Acceptance:
    """The outcome of :func:`require_acceptance`: ``accepted``, and how (or why not)."""

    accepted: bool
    how: str  # "not needed" | "stored" | "flag" | "config" | "prompt" | "declined" | "missing"

    @property
    def message(self) -> str:
        if self.accepted:
            return ""
        if self.how == "declined":
            return "the risk disclaimer was not accepted: nothing was started"
        return HOW_TO_ACCEPT


def record_path(config_home: Path) -> Path:
    return config_home / RECORD_NAME


def stored_acceptance(config_home: Path) -> dict[str, object] | None:
    """The stored record when it accepts the current disclaimer version, else None."""
    try:
        data = json.loads(record_path(config_home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != DISCLAIMER_VERSION:
        return None
    return data


def store_acceptance(config_home: Path, how: str, *, now: datetime | None = None) -> Path:
    """Writes the record (written to a temporary file, then renamed over the old one)."""
    config_home.mkdir(parents=True, exist_ok=True)
    path = record_path(config_home)
    when = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    record = {"version": DISCLAIMER_VERSION, "accepted_at": when, "how": how}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)  # the record is never held open, so the rename works on Windows too
    return path


def require_acceptance(
    config_home: Path,
    *,
    against_broker: bool,
    flag: bool = False,
    config_key: bool = False,
    ask: Ask | None = None,
) -> Acceptance:
    """Whether this run may start, storing a new acceptance.

    ``against_broker`` is False for the simulated market, which needs nothing. Otherwise a stored
    acceptance of this version, the ``--accept-risk`` flag, the config key or ``ask`` (a prompt,
    only when a person is at a terminal) accepts; without any of them the run is refused.
    """
    if not against_broker:
        return Acceptance(True, "not needed")
    if stored_acceptance(config_home) is not None:
        return Acceptance(True, "stored")
    how = "flag" if flag else "config" if config_key else None
    if how is None and ask is not None:
        if not ask(DISCLAIMER):
            return Acceptance(False, "declined")
        how = "prompt"
    if how is None:
        return Acceptance(False, "missing")
    store_acceptance(config_home, how)
    return Acceptance(True, how)


def prompt_on_terminal(text: str) -> bool:
    """Shows ``text`` and asks for ``yes`` on standard input (EOF or anything else: no)."""
    print("avin: this is the first run against a broker (sandbox or live). Please read:\n")
    print(text + "\n", flush=True)
    try:
        answer = input("Type yes to accept and go on: ")
    except EOFError:
        return False
    return answer.strip().lower() == "yes"
