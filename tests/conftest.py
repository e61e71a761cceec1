"""Every test runs with its own temporary AVIN_HOME and no token."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def avin_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("avin_home")
    monkeypatch.setenv("AVIN_HOME", str(home))
    for key in ("AVIN_TOKEN", "AVIN_TINVEST_TOKEN", "AVIN_MODE"):
        monkeypatch.delenv(key, raising=False)
    return home
