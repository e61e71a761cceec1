"""The compiled .proto subset matches the public wire facts field by field."""

from __future__ import annotations

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from engine.broker.tinvest.proto import investapi_pb2 as pb
from tests.tinvest.wire_facts import ENUMS, MESSAGES, SERVICES

PACKAGE = "tinkoff.public.invest.api.contract.v1"

_SCALARS = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_BOOL: "bool",
}


def _local(full_name: str) -> str:
    if full_name == "google.protobuf.Timestamp":
        return "Timestamp"
    assert full_name.startswith(PACKAGE + "."), full_name
    return full_name[len(PACKAGE) + 1 :]


def _type(field: FieldDescriptor) -> str:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return _local(field.message_type.full_name)
    if field.type == FieldDescriptor.TYPE_ENUM:
        return _local(field.enum_type.full_name)
    return _SCALARS[field.type]


def _label(field: FieldDescriptor) -> str:
    if field.is_repeated:
        return "repeated"
    oneof = field.containing_oneof
    if oneof is not None:
        return "optional" if oneof.name == "_" + field.name else "oneof"
    return ""


def _all_messages() -> dict[str, Descriptor]:
    found: dict[str, Descriptor] = {}

    def walk(desc: Descriptor) -> None:
        found[_local(desc.full_name)] = desc
        for nested in desc.nested_types:
            walk(nested)

    for desc in pb.DESCRIPTOR.message_types_by_name.values():
        walk(desc)
    return found


def _all_enums() -> dict[str, EnumDescriptor]:
    found = {_local(e.full_name): e for e in pb.DESCRIPTOR.enum_types_by_name.values()}
    for desc in _all_messages().values():
        for enum in desc.enum_types:
            found[_local(enum.full_name)] = enum
    return found


def test_package_name() -> None:
    assert pb.DESCRIPTOR.package == PACKAGE


def test_every_message_matches_the_facts() -> None:
    compiled = _all_messages()
    assert set(compiled) == set(MESSAGES)
    for name, facts in MESSAGES.items():
        got = sorted((f.number, f.name, _type(f), _label(f)) for f in compiled[name].fields)
        assert got == sorted(facts), name


def test_oneof_payload_is_the_only_real_oneof() -> None:
    for name, desc in _all_messages().items():
        real = [o.name for o in desc.oneofs if not o.name.startswith("_")]
        expected = ["payload"] if any(f[3] == "oneof" for f in MESSAGES[name]) else []
        assert real == expected, name


def test_every_enum_matches_the_facts() -> None:
    compiled = _all_enums()
    assert set(compiled) == set(ENUMS)
    for name, values in ENUMS.items():
        got = sorted((v.name, v.number) for v in compiled[name].values)
        assert got == sorted(values), name


def test_services_and_method_paths() -> None:
    services = pb.DESCRIPTOR.services_by_name
    assert set(services) == set(SERVICES)
    for name, rpcs in SERVICES.items():
        methods = services[name].methods_by_name
        assert set(methods) == {r[0] for r in rpcs}
        for rpc, request, response, kind in rpcs:
            method = methods[rpc]
            assert _local(method.input_type.full_name) == request
            assert _local(method.output_type.full_name) == response
            assert method.client_streaming == ("client-stream" in kind)
            assert method.server_streaming == ("server-stream" in kind)
            assert method.full_name == f"{PACKAGE}.{name}.{rpc}"


def test_from_field_is_reachable() -> None:
    from datetime import UTC, datetime

    from google.protobuf.timestamp_pb2 import Timestamp

    ts = Timestamp()
    ts.FromDatetime(datetime(2024, 3, 1, 7, tzinfo=UTC))
    req = pb.GetCandlesRequest(**{"from": ts}, instrument_id="x")
    assert getattr(req, "from").seconds == ts.seconds
