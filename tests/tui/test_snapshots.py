"""Snapshots of the main screen at 80x24, 120x40 and 200x60 in dark, light and NO_COLOR.

Fixed data and a frozen clock (``tests/tui/snapshots.py``). A failure writes a report with both
pictures (``snapshot_report.html``); after a deliberate change of the screen, look at it and run
``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from typing import Any

import pytest

from .snapshots import settle, snapshot_app

SIZES = [(80, 24), (120, 40), (200, 60)]
LOOKS = ["dark", "light", "no_color"]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("look", LOOKS)
def test_main_screen(
    snap_compare: Any, monkeypatch: pytest.MonkeyPatch, look: str, size: tuple[int, int]
) -> None:
    theme = "light" if look == "light" else "dark"
    app = snapshot_app(monkeypatch, theme=theme, no_color=look == "no_color")
    assert snap_compare(app, terminal_size=size, run_before=settle)
