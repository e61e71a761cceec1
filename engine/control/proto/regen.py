"""Regenerate the committed Python stubs from ``control.proto`` (needs grpcio-tools).

Run from anywhere: ``.venv/bin/python engine/control/proto/regen.py``. It runs
``grpc_tools.protoc`` with the repository root as the include path, so that the generated
``control_pb2_grpc.py`` imports ``engine.control.proto.control_pb2`` (a package import).
Commit ``control_pb2.py``, ``control_pb2.pyi`` and ``control_pb2_grpc.py`` after a change.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc


def main() -> int:
    here = Path(__file__).resolve().parent
    root = here.parents[2]  # .../engine/control/proto -> repository root
    proto = here.relative_to(root) / "control.proto"
    well_known = str(resources.files("grpc_tools") / "_proto")
    args = [
        "grpc_tools.protoc",
        f"-I{root}",
        f"-I{well_known}",
        f"--python_out={root}",
        f"--pyi_out={root}",
        f"--grpc_python_out={root}",
        str(proto),
    ]
    code = protoc.main(args)
    if code != 0:
        print("protoc failed", file=sys.stderr)
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
