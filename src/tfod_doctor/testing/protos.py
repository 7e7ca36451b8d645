"""Real protobuf message classes built from tfod-doctor's own schema, for tests.

``text_format`` on these classes is the witness for the config parser: the same text, the same
schema, protobuf's own parser. ``fake_od_api(drop=...)`` builds an "installed OD API" that lacks
some fields, as an older install does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from tfod_doctor.config import od_schema, schema
from tfod_doctor.config.witness import InstalledApi

PACKAGE = "object_detection.protos"
_TYPES = {
    "double": descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE,
    "float": descriptor_pb2.FieldDescriptorProto.TYPE_FLOAT,
    "int64": descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
    "uint64": descriptor_pb2.FieldDescriptorProto.TYPE_UINT64,
    "int32": descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
    "uint32": descriptor_pb2.FieldDescriptorProto.TYPE_UINT32,
    "bool": descriptor_pb2.FieldDescriptorProto.TYPE_BOOL,
    "string": descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
    "bytes": descriptor_pb2.FieldDescriptorProto.TYPE_BYTES,
}


def _container(file: descriptor_pb2.FileDescriptorProto, protos: dict[str, Any], name: str):
    """Where a (possibly nested) type named ``A.B`` is declared: the file or message ``A``."""
    parent = name.rpartition(".")[0]
    return protos[parent] if parent else file


def _add_field(message: descriptor_pb2.DescriptorProto, number: int,
               info: schema.FieldInfo) -> None:
    field = message.field.add(name=info.name, number=number, json_name=info.name)
    field.label = (descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED if info.repeated
                   else descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    if info.is_message:
        field.type = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
        field.type_name = f".{PACKAGE}.{info.type}"
    elif info.is_enum:
        field.type = descriptor_pb2.FieldDescriptorProto.TYPE_ENUM
        field.type_name = f".{PACKAGE}.{info.type}"
    else:
        field.type = _TYPES[info.type]
    if info.default is not None and not info.repeated:
        field.default_value = info.default


def build_classes(drop: Mapping[str, set[str]] | None = None, file_name: str = "od_schema.proto"
                  ) -> dict[str, Any]:
    """Message classes (by short name) for every message of the schema, minus ``drop``."""
    drop = drop or {}
    file = descriptor_pb2.FileDescriptorProto(name=file_name, package=PACKAGE,
                                              syntax="proto2")
    protos: dict[str, Any] = {}
    for name in sorted(od_schema.MESSAGES, key=lambda n: n.count(".")):
        container = _container(file, protos, name)
        holder = container.message_type if container is file else container.nested_type
        protos[name] = holder.add(name=name.rpartition(".")[2])
    for name in od_schema.ENUMS:
        container = _container(file, protos, name)
        holder = container.enum_type
        enum = holder.add(name=name.rpartition(".")[2])
        for number, value in enumerate(od_schema.ENUMS[name]):
            enum.value.add(name=value, number=number)
    for name in od_schema.MESSAGES:
        info = schema.message(name)
        proto = protos[name]
        groups = list(info.oneofs)
        for group in groups:
            proto.oneof_decl.add(name=group)
        for number, field_info in enumerate(info.fields.values(), start=1):
            if field_info.name in drop.get(name, set()):
                continue
            _add_field(proto, number, field_info)
            if field_info.oneof is not None:
                proto.field[-1].oneof_index = groups.index(field_info.oneof)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {name: message_factory.GetMessageClass(
        pool.FindMessageTypeByName(f"{PACKAGE}.{name}")) for name in od_schema.MESSAGES}


def fake_od_api(drop: Mapping[str, set[str]] | None = None) -> InstalledApi:
    """An "installed OD API" built from the schema, without the fields in ``drop``."""
    classes = build_classes(drop)
    dropped = ", ".join(f"{m}.{f}" for m, fields in (drop or {}).items() for f in sorted(fields))
    return InstalledApi(classes[schema.PIPELINE], classes[schema.LABEL_MAP],
                        f"a test OD API without {dropped or 'nothing'}")
