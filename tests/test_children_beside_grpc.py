"""A command the suite starts with ``preexec_fn`` (so subprocess forks instead of vforking) while
a gRPC server runs in the suite's process starts every time: gRPC's fork handlers are off for the
suite (tests/conftest.py). With them on, about one child in fifty died before exec (-6 or -11,
"epoll_wait error: Bad file descriptor"), failing whichever test it was."""

from __future__ import annotations

import os
import subprocess
from concurrent import futures

import grpc


def test_children_forked_beside_a_grpc_server_all_start() -> None:
    assert os.environ.get("GRPC_ENABLE_FORK_SUPPORT") == "false"
    server = grpc.server(futures.ThreadPoolExecutor(2))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            codes = [
                subprocess.run(
                    ["true"], capture_output=True, preexec_fn=lambda: os.umask(0o022)
                ).returncode
                for _ in range(200)
            ]
    finally:
        server.stop(0)
    assert [c for c in codes if c != 0] == []
