"""``[privacy] hide_accounts`` on screen: the app runs the engine on the T-Invest adapter against
the fake T-Invest server with a worklist row on the broker's account (its id names the account). The
Strategies pane, the Log pane (messages and sources), a notification, a confirmation and a
screenshot (SVG, as ``save_screenshot`` writes it) show the account masked (``…nt-1``) and never
the real id; the Positions pane's cells likewise."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from avin_tui.app import AvinApp
from avin_tui.widgets.positions import position_cells
from avin_tui.widgets.strategies import StrategiesTable
from engine.broker.fake_tinvest import FakeExchange, FakeTInvestServer
from engine.config import Settings
from engine.model import Bar, Mode, TimeFrame
from engine.model import redact as registry
from engine.model.redact import hide_accounts
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.launch import build_broker
from engine.runtime.logbook import LogBook
from engine.runtime.worklist import StrategySpec
from engine.strategy import Strategy, StrategyContext, register
from tests.tinvest.helpers import START

from .conftest import wait_for
from .test_broker_errors import SIZE, log_text, runtime_token, screen_lines, toast_texts

pytestmark = pytest.mark.slow

log = logging.getLogger("avin.strategy.test_hide_buyer")


class HideBuyer(Strategy):
    """Buys one lot on its first bar and says on which account."""

    name = "test_hide_buyer"

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        if not self.state.get("bought"):
            self.state["bought"] = True
            ctx.buy(1)
            log.info("bought one lot on account %s", ctx.account)


register(HideBuyer)


@pytest.fixture
def hiding() -> Iterator[None]:
    saved = set(registry._accounts)
    hide_accounts(True)
    yield
    hide_accounts(False)
    registry._accounts.clear()
    registry._accounts.update(saved)
    registry._account_pattern = None


async def test_the_panes_the_log_and_a_screenshot_show_the_account_masked(
    hiding: None, logbook: LogBook, tmp_path: Path
) -> None:
    token = runtime_token()
    async with FakeTInvestServer(
        token=token, exchange=FakeExchange(start=START, speed=300.0)
    ) as server:
        [account] = server.exchange.accounts
        masked = "…" + account[-4:]
        settings = Settings(mode="sandbox", token=token, tinvest_target=server.target)
        options = EngineOptions(mode=Mode.SANDBOX, history_days=1)
        spec = StrategySpec("test_hide_buyer", "SBER", account=account)  # in its id too
        engine = Engine(build_broker(settings), [spec], options, logbook=logbook)
        app = AvinApp(engine, poll_interval=0.1, persist_layout=False)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await wait_for(pilot, lambda: engine.started, timeout=30)
            sid = engine.snapshot().strategies[0].id
            assert account in sid
            # the strategy's own logger is named by its id: the Log pane shows it as the source
            logging.getLogger(f"avin.strategy.{sid}").info("bought one lot on account %s", account)
            strategies = app.screen.query_one(StrategiesTable)
            await wait_for(pilot, lambda: bool(strategies.shown_rows), timeout=30)
            await wait_for(pilot, lambda: "bought one lot" in log_text(app), timeout=30)
            strategies.focus()
            await pilot.press("C")  # a notification naming the row: "<id> holds no position"
            await wait_for(pilot, lambda: any("no position" in t for t in toast_texts(app)))
            await pilot.pause()
            assert [r[-1] for r in strategies.shown_rows.values()] == [masked]
            assert f"on account {masked}" in log_text(app)
            app.save_screenshot("screen.svg", str(tmp_path))
            svg = (tmp_path / "screen.svg").read_text(encoding="utf-8")
            shown = "\n".join(screen_lines(app))
            assert masked in shown, shown
            sources = "\n".join(e.source for e in logbook.entries_since(0))
            for what in (shown, svg, log_text(app), app.export_screenshot(), sources):
                assert account not in what
            await pilot.press("d")  # "Remove <id> from the worklist?"
            await wait_for(pilot, lambda: "from the worklist" in "\n".join(screen_lines(app)))
            confirm = "\n".join(screen_lines(app))
            assert account not in confirm and masked in confirm, confirm
            await pilot.press("n")
            await pilot.press("q")


def test_the_positions_pane_shows_the_account_masked(hiding: None) -> None:
    from decimal import Decimal

    from engine.model.redact import register_account
    from engine.model.snapshot import PositionRow

    register_account("2000123456")
    one = Decimal(1)
    row = PositionRow("2000123456", "MOEX_SHARE_SBER", 1, one, one, one, one, one)
    assert position_cells(row)[-1] == "…3456"
