"""The footer shows the important keys for where the user is: KILL first, the pane keys, b; the
chart's keys with the chart; R only while trading is not ACTIVE."""

from __future__ import annotations

from textual.widgets import Footer

from avin_tui.app import AvinApp
from engine.model.snapshot import TradingState

from .conftest import FakeEngine, wait_for


def footer_keys(app: AvinApp) -> list[str]:
    footer = app.screen.query_one(Footer)
    return [str(key.key) for key in footer.query("FooterKey")]


async def test_the_footer_follows_the_focus_and_the_trading_state() -> None:
    engine = FakeEngine()
    app = AvinApp(engine, poll_interval=0.05, persist_layout=False)
    async with app.run_test(size=(160, 48)) as pilot:
        pane_keys = {"s", "o", "p", "l", "c", "b", "q", "question_mark"}
        await wait_for(pilot, lambda: pane_keys <= set(footer_keys(app)))
        keys = footer_keys(app)
        assert keys[0] == "ctrl+k"  # the kill switch first, whatever the pane adds
        assert "R" not in keys and "left_square_bracket" not in keys
        await pilot.press("c")
        chart_keys = {"left_square_bracket", "right_square_bracket", "n", "1", "5"}
        await wait_for(pilot, lambda: chart_keys <= set(footer_keys(app)))
        engine.set(trading_state=TradingState.HALTED)
        await wait_for(pilot, lambda: "R" in footer_keys(app))
        assert footer_keys(app)[:2] == ["ctrl+k", "R"]
        engine.set(trading_state=TradingState.ACTIVE)
        await wait_for(pilot, lambda: "R" not in footer_keys(app))


async def test_the_footer_timer_firing_after_the_app_closed_is_harmless() -> None:
    """The footer is refreshed on a timer after a change of trading state; a quit inside that
    delay left the timer to fire with no screen on the stack, which crashed the closing app."""
    engine = FakeEngine()
    app = AvinApp(engine, poll_interval=0.05, persist_layout=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.feed.applied_count > 0)
    assert not app.screen_stack  # closed: what the late timer finds
    app._refresh_footer()  # the timer's callback: no ScreenStackError
