"""The supervisor restarts a crashing child and stops after a crash loop."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.runtime.supervisor import Supervisor, SupervisorPolicy

FAST = SupervisorPolicy(max_crashes=3, window=60, backoff=0.01, max_backoff=0.02)


def _script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "child.py"
    path.write_text(body)
    return [sys.executable, str(path)]


def test_restarts_a_crashing_child_until_it_exits_cleanly(tmp_path: Path) -> None:
    counter = tmp_path / "n"
    cmd = _script(
        tmp_path,
        f"from pathlib import Path\np = Path({str(counter)!r})\n"
        "n = int(p.read_text()) + 1 if p.exists() else 1\np.write_text(str(n))\n"
        "import os, signal\nif n < 3: os.kill(os.getpid(), signal.SIGKILL)\n",
    )
    delays: list[float] = []
    sup = Supervisor(cmd, FAST, sleep=delays.append)
    assert sup.run() == 0
    assert counter.read_text() == "3" and sup.starts == 3
    assert delays == [0.01, 0.02]  # backoff doubles, capped


def test_stops_after_a_crash_loop(tmp_path: Path) -> None:
    sup = Supervisor(_script(tmp_path, "raise SystemExit(7)\n"), FAST, sleep=lambda s: None)
    assert sup.run() == 1 and sup.starts == 3


def test_a_config_error_is_not_restarted(tmp_path: Path) -> None:
    sup = Supervisor(_script(tmp_path, "raise SystemExit(2)\n"), FAST, sleep=lambda s: None)
    assert sup.run() == 2 and sup.starts == 1


def test_the_command_restarts_avin(tmp_path: Path) -> None:
    """``avin supervise -- run ...`` end to end: a bad config file is a permanent error."""
    from avin_tui.cli import build_parser
    from avin_tui.cli import supervise as supervise_cmd

    bad = tmp_path / "bad.toml"
    bad.write_text("mode = 'nonsense'\n")
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    if "supervise" not in sub.choices:  # type: ignore[operator]
        supervise_cmd.register(sub)  # type: ignore[arg-type]
    args = parser.parse_args(["supervise", "--", "run", "--headless", "--config", str(bad)])
    assert args.func(args) == 2
