"""``make audit`` (packaging/audit.py): a found vulnerability fails, an accepted one is listed with
its decision, and data that could not be reached is a SKIPPED message with exit 0 - including
pip-audit's own "No known vulnerabilities found" when it looked nothing up."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("avin_audit", ROOT / "packaging" / "audit.py")
assert spec is not None and spec.loader is not None
audit: Any = importlib.util.module_from_spec(spec)
sys.modules["avin_audit"] = audit  # its dataclasses look their module up
spec.loader.exec_module(audit)

CLEAN = {"name": "textual", "version": "1.0.0", "vulns": []}
VULN = {
    "name": "requests",
    "version": "2.31.0",
    "vulns": [{"id": "PYSEC-2024-1", "aliases": ["CVE-2024-35195"], "fix_versions": ["2.32.0"]}],
}
SKIPPED = {
    "name": "aiohttp",
    "skip_reason": "Dependency not found on PyPI and could not be audited",
}


def test_a_vulnerability_fails_with_the_package_the_id_and_the_fix() -> None:
    verdict = audit.judge({"dependencies": [CLEAN, VULN]}, {})
    assert verdict.code == 1
    text = "\n".join(verdict.lines)
    assert "audit FAILED: 1" in text and "requests 2.31.0: PYSEC-2024-1 (fix: 2.32.0)" in text
    assert "audit-ignore.txt" in text


def test_an_accepted_vulnerability_passes_with_its_decision(tmp_path: Path) -> None:
    ignore = tmp_path / "ignore.txt"
    ignore.write_text("# header\n\nCVE-2024-35195 no redirects to other hosts (2026-12-04)\n")
    verdict = audit.judge({"dependencies": [CLEAN, VULN]}, audit.ignored_ids(ignore))
    assert verdict.code == 0
    assert any("accepted: no redirects to other hosts" in line for line in verdict.lines)


def test_nothing_looked_up_is_skipped_not_passed() -> None:
    verdict = audit.judge({"dependencies": [SKIPPED, SKIPPED]}, {})
    assert verdict.code == 0
    assert verdict.lines[0].startswith("audit SKIPPED") and "none of the 2" in verdict.lines[0]
    assert not any("passed" in line for line in verdict.lines)


def test_a_partial_lookup_names_what_was_not_audited() -> None:
    verdict = audit.judge({"dependencies": [CLEAN, SKIPPED]}, {})
    assert verdict.code == 0
    assert "no known vulnerabilities in 1 locked" in verdict.lines[0]
    assert "not looked up (1): aiohttp" in verdict.lines[1]


def _fake_run(monkeypatch: pytest.MonkeyPatch, behave: Any) -> None:
    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert "--disable-pip" in command and kwargs["timeout"] == 9
        return behave(Path(command[command.index("--output") + 1]))

    monkeypatch.setattr(audit.subprocess, "run", run)


def test_a_timeout_or_an_unreachable_service_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(out: Path) -> Any:
        raise subprocess.TimeoutExpired("pip-audit", 9)

    _fake_run(monkeypatch, slow)
    verdict = audit.run_audit(ROOT / "requirements" / "lock.txt", 9, {})
    assert verdict.code == 0 and "did not answer within 9 s" in verdict.lines[0]

    def offline(out: Path) -> Any:
        err = "ConnectionError: Max retries exceeded (Temporary failure in name resolution)"
        return subprocess.CompletedProcess([], 1, "", err)

    _fake_run(monkeypatch, offline)
    verdict = audit.run_audit(ROOT / "requirements" / "lock.txt", 9, {})
    assert verdict.code == 0 and verdict.lines[0].startswith("audit SKIPPED")


def test_a_report_with_a_vulnerability_fails_and_a_broken_run_is_exit_2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json

    def found(out: Path) -> Any:
        out.write_text(json.dumps({"dependencies": [VULN]}))
        return subprocess.CompletedProcess([], 1, "", "Found 1 known vulnerability")

    _fake_run(monkeypatch, found)
    assert audit.run_audit(ROOT / "requirements" / "lock.txt", 9, {}).code == 1

    def broken(out: Path) -> Any:
        return subprocess.CompletedProcess([], 2, "", "error: unrecognized arguments: --bad")

    _fake_run(monkeypatch, broken)
    verdict = audit.run_audit(ROOT / "requirements" / "lock.txt", 9, {})
    assert verdict.code == 2 and "unrecognized arguments" in verdict.lines[-1]
