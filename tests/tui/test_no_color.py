"""NO_COLOR draws in monochrome (ZigZag terms told apart by a digit), and a crash exits non-zero."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from textual.app import App

from avin_tui import cli
from avin_tui.app import AvinApp
from avin_tui.cli import run as run_command
from avin_tui.widgets.chart import ChartPane

from .conftest import FakeEngine, wait_for


async def test_no_color_draws_the_chart_in_monochrome(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = AvinApp(FakeEngine(), poll_interval=0.05, persist_layout=False)
    assert app.no_color
    async with app.run_test(size=(120, 40)) as pilot:
        chart = app.screen.query_one(ChartPane)
        await wait_for(pilot, lambda: chart.showing_bars)
        await pilot.press("1", "4")  # more terms: more legs to draw
        await wait_for(pilot, lambda: chart.built_for is not None and 4 in chart.built_for[2])
        await pilot.pause(0.2)  # frames composed through the monochrome filter
        text = "".join(s.text for s in chart.rendered_strips)
        assert set("1234") & set(text), "each term's pivots carry its digit without colour"
        assert all(seg.style is not None for s in chart.rendered_strips for seg in s)
        screen = app.export_screenshot()
        assert "SBER" in screen  # the whole screen was composed (the filter ran on it)
    assert app.return_code in (None, 0)


def test_a_crash_of_the_app_exits_non_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    class Crashing(AvinApp):
        def on_mount(self) -> None:
            raise RuntimeError("boom in a pane")

        def run(self, **kw: Any) -> Any:  # no terminal in tests
            return App.run(self, headless=True, size=(80, 24))

    monkeypatch.setattr("avin_tui.app.AvinApp", Crashing)
    engine = FakeEngine()
    code = run_command._run_app(engine, None, None)  # type: ignore[arg-type]
    assert code == 1
    assert ("stop", None) in engine.calls  # the engine was asked to stop


def test_any_crash_of_a_command_exits_non_zero(
    monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    def explode(args: argparse.Namespace) -> int:
        raise RuntimeError("unexpected")

    parser = argparse.ArgumentParser(prog="avin")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run").set_defaults(func=explode)
    monkeypatch.setattr(cli, "build_parser", lambda command=None: parser)
    assert cli.main(["run"]) == cli.EXIT_CRASH
    err = capsys.readouterr().err
    assert "RuntimeError: unexpected" in err and "crashed" in err
