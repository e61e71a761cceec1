"""Windows safety: no POSIX-only call in engine/ or avin_tui/ without a fallback.

No Windows machine runs here, so this is a static check: every use of a name that Windows lacks
(or where it does something else: ``os.kill(pid, 0)`` terminates the process there) must sit
under a platform guard (an ``if`` on ``sys.platform``/``os.name``/``hasattr``, a ``try`` that
catches the error Windows raises, or after an early ``return`` on such a test), or be listed in
ALLOWED with the reason it is safe. A new unguarded use fails this test.
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("engine", "avin_tui")
SKIPPED_PARTS = {"proto"}  # generated gRPC code

POSIX_ATTRIBUTES = {
    "signal": {
        "SIGHUP", "SIGKILL", "SIGUSR1", "SIGUSR2", "SIGQUIT", "SIGALRM", "SIGCHLD", "SIGPIPE",
        "SIGTSTP", "SIGCONT", "SIGWINCH", "SIGSTOP", "alarm", "setitimer", "pthread_kill",
        "siginterrupt", "pause",
    },
    "os": {
        "fork", "forkpty", "setsid", "setpgrp", "setpgid", "killpg", "getpgid", "getuid",
        "geteuid", "getgid", "getegid", "chown", "lchown", "fchown", "mkfifo", "nice", "wait4",
        "kill", "sync", "getloadavg", "sched_getaffinity", "O_NOFOLLOW", "O_DIRECTORY",
    },
}  # fmt: skip
POSIX_MODULES = {"fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix", "crypt"}
POSIX_METHODS = {"add_signal_handler", "remove_signal_handler"}  # asyncio: NotImplementedError
GUARD_WORDS = ("sys.platform", "os.name", "hasattr(", "WINDOWS", "POSIX", "win32")
GUARD_ERRORS = {
    "AttributeError", "NotImplementedError", "ImportError", "ModuleNotFoundError", "OSError",
    "Exception", "BaseException",
}  # fmt: skip

ALLOWED: dict[tuple[str, str], str] = {
    # remove_signal_handler runs only for the signals whose add_signal_handler succeeded (guarded)
    ("avin_tui/cli/run.py", "remove_signal_handler"): "only for handlers installed above",
}


def _is_guard_test(node: ast.expr) -> bool:
    text = ast.unparse(node)
    return any(word in text for word in GUARD_WORDS)


def _catches_guard_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = {n.id for n in ast.walk(handler.type) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(handler.type) if isinstance(n, ast.Attribute)}
    return bool(names & GUARD_ERRORS)


def _exits(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], ast.Return | ast.Raise | ast.Continue)


def _uses(node: ast.AST) -> str | None:
    """The POSIX-only name ``node`` uses, if any."""
    if isinstance(node, ast.Attribute):
        base = node.value
        if isinstance(base, ast.Name) and node.attr in POSIX_ATTRIBUTES.get(base.id, set()):
            return f"{base.id}.{node.attr}"
        if node.attr in POSIX_METHODS:
            return node.attr
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] in POSIX_MODULES:
                return f"import {alias.name}"
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        if node.module.split(".")[0] in POSIX_MODULES:
            return f"from {node.module} import"
        if node.module in POSIX_ATTRIBUTES:
            for alias in node.names:
                if alias.name in POSIX_ATTRIBUTES[node.module]:
                    return f"from {node.module} import {alias.name}"
    return None


def unguarded(source: str, path: str = "<source>") -> list[tuple[int, str]]:
    """(line, name) of every POSIX-only use in ``source`` with no platform guard around it."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, guarded: bool) -> None:
        name = _uses(node)
        if name is not None and not guarded and (path, name.split(".")[-1]) not in ALLOWED:
            found.append((getattr(node, "lineno", 0), name))
        if isinstance(node, ast.If) and _is_guard_test(node.test):
            for child in [*node.body, *node.orelse]:
                visit(child, True)
            visit(node.test, guarded)
            return
        if isinstance(node, ast.Try):
            protected = guarded or any(_catches_guard_error(h) for h in node.handlers)
            for child in node.body:
                visit(child, protected)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, guarded)
            return
        body_guarded = guarded
        for field in ("body", "orelse", "finalbody"):
            statements = getattr(node, field, None)
            if not isinstance(statements, list):
                continue
            body_guarded = guarded
            for statement in statements:
                visit(statement, body_guarded)
                # `if sys.platform == "win32": return ...` guards everything after it
                if (
                    isinstance(statement, ast.If)
                    and _is_guard_test(statement.test)
                    and _exits(statement.body)
                ):
                    body_guarded = True
        for field_name, value in ast.iter_fields(node):
            if field_name in ("body", "orelse", "finalbody") and isinstance(value, list):
                continue
            children = value if isinstance(value, list) else [value]
            for child in children:
                if isinstance(child, ast.AST):
                    visit(child, guarded)

    visit(ast.parse(source), False)
    return found


def _sources() -> list[Path]:
    files: list[Path] = []
    for package in SCANNED:
        for path in sorted((ROOT / package).rglob("*.py")):
            if not SKIPPED_PARTS & set(path.relative_to(ROOT).parts):
                files.append(path)
    return files


