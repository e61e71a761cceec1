"""``avin`` with one more strategy, ``test_leaky``, that does its best to leak: it logs the token
and its account id, and then fails with both in the exception (a traceback in the log, an error
storm, an incident). Run as ``python tests/security/leaky_run.py ARGS...`` (the ``avin`` command
line); used by ``test_redaction_every_file.py``."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.model import Bar, TimeFrame
from engine.strategy import Strategy, StrategyContext, register

log = logging.getLogger("avin.strategy.test_leaky")


class Leaky(Strategy):
    """Buys one lot on its first bar; from its third bar on, every bar fails with the token."""

    name = "test_leaky"
    default_params: ClassVar[dict[str, object]] = {}

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        token = os.environ["AVIN_TOKEN"]
        self.state["bars"] = int(self.state.get("bars", 0)) + 1
        if self.state["bars"] == 1:
            ctx.buy(1)
            log.info("bought with token=%s on account %s (Bearer %s)", token, ctx.account, token)
        elif self.state["bars"] >= 3:
            raise RuntimeError(f"leaky strategy failed: {token} at {ctx.account}")


register(Leaky)

if __name__ == "__main__":
    from avin_tui.cli import main

    sys.exit(main(sys.argv[1:]))
