"""The terminal app's screenshots and crash report never show the token. A strategy's log line
quoting it is masked in the Log pane and in a saved screenshot (SVG); Textual's own crash report
shows every frame's local variables, avin's shows the frames and the error with the token masked
and no locals (avin_tui/crash_report.py)."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from rich.console import Console

from avin_tui import app as app_module
from avin_tui.app import AvinApp
from engine.model.redact import register_secret
from engine.runtime.engine import Engine
from tests.security.test_crash_redaction import LOCAL, TOKEN, BrokerFailure, failing_call
from tests.security.test_redaction_every_file import leaks

from .conftest import wait_for
from .test_broker_errors import log_text


def shown_on_screen(app: AvinApp) -> bool:
    """Whether the strategy's line quoting the token is on screen; if not, it is logged again. The
    simulated market trades meanwhile: its own lines scroll the Log pane (a few rows at 80x24)."""
    if "the broker refused" in app.export_screenshot().replace("&#160;", " "):
        return True
    logging.getLogger("avin.strategy.test").warning("the broker refused %s", TOKEN)
    return False


@pytest.mark.slow
async def test_the_terminal_apps_crash_report_hides_the_token_and_the_locals(
    sim_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    register_secret(TOKEN)
    monkeypatch.setattr(app_module.AvinApp, "action_help", failing_call)
    app = AvinApp(sim_engine, poll_interval=0.1, persist_layout=False)
    app.error_console = Console(file=io.StringIO(), width=80, color_system=None)
    with pytest.raises(BrokerFailure):
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: shown_on_screen(app), timeout=30)
            app.save_screenshot("screen.svg", str(tmp_path))  # no await since: the same frame
            svg = (tmp_path / "screen.svg").read_bytes().replace(b"&#160;", b" ")
            assert b"the broker refused" in svg
            assert not leaks(svg, TOKEN) and not leaks(log_text(app).encode(), TOKEN)
            await pilot.press("question_mark")
            await pilot.pause()
    text = app.error_console.file.getvalue()  # type: ignore[attr-defined]
    assert app.return_code == 1
    assert "BrokerFailure" in text and "failing_call" in text, text
    assert not leaks(text.encode(), TOKEN), text
    assert LOCAL not in text, text  # Textual's own report shows the frame's locals
