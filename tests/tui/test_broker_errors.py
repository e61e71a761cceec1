"""Broker errors on screen: the app runs the engine on the T-Invest adapter against the fake
T-Invest server. A rejected order (30078, injected) and a refused token (40003) show the numeric
code, the server's message, the tracking id and what it means, in a notification and in the log
pane; the token never appears on screen."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from textual.widgets._toast import Toast

from avin_tui.app import AvinApp
from avin_tui.widgets.log_pane import LogPane
from avin_tui.widgets.orders import OrdersTable
from engine.broker.fake_tinvest import FakeExchange, FakeTInvestServer
from engine.broker.fake_tinvest.host import REJECT_TEXT
from engine.broker.tinvest.errors import CODES
from engine.config import Settings
from engine.model import Mode, Order, OrderType, Side
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.launch import build_broker
from engine.runtime.logbook import LogBook
from engine.runtime.worklist import StrategySpec
from engine.strategy import Strategy, register
from tests.tinvest.helpers import START

from .conftest import on_engine_loop, wait_for

pytestmark = pytest.mark.slow

SIZE = (160, 48)


class TuiIdle(Strategy):
    """Trades nothing: it only puts SBER on the engine's charts."""

    name = "test_tui_idle"


register(TuiIdle)


def runtime_token() -> str:
    return "t." + secrets.token_hex(28)  # token-shaped, built at run time


def engine_for(token: str, server: FakeTInvestServer, logbook: LogBook) -> Engine:
    """The engine as ``avin run`` builds it for the sandbox, pointed at the fake server."""
    settings = Settings(mode="sandbox", token=token, tinvest_target=server.target)
    broker = build_broker(settings)
    assert broker.mode is Mode.SANDBOX
    options = EngineOptions(mode=Mode.SANDBOX, history_days=1)
    return Engine(broker, [StrategySpec("test_tui_idle", "SBER")], options, logbook=logbook)


def screen_lines(app: AvinApp) -> list[str]:
    """What the terminal shows now, line by line."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def toast_texts(app: AvinApp) -> list[str]:
    """The text of each notification on screen, its wrapped lines joined."""
    lines = screen_lines(app)
    out = []
    for toast in app.screen.query(Toast):
        r = toast.content_region  # without the border
        text = " ".join(line[r.x : r.right] for line in lines[r.y : r.bottom])
        out.append(" ".join(text.split()))
    return out


def log_text(app: AvinApp) -> str:
    return "\n".join(str(line) for line in app.screen.query_one(LogPane).lines)


def assert_never_shown(app: AvinApp, token: str) -> None:
    everything: list[Any] = [
        *screen_lines(app),
        app.export_screenshot(),
        log_text(app),
        *(f"{n.title} {n.message}" for n in app._notifications),
    ]
    for text in everything:
        assert token not in str(text)
        assert token[2:30] not in str(text)  # not even a part of it


async def test_a_rejected_order_shows_code_message_tracking_id_and_what_to_do(
    logbook: LogBook,
) -> None:
    token = runtime_token()
    async with FakeTInvestServer(token=token, exchange=FakeExchange(start=START)) as server:
        engine = engine_for(token, server, logbook)
        app = AvinApp(engine, poll_interval=0.1, persist_layout=False)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await wait_for(pilot, lambda: engine.started, timeout=30)
            sber = server.exchange.instrument("SBER")
            price = server.exchange.last_price(sber)
            server.faults.reject_next = ["30078"]
            order = Order(
                "MOEX_SHARE_SBER", Side.BUY, OrderType.LIMIT, 1, "fake-account-1", price=price
            )
            on_engine_loop(engine, engine.submit, order)
            await wait_for(pilot, lambda: any("30078" in t for t in toast_texts(app)), timeout=20)

            code, message, tracking_id = server.errors[-1]
            explanation, action = CODES["30078"]
            assert (code, message) == ("30078", REJECT_TEXT["30078"])
            [toast] = [t for t in toast_texts(app) if "30078" in t]
            for part in (
                f"order {order.id[:8]} rejected",
                "code 30078",
                message,  # the server's own words
                f"tracking id {tracking_id}",
                explanation,  # what it means
                "Round the price to the step",  # what to do
                "the price step of MOEX_SHARE_SBER is 0.01",
            ):
                assert part in toast, (part, toast)
            assert action.capitalize() in toast
            # the log pane keeps the same line
            await wait_for(pilot, lambda: tracking_id in log_text(app))
            logged = log_text(app)
            for part in ("30078", message, tracking_id, explanation):
                assert part in logged
            # the Orders pane shows the order as rejected
            orders = app.screen.query_one(OrdersTable)
            await wait_for(pilot, lambda: order.id in orders.shown_rows)
            assert orders.shown_rows[order.id][4].plain == "rejected"
            assert_never_shown(app, token)
            await pilot.press("q")
        assert not engine.running


async def test_a_refused_token_shows_40003_and_never_the_token(logbook: LogBook) -> None:
    wrong = runtime_token()
    async with FakeTInvestServer(
        token=runtime_token(), exchange=FakeExchange(start=START)
    ) as server:
        engine = engine_for(wrong, server, logbook)
        app = AvinApp(engine, poll_interval=0.1, persist_layout=False)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await wait_for(pilot, lambda: any("40003" in t for t in toast_texts(app)), timeout=30)
            code, message, tracking_id = server.errors[-1]
            assert code == "40003"
            [toast] = [t for t in toast_texts(app) if "40003" in t]
            explanation, _ = CODES["40003"]
            for part in (
                "engine crashed",
                "code 40003",
                message,
                f"tracking id {tracking_id}",
                explanation.capitalize(),
                "AVIN_TOKEN",
            ):
                assert part in toast, (part, toast)
            assert_never_shown(app, wrong)
            await pilot.press("q")