def test_engine_and_tui_have_no_unguarded_posix_only_call() -> None:
    problems = []
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        for line, name in unguarded(path.read_text(encoding="utf-8"), rel):
            problems.append(f"{rel}:{line}: {name}")
    assert not problems, (
        "POSIX-only calls without a Windows fallback (guard them with sys.platform/hasattr/try, "
        "or add them to ALLOWED with the reason):\n" + "\n".join(problems)
    )


def test_the_allow_list_names_only_existing_uses() -> None:
    for rel, name in ALLOWED:
        assert name in (ROOT / rel).read_text(encoding="utf-8"), (rel, name)


@pytest.mark.parametrize(
    "source",
    [
        "import os\nos.fork()\n",
        "import os\ndef f(pid):\n    os.kill(pid, 0)\n",
        "import signal\nsignal.signal(signal.SIGHUP, print)\n",
        "import fcntl\n",
        "from os import fork\n",
        "def f(loop):\n    loop.add_signal_handler(15, print)\n",
        "import os\ntry:\n    os.fork()\nexcept ValueError:\n    pass\n",
        "import os, sys\nif sys.platform == 'win32':\n    pass\nos.setsid()\n",
    ],
)
def test_an_unguarded_use_is_found(source: str) -> None:
    assert unguarded(source), source


@pytest.mark.parametrize(
    "source",
    [
        "import os, sys\nif sys.platform != 'win32':\n    os.fork()\n",
        "import os\nif os.name == 'posix':\n    os.setsid()\n",
        "import signal\nif hasattr(signal, 'SIGHUP'):\n    signal.signal(signal.SIGHUP, print)\n",
        "try:\n    import fcntl\nexcept ImportError:\n    fcntl = None\n",
        "def f(loop):\n    try:\n        loop.add_signal_handler(15, print)\n"
        "    except NotImplementedError:\n        pass\n",
        "import os, sys\ndef f(pid):\n    if sys.platform == 'win32':\n        return False\n"
        "    os.kill(pid, 0)\n",
        "import signal\nsig = getattr(signal, 'SIGHUP', None)\n",
    ],
)
def test_a_guarded_use_passes(source: str) -> None:
    assert unguarded(source) == [], source


def test_pid_alive_never_sends_a_signal_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """On Windows os.kill(pid, 0) terminates the process: `avin status` must not kill the robot."""
    from engine.state import status_store

    def kill(*_: object) -> None:
        raise AssertionError("os.kill called on Windows")

    monkeypatch.setattr(status_store.os, "kill", kill)
    monkeypatch.setattr(status_store.sys, "platform", "win32")
    monkeypatch.setattr(status_store, "_windows_pid_alive", lambda pid: pid == 4242)
    assert status_store.pid_alive(4242) is True
    assert status_store.pid_alive(4243) is False


def test_supervisor_restarts_the_binary_itself_when_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    from avin_tui.cli.supervise import avin_command

    assert avin_command() == [sys.executable, "-m", "avin_tui.cli"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/avin/avin")
    assert avin_command() == ["/opt/avin/avin"]


def test_a_console_that_cannot_encode_the_text_gets_replacements(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Windows code page (cp1252) or a C locale: printing a Cyrillic ticker must not crash."""
    import io

    from avin_tui.cli import _safe_console

    raw = io.BytesIO()
    console = io.TextIOWrapper(raw, encoding="cp1252")
    monkeypatch.setattr(sys, "stdout", console)
    monkeypatch.setattr(sys, "stderr", console)
    _safe_console()
    print("Сбербанк — SBER")
    console.flush()
    assert raw.getvalue() == "???????? — SBER\n".encode("cp1252")


def test_replacing_a_file_held_open_on_windows_is_tried_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Windows refuses to replace a file another process has open; a reader lets go soon."""
    from engine.data import atomic

    real_replace = os.replace
    refusals = iter([PermissionError("in use"), PermissionError("in use")])

    def replace(src: object, dst: object) -> None:
        error = next(refusals, None)
        if error is not None:
            raise error
        real_replace(src, dst)  # type: ignore[arg-type]

    pauses: list[float] = []
    monkeypatch.setattr(atomic.sys, "platform", "win32")
    monkeypatch.setattr(atomic.os, "replace", replace)
    monkeypatch.setattr(atomic.time, "sleep", pauses.append)
    target = tmp_path / "bars.parquet"
    atomic.write_atomic(target, lambda temp: temp.write_bytes(b"new"))
    assert target.read_bytes() == b"new" and len(pauses) == 2


def test_a_file_held_open_for_good_still_fails_loudly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from engine.data import atomic

    def replace(src: object, dst: object) -> None:
        raise PermissionError("in use")

    monkeypatch.setattr(atomic.sys, "platform", "win32")
    monkeypatch.setattr(atomic.os, "replace", replace)
    monkeypatch.setattr(atomic.time, "sleep", lambda _: None)
    with pytest.raises(PermissionError):
        atomic.write_atomic(tmp_path / "x", lambda temp: temp.write_bytes(b"x"))
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone
