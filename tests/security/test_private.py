"""Private homes: what avin creates under a private umask is 0700/0600 (diskcache with its SQLite
WAL and shm files, Parquet and atomic writes, rotated logs), and a home an older version left open
is tightened once, with a note."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.paths import homes
from engine.security import private


def open_entries(root: Path) -> list[str]:
    """Every file or folder under ``root`` (itself included) that the group or others can use."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) & 0o077:
            found.append(f"{path.relative_to(root)} {stat.S_IMODE(mode):04o}")
    return found


@pytest.fixture
def loose_then_private() -> Iterator[None]:
    """The login's usual umask 022, then what an avin entry point does; restored after."""
    old = os.umask(0o022)
    private.private_umask()
    try:
        yield
    finally:
        os.umask(old)


def test_private_umask_makes_diskcache_sqlite_wal_and_shm_private(
    tmp_path: Path, loose_then_private: None
) -> None:
    import diskcache

    folder = tmp_path / "cache"
    with diskcache.Cache(str(folder), sqlite_journal_mode="wal") as cache:
        cache.set("key", b"x" * 100_000)  # large enough for a value file beside the database
        cache.set("small", 1)
        names = {p.name for p in folder.rglob("*")}
        assert "cache.db-wal" in names and "cache.db-shm" in names, names  # while open
        assert open_entries(folder) == []


def test_private_umask_makes_parquet_atomic_writes_and_rotated_logs_private(
    tmp_path: Path, loose_then_private: None
) -> None:
    import logging.handlers

    import polars as pl

    from engine.data.atomic import write_atomic

    frame = pl.DataFrame({"a": [1, 2, 3]})
    frame.write_parquet(tmp_path / "direct.parquet")
    write_atomic(tmp_path / "deep" / "atomic.parquet", frame.write_parquet)
    handler = logging.handlers.RotatingFileHandler(tmp_path / "x.log", maxBytes=10, backupCount=2)
    record = logging.LogRecord("t", logging.INFO, __file__, 0, "a line longer than ten", (), None)
    for _ in range(3):
        handler.emit(record)
    handler.close()
    assert (tmp_path / "x.log.1").exists()
    assert open_entries(tmp_path) == []


def test_ensure_creates_private_homes_even_under_a_loose_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AVIN_HOME", str(tmp_path / "home"))
    old = os.umask(0o022)
    try:
        found = homes().ensure()
    finally:
        os.umask(old)
    for home in found.all:
        assert stat.S_IMODE(home.stat().st_mode) == 0o700, home


def test_an_open_home_from_an_older_version_is_tightened_once_with_a_note(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AVIN_HOME", str(tmp_path))
    old = os.umask(0o022)
    try:
        state = tmp_path / "state"
        (state / "journal").mkdir(parents=True)
        (state / "journal" / "cache.db").write_text("x")
        (state / "run.sh").write_text("#!/bin/sh\n")
        (state / "run.sh").chmod(0o755)
        (state / "link").symlink_to("/etc/hostname")  # a link: its target is not ours to change
    finally:
        os.umask(old)
    target = Path("/etc/hostname")
    target_mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else None
    private.take_pending()
    with caplog.at_level(logging.WARNING, logger="avin.security"):
        homes().ensure()
    assert open_entries(tmp_path / "state") == []
    assert stat.S_IMODE((state / "run.sh").stat().st_mode) == 0o700  # the owner's bits stay
    assert stat.S_IMODE((state / "journal" / "cache.db").stat().st_mode) == 0o600
    if target_mode is not None:
        assert stat.S_IMODE(os.stat("/etc/hostname").st_mode) == target_mode
    notes = [r.getMessage() for r in caplog.records if r.name == "avin.security"]
    assert len(notes) == 1 and f"made {state} private to you: 4 file(s)/folder(s)" in notes[0]
    assert [str(t.home) for t in private.take_pending()] == [str(state)]
    caplog.clear()
    homes().ensure()  # private now: nothing walked, nothing said
    assert not [r for r in caplog.records if r.name == "avin.security"]


def test_a_private_home_is_not_walked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "private"
    home.mkdir(mode=0o700)
    (home / "open-file").write_text("x")
    (home / "open-file").chmod(0o644)  # under a private folder: nobody else can reach it
    walked: list[Path] = []
    monkeypatch.setattr(private, "_walk", lambda h: walked.append(h) or iter(()))
    assert private.tighten(home) is None
    assert walked == []


def test_the_users_own_config_files_keep_their_modes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not avin's to change: a config without a secret may be readable (one with a secret is
    refused, tests/security/test_config_modes.py)."""
    monkeypatch.setenv("AVIN_HOME", str(tmp_path))
    config = tmp_path / "config"
    config.mkdir(mode=0o755)
    config.chmod(0o755)
    (config / "avin.toml").write_text('mode = "sim"\n')
    (config / "avin.toml").chmod(0o644)
    homes().ensure()
    assert stat.S_IMODE((config / "avin.toml").stat().st_mode) == 0o644


def test_main_restores_the_callers_umask() -> None:
    from avin_tui.cli import main

    old = os.umask(0o022)
    try:
        assert main(["config", "check"]) == 0
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(old)
