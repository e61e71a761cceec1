"""Crash reports never show a secret: the terminal app's (Textual's own shows every frame's local
variables) and a command's (a traceback on stderr). Each crash here happens in a function whose
locals hold the token (request metadata, as a gRPC call holds it) and whose error quotes it; the
report still names the error and where it happened."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from rich.console import Console

from avin_tui.cli import main
from avin_tui.cli import status as status_command
from avin_tui.crash_report import crash_text, crash_traceback
from engine.model.redact import register_secret

from .test_redaction_every_file import leaks

TOKEN = "t.CrashReport" + "q7Zr" * 12
LOCAL = "-".join(["a", "frame", "local"])  # a local's value that no source line shows


class BrokerFailure(RuntimeError):
    pass


def failing_call(*_args: object) -> None:
    metadata = [("authorization", f"Bearer {TOKEN}"), ("x-app-name", LOCAL)]
    raise BrokerFailure(f"the call with {metadata[0][1]} was refused")


def test_a_rendered_crash_traceback_names_the_error_without_the_token_or_locals() -> None:
    register_secret(TOKEN)
    try:
        failing_call()
    except BrokerFailure:
        report = crash_traceback(sys.exc_info())
    console = Console(file=io.StringIO(), width=60, color_system=None)
    console.print(report)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "BrokerFailure" in text and "failing_call" in text, text
    assert not leaks(text.encode(), TOKEN), text
    assert LOCAL not in text  # no frame's locals


def test_a_crashing_command_prints_its_traceback_with_the_token_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    register_secret(TOKEN)
    monkeypatch.setenv("AVIN_HOME", str(tmp_path))
    monkeypatch.setattr(status_command, "cmd_status", failing_call)
    assert main(["status"]) == 70
    err = capsys.readouterr().err
    assert "BrokerFailure" in err and "avin status: crashed" in err, err
    assert not leaks(err.encode(), TOKEN), err


def test_crash_text_of_no_exception_is_harmless() -> None:
    assert "None" in crash_text((None, None, None))
