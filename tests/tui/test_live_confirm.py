"""Real money needs a typed LIVE in the terminal app before the engine starts."""

from __future__ import annotations

from dataclasses import replace

from avin_tui.app import AvinApp
from avin_tui.screens.live_confirm import LiveConfirmScreen
from engine.model import Mode

from .conftest import FakeEngine, make_snapshot, wait_for


def live_engine() -> FakeEngine:
    return FakeEngine(replace(make_snapshot(), mode=Mode.LIVE))


async def test_live_asks_and_a_wrong_word_does_not_start() -> None:
    app = AvinApp(live_engine(), poll_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LiveConfirmScreen))
        assert app.engine_host.worker is None
        await pilot.press("y", "e", "s", "enter")
        assert isinstance(app.screen, LiveConfirmScreen) and app.engine_host.worker is None
        await pilot.press(*"LIVE", "enter")
        await wait_for(pilot, lambda: app.engine_host.worker is not None)
        assert not isinstance(app.screen, LiveConfirmScreen)


async def test_escape_quits_without_starting_the_engine() -> None:
    app = AvinApp(live_engine(), poll_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LiveConfirmScreen))
        await pilot.press("escape")
        await pilot.pause(0.1)
    assert app.engine_host.worker is None
    assert app.return_code == 0


async def test_sim_and_sandbox_start_at_once(fake_engine: FakeEngine) -> None:
    app = AvinApp(fake_engine, poll_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.1)
        assert app.engine_host.worker is not None
        assert not isinstance(app.screen, LiveConfirmScreen)


async def test_a_typed_k_is_a_letter_but_ctrl_k_still_kills() -> None:
    engine = live_engine()
    app = AvinApp(engine, poll_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LiveConfirmScreen))
        await pilot.press("K")
        assert app.screen.query_one("#live-input").value == "K"
        assert not [c for c in engine.calls if c[0] == "kill"]
        await pilot.press("ctrl+k")
        assert ("kill", "manual: keyboard") in engine.calls
