"""A throw-away PostgreSQL server for the tests: initdb in a temp dir, a unix socket, stopped at exit.

The binaries come from PATH or /usr/lib/postgresql/*/bin (Debian's ``postgresql`` package; .ci/run
installs it when missing). As root the server runs as ``nobody`` (postgres refuses root).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def find_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for path in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return path
    return None


class PgServer:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="avin-pg-"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.user = "nobody" if os.geteuid() == 0 else ""
        self.started = False

    def _run(self, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = ["runuser", "-u", self.user, "--", *args] if self.user else args
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)

    def start(self) -> str:
        initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise RuntimeError("initdb/pg_ctl not found: install Debian's postgresql package")
        self.sock.mkdir()
        if self.user:
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, self.user)
            shutil.chown(self.sock, self.user)
        done = self._run([initdb, "-D", str(self.data), "-A", "trust", "-U", "avin", "--no-sync"])
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")
        opts = f"-c listen_addresses='' -k {self.sock} -c fsync=on"
        done = self._run(
            [pg_ctl, "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w", "start"]
        )
        if done.returncode:
            log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
            raise RuntimeError(f"postgres did not start: {done.stderr or done.stdout}\n{log}")
        self.started = True
        return self.dsn

    @property
    def dsn(self) -> str:
        return f"host={self.sock} dbname=postgres user=avin"

    def stop(self) -> None:
        pg_ctl = find_bin("pg_ctl")
        if self.started and pg_ctl:
            self._run([pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)
