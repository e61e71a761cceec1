"""Generated protobuf/gRPC stubs of the control API (control.proto; regen.py regenerates them)."""
