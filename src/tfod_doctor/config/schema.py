"""The OD API's config messages as tfod-doctor sees them: fields, types, defaults, oneofs, enums.

The facts come from :mod:`tfod_doctor.config.od_schema` (generated from the OD API's protos); this
module turns them into small objects and answers the questions the checks ask: does this message
have that field, what did the user probably mean, where does a misplaced field belong.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache

from tfod_doctor.config import od_schema

INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}
SCALARS = {*INTEGER_RANGES, "float", "double", "bool", "string", "bytes"}


@dataclass(frozen=True)
class FieldInfo:
    """One field of a message."""

    name: str
    type: str
    default: str | None
    repeated: bool
    deprecated: bool
    #: The oneof group this field belongs to, if any.
    oneof: str | None = None

    @property
    def is_message(self) -> bool:
        """Whether the field holds a message (a ``{ ... }`` block)."""
        return self.type in od_schema.MESSAGES

    @property
    def is_enum(self) -> bool:
        """Whether the field holds an enum value."""
        return self.type in od_schema.ENUMS

    @property
    def type_label(self) -> str:
        """The type as a message says it: ``uint32``, ``enum CheckpointVersion``, ``message``."""
        if self.is_enum:
            return f"enum {self.type}"
        if self.is_message:
            return f"message {self.type}"
        return self.type


@dataclass(frozen=True)
class MessageInfo:
    """One message: its fields by name, and its oneof groups."""

    name: str
    fields: dict[str, FieldInfo]
    oneofs: dict[str, tuple[str, ...]]

    @property
    def qualified(self) -> str:
        """The name protobuf prints: ``object_detection.protos.TrainConfig``."""
        return f"object_detection.protos.{self.name}"

    def suggest(self, name: str) -> str | None:
        """The field a misspelt ``name`` most likely meant, if one is close enough."""
        lowered = {f.lower(): f for f in self.fields}
        if name.lower() in lowered:
            return lowered[name.lower()]
        close = difflib.get_close_matches(name, list(self.fields), n=1, cutoff=0.75)
        if close:
            return close[0]
        singular = name[:-1] if name.endswith("s") else name + "s"
        return singular if singular in self.fields else None


@cache
def message(name: str) -> MessageInfo:
    """A message by its short name (``TrainConfig``, ``CenterNet.ObjectDetection``)."""
    rows = od_schema.MESSAGES[name]
    oneofs = od_schema.ONEOFS.get(name, {})
    group_of = {member: group for group, members in oneofs.items() for member in members}
    fields = {
        row[0]: FieldInfo(row[0], row[1], row[2], "repeated" in row[3].split(),
                          "deprecated" in row[3].split(), group_of.get(row[0]))
        for row in rows
    }
    return MessageInfo(name, fields, dict(oneofs))


@cache
def messages_with_field(name: str) -> tuple[str, ...]:
    """Every message that has a field called ``name`` (to say where a misplaced field belongs)."""
    return tuple(m for m, rows in od_schema.MESSAGES.items() if any(r[0] == name for r in rows))


def enum_values(name: str) -> tuple[str, ...]:
    """The value names of an enum, in number order."""
    return od_schema.ENUMS[name]


PIPELINE = "TrainEvalPipelineConfig"
LABEL_MAP = "StringIntLabelMap"
