"""``make audit``: known vulnerabilities of the locked dependencies (requirements/lock.txt).

pip-audit looks each pinned version up in PyPI's vulnerability data. Where that data cannot be
reached (no network, a registry mirror without PyPI's per-version JSON, a timeout) the audit is
SKIPPED with a message and exit 0: an unreachable data source never fails CI. pip-audit itself
reports "No known vulnerabilities found" when it could look up nothing at all; this wrapper counts
what was really audited and says so. A found vulnerability fails (exit 1) unless its id is listed
in requirements/audit-ignore.txt with the decision taken (``ID  why``). Exit 2: the audit could not
be run as written (a bug here, not the data source).

Usage: python packaging/audit.py [LOCK] [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
IGNORE_FILE = ROOT / "requirements" / "audit-ignore.txt"
UNREACHABLE = (
    "connection",
    "max retries",
    "name or service not known",
    "temporary failure in name resolution",
    "timed out",
    "timeout",
    "serviceerror",
    "network is unreachable",
)


@dataclass
class Verdict:
    code: int  # 0 clean or skipped, 1 a vulnerability found
    lines: list[str] = field(default_factory=list)


def ignored_ids(path: Path = IGNORE_FILE) -> dict[str, str]:
    """``ID  why`` lines of the ignore file (``#`` comments, blank lines skipped)."""
    if not path.exists():
        return {}
    found = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            vuln_id, _, why = line.partition(" ")
            found[vuln_id] = why.strip()
    return found


def judge(report: dict[str, Any], ignored: dict[str, str]) -> Verdict:
    """The verdict on pip-audit's JSON report."""
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = [d for d in deps if not d.get("skip_reason")]
    if deps and not audited:
        return Verdict(
            0,
            [
                f"audit SKIPPED: the vulnerability data could not be reached: none of the "
                f"{len(deps)} locked dependencies could be looked up",
                f"  (first: {skipped[0]['skip_reason']})",
                "  run `make audit` where the registry's JSON API answers for each pinned version "
                "(a mirror that serves only the package index does not)",
            ],
        )
    found, accepted = [], []
    for dep in audited:
        for vuln in dep.get("vulns", []):
            ids = [vuln.get("id", "?"), *vuln.get("aliases", [])]
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            line = (
                f"  {dep['name']} {dep.get('version', '?')}: {vuln.get('id', '?')} (fix: {fixes})"
            )
            reason = next((ignored[i] for i in ids if i in ignored), None)
            if reason is None:
                found.append(line)
            else:
                accepted.append(f"{line} - accepted: {reason}")
    lines = []
    if found:
        lines.append(f"audit FAILED: {len(found)} known vulnerabilit(ies) in the locked versions:")
        lines += found
        lines.append(
            "  upgrade it (pin the fixed version, `make lock`), or record the decision in "
            "requirements/audit-ignore.txt (ID  why)"
        )
    if accepted:
        lines.append("accepted (requirements/audit-ignore.txt):")
        lines += accepted
    if not found:
        lines.append(
            f"audit passed: no known vulnerabilities in {len(audited)} locked dependencies"
        )
    if skipped:
        names = ", ".join(d["name"] for d in skipped[:10])
        more = f" and {len(skipped) - 10} more" if len(skipped) > 10 else ""
        lines.append(f"  not looked up ({len(skipped)}): {names}{more}")
    return Verdict(1 if found else 0, lines)


def unreachable(stderr: str) -> bool:
    text = stderr.lower()
    return any(mark in text for mark in UNREACHABLE)


def run_audit(lock: Path, timeout: float, ignored: dict[str, str]) -> Verdict:
    try:
        import pip_audit  # noqa: F401
    except ImportError:
        return Verdict(0, ["audit SKIPPED: pip-audit is not installed (it is in the dev extra)"])
    with tempfile.TemporaryDirectory(prefix="avin-audit-") as tmp:
        out = Path(tmp) / "report.json"
        command = [
            sys.executable, "-m", "pip_audit",
            "--requirement", str(lock),
            "--disable-pip",  # the lock is complete and hashed: no resolver, no install
            "--format", "json", "--output", str(out),
            "--progress-spinner", "off",
            "--timeout", "15",
        ]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return Verdict(
                0, [f"audit SKIPPED: the vulnerability data did not answer within {timeout:g} s"]
            )
        report = None
        if out.exists() and out.stat().st_size:
            try:
                report = json.loads(out.read_text(encoding="utf-8"))
            except ValueError:
                report = None
    if report is not None:
        return judge(report, ignored)
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    if unreachable(done.stderr or ""):
        return Verdict(0, ["audit SKIPPED: the vulnerability data could not be reached:", *tail])
    return Verdict(2, [f"audit could not run (pip-audit exit {done.returncode}):", *tail])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lock", nargs="?", type=Path, default=ROOT / "requirements" / "lock.txt")
    parser.add_argument("--timeout", type=float, default=300.0, help="bound on the whole audit")
    args = parser.parse_args(argv)
    verdict = run_audit(args.lock, args.timeout, ignored_ids())
    for line in verdict.lines:
        print(line)
    return verdict.code


if __name__ == "__main__":
    sys.exit(main())
