"""Everything avin writes is private to the user: directories 0700, files 0600.

One mechanism rather than a chmod after every write: each entry point sets the process umask to
:data:`PRIVATE_UMASK` (:func:`private_umask`), so every file and folder created afterwards (diskcache
and its SQLite WAL/shm files, Parquet and atomic writes, rotated logs, reports, exports, the
control socket) is born private whatever the login's umask. Homes written by an older version
(or by a run with a looser umask) are tightened once by :func:`tighten`: it walks a home only when
the home folder itself is open to group or others, so a private home costs one ``stat``.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PRIVATE_UMASK = 0o077
OPEN_BITS = 0o077  # any permission for the group or others
log = logging.getLogger("avin.security")


def private_umask() -> int:
    """Set the process umask so that what is created from now on is private; returns the old one
    (for a caller that runs avin in-process and wants its own back, e.g. a test)."""
    return os.umask(PRIVATE_UMASK)


def private_process(homes: Iterable[Path]) -> int:
    """What every entry point does first: the private umask, then the homes an older version left
    open are tightened (a note each, logged as a warning). Returns the previous umask."""
    previous = private_umask()
    tighten_all(homes)
    return previous


def is_open(mode: int) -> bool:
    """Whether a mode gives the group or others any access."""
    return bool(stat.S_IMODE(mode) & OPEN_BITS)


@dataclass(frozen=True, slots=True)
class Tightened:
    """What :func:`tighten` changed (or could not change) under one home."""

    home: Path
    changed: int  # files and folders whose group/other bits were removed
    failed: tuple[str, ...] = ()  # paths that could not be changed (another owner), with why

    def __str__(self) -> str:
        text = (
            f"made {self.home} private to you: {self.changed} file(s)/folder(s) were open to "
            "group or others (now 0700 folders, 0600 files)"
        )
        if self.failed:
            text += f"; could not change {len(self.failed)}: {', '.join(self.failed[:3])}"
        return text


_pending: list[Tightened] = []  # tightened before the log file was set up (see take_pending)


def tighten(home: Path) -> Tightened | None:
    """Remove group/other permissions from ``home`` and, when it was open, from everything in it.

    Symlinks are not followed (their targets are not avin's to change). Returns None when the home
    is absent or already private (nothing walked), and on Windows, where modes are not the
    access rules (the profile folders' ACLs are)."""
    if os.name != "posix":
        return None
    try:
        info = home.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or not is_open(info.st_mode):
        return None
    changed = 0
    failed: list[str] = []
    for path in _walk(home):
        try:
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode) or not is_open(mode):
                continue
            os.chmod(path, stat.S_IMODE(mode) & ~OPEN_BITS)
            changed += 1
        except OSError as exc:
            failed.append(f"{path} ({exc.strerror or exc})")
    return Tightened(home, changed, tuple(failed))


def tighten_all(homes: Iterable[Path]) -> list[Tightened]:
    """:func:`tighten` each home; each change is logged as a warning (``avin.security``)."""
    done = []
    for home in homes:
        result = tighten(home)
        if result is not None:
            log.warning("%s", result)
            done.append(result)
    _pending.extend(done)
    return done


def take_pending() -> list[Tightened]:
    """What was tightened in this process so far and not yet taken: a run writes it to its log
    file once logging is set up (the homes are tightened before, at the entry point)."""
    taken = list(_pending)
    _pending.clear()
    return taken


def _walk(home: Path) -> Iterable[Path]:
    yield home
    for folder, dirs, files in os.walk(home, followlinks=False):
        base = Path(folder)
        for name in dirs + files:
            yield base / name
