"""Regenerate the committed Python stubs from ``investapi.proto`` (needs grpcio-tools).

Run from anywhere: ``.venv/bin/python engine/broker/tinvest/proto/regen.py``. It runs
``grpc_tools.protoc`` with the repository root as the include path, so that the generated
``investapi_pb2_grpc.py`` imports ``engine.broker.tinvest.proto.investapi_pb2`` (a package import).
Commit ``investapi_pb2.py``, ``investapi_pb2.pyi`` and ``investapi_pb2_grpc.py`` after a change.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc


def main() -> int:
    here = Path(__file__).resolve().parent
    root = here.parents[3]  # .../engine/broker/tinvest/proto -> repository root
    proto = here.relative_to(root) / "investapi.proto"
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
