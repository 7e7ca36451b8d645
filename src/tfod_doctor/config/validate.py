"""Check a text-format syntax tree against the schema, the way ``text_format.Parse`` would.

Everything ``Parse`` refuses is a :class:`Problem` (unknown field, bad enum value, wrong value
type, missing colon); so is what training's ``text_format.Merge`` silently accepts: a singular field
given twice (the last wins; two blocks are merged) and two members of a oneof (the last wins).
The result is also a typed view of the config with Merge's semantics, every value with its place.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from tfod_doctor.config import schema
from tfod_doctor.config.schema import FieldInfo, MessageInfo
from tfod_doctor.config.textproto import Block, Entry, ParsedText, Pos, Scalar

_OCTAL = re.compile(r"^-?0[0-7]+$")
_TRUE = {"true", "t", "1", "True"}
_FALSE = {"false", "f", "0", "False"}
_FLOAT_WORDS = {"inf", "infinity", "nan", "-inf", "-infinity", "-nan"}


@dataclass(frozen=True)
class Problem:
    """Something wrong in a config or label map text, before any meaning is looked at.

    ``kind`` is one of ``syntax``, ``unknown-field``, ``bad-enum``, ``wrong-type``, ``duplicate``,
    ``oneof`` or ``deprecated``. ``tensorflow`` is the ParseError protobuf would raise, if any.
    """

    kind: str
    message: str
    pos: Pos
    hint: str = ""
    tensorflow: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class Value:
    """A scalar value as the field's type reads it, and where it is written."""

    value: Any
    pos: Pos
    name_pos: Pos
    raw: str


@dataclass
class Node:
    """A message with Merge's semantics: the last scalar wins, repeated blocks of one singular
    message field are merged, and setting a oneof member clears the others."""

    info: MessageInfo
    pos: Pos
    #: Field name -> what was set, in order (one merged Node for a singular message field).
    values: dict[str, list[Value | Node]] = field(default_factory=dict)
    #: Field name -> where its name was written, every time.
    written: dict[str, list[Pos]] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        """Whether the field was set (for a oneof member: whether it is the one that won)."""
        return bool(self.values.get(name))

    def get(self, name: str) -> Any:
        """The effective value: the last one written, a merged Node, or the schema default."""
        items = self.values.get(name)
        if items:
            last = items[-1]
            return last if isinstance(last, Node) else last.value
        info = self.info.fields[name]
        if info.repeated:
            return []
        if info.is_message:
            return None
        return default_value(info)

    def node(self, name: str) -> Node | None:
        """A message field's node, or ``None`` when it is not set."""
        value = self.get(name)
        return value if isinstance(value, Node) else None

    def all(self, name: str) -> list[Any]:
        """Every value of a repeated field, in order (Nodes for messages)."""
        return [v if isinstance(v, Node) else v.value for v in self.values.get(name, [])]

    def entries(self, name: str) -> list[Value | Node]:
        """Every value of a field with its place."""
        return list(self.values.get(name, []))

    def where(self, name: str) -> Pos:
        """Where the field was (last) written, or where this message starts if it was not."""
        written = self.written.get(name)
        return written[-1] if written else self.pos

    def value_pos(self, name: str) -> Pos:
        """Where the field's (last) value is written."""
        items = self.values.get(name)
        if items and isinstance(items[-1], Value):
            return items[-1].pos
        return self.where(name)

    def which(self, group: str) -> str | None:
        """The member of a oneof group that is set, if any."""
        for member in self.info.oneofs.get(group, ()):
            if self.has(member):
                return member
        return None


def default_value(info: FieldInfo) -> Any:
    """A field's default as a Python value (``0``, ``""``, ``False`` or the first enum value)."""
    text = info.default
    if info.is_enum:
        return text if text is not None else schema.enum_values(info.type)[0]
    if info.type in schema.INTEGER_RANGES:
        return int(text) if text is not None else 0
    if info.type in ("float", "double"):
        return float(text) if text is not None else 0.0
    if info.type == "bool":
        return text == "true"
    return text or ""


class _Validator:
    def __init__(self, parsed: ParsedText) -> None:
        self.parsed = parsed
        self.problems: list[Problem] = []

    def add(self, kind: str, message: str, pos: Pos, hint: str = "",
            tensorflow: str | None = None, **evidence: Any) -> None:
        self.problems.append(Problem(kind, message, pos, hint, tensorflow, evidence))

    def block(self, block: Block, node: Node, path: list[MessageInfo]) -> None:
        for entry in block.entries:
            self.entry(entry, node, path)

    def entry(self, entry: Entry, node: Node, path: list[MessageInfo]) -> None:
        info = node.info.fields.get(entry.name)
        if info is None:
            self.unknown(entry, node.info, path)
            return
        node.written.setdefault(entry.name, []).append(entry.pos)
        if info.deprecated:
            self.add("deprecated", f"{entry.name} is deprecated", entry.pos,
                     field=entry.name, message_type=node.info.name)
        if info.oneof is not None:
            self.oneof(entry, node, info)
        if info.is_message:
            self.message_value(entry, node, info, path)
            return
        value = self.scalar_value(entry, info, node.info)
        if value is None:
            return
        items = node.values.setdefault(entry.name, [])
        if items and not info.repeated:
            first = items[-1]
            self.add("duplicate",
                     f"{entry.name} is set twice in {node.info.name} (line {first.name_pos.line} "
                     f"and here): training keeps only this last value, {entry.value.raw}",
                     entry.pos,
                     hint=f"delete one of the two {entry.name} lines",
                     tensorflow=_parse_error(entry.pos, f'Message type "{node.info.qualified}" '
                                             f'should not have multiple "{entry.name}" fields.'),
                     field=entry.name, first_line=first.name_pos.line)
        items.append(Value(value, entry.value.pos, entry.pos, entry.value.raw))

    def oneof(self, entry: Entry, node: Node, info: FieldInfo) -> None:
        group = info.oneof or ""
        for member in node.info.oneofs[group]:
            if member != entry.name and node.values.get(member):
                earlier = node.written[member][-1]
                self.add(
                    "oneof",
                    f"{entry.name} and {member} (line {earlier.line}) are both set in "
                    f"{node.info.name}, but only one of {', '.join(node.info.oneofs[group])} can "
                    f"be: training silently uses this one, {entry.name}, and drops {member}",
                    entry.pos,
                    hint=f"keep one of {member} and {entry.name} and delete the other",
                    tensorflow=_parse_error(
                        entry.pos, f'Field "{entry.name}" is specified along with field '
                        f'"{member}", another member of oneof "{group}" for message type '
                        f'"{node.info.qualified}".'),
                    field=entry.name, other=member, other_line=earlier.line,
                )
                del node.values[member]

    def message_value(self, entry: Entry, node: Node, info: FieldInfo,
                      path: list[MessageInfo]) -> None:
        if not isinstance(entry.value, Block):
            self.add("wrong-type",
                     f"{entry.name} is a block ({info.type}), so it needs {{ ... }}, not the value "
                     f"{entry.value.raw}",
                     entry.value.pos, hint=f"write {entry.name} {{ ... }} with its fields inside",
                     tensorflow=_parse_error(entry.value.pos, 'Expected "{".'))
            return
        child_info = schema.message(info.type)
        items = node.values.setdefault(entry.name, [])
        if items and not info.repeated:
            child = items[-1]
            assert isinstance(child, Node)
            first = node.written[entry.name][-2]
            self.add("duplicate",
                     f"{entry.name} {{ }} appears twice in {node.info.name} (line {first.line} "
                     "and here): training merges the two blocks, and where both set a field the "
                     "later one wins",
                     entry.pos, hint=f"merge the two {entry.name} blocks into one",
                     tensorflow=_parse_error(entry.pos, f'Message type "{node.info.qualified}" '
                                             f'should not have multiple "{entry.name}" fields.'),
                     field=entry.name, first_line=first.line)
        else:
            child = Node(child_info, entry.pos)
            items.append(child)
        self.block(entry.value, child, [*path, child_info])

    def scalar_value(self, entry: Entry, info: FieldInfo, owner: MessageInfo) -> Any:
        value = entry.value
        if isinstance(value, Block):
            self.add("wrong-type",
                     f"{entry.name} is a single value ({info.type_label}), not a block",
                     value.pos, hint=f"write {entry.name}: VALUE",
                     tensorflow=_parse_error(value.pos, 'Expected ":".'))
            return None
        if not entry.colon:
            self.add("syntax", f'Expected ":" between {entry.name} and its value {value.raw}',
                     value.pos, hint=f"write {entry.name}: {value.raw}",
                     tensorflow=_parse_error(value.pos, 'Expected ":".'))
        try:
            return read_scalar(value, info)
        except _BadValue as bad:
            kind = "bad-enum" if info.is_enum else "wrong-type"
            self.add(kind, f"{entry.name}: {bad.message}", value.pos, hint=bad.hint,
                     tensorflow=_parse_error(value.pos, bad.tensorflow), field=entry.name,
                     value=value.raw, expected=info.type_label)
            return None

    def unknown(self, entry: Entry, owner: MessageInfo, path: list[MessageInfo]) -> None:
        guess = owner.suggest(entry.name)
        hints = []
        if guess:
            hints.append(f"did you mean {guess}?")
        for depth in range(len(path) - 2, -1, -1):
            if entry.name in path[depth].fields:
                hints.append(
                    f"{entry.name} belongs to {path[depth].name}, not {owner.name}: a closing "
                    f"brace is probably missing before line {entry.pos.line}")
                break
        else:
            elsewhere = [m for m in schema.messages_with_field(entry.name) if m != owner.name]
            if elsewhere and not guess:
                hints.append(f"{entry.name} is a field of {', '.join(elsewhere[:3])}, "
                             f"not of {owner.name}")
        self.add("unknown-field",
                 f'{owner.name} has no field named "{entry.name}"',
                 entry.pos, hint="; ".join(hints),
                 tensorflow=_parse_error(entry.pos, f'Message type "{owner.qualified}" has no '
                                         f'field named "{entry.name}".'),
                 field=entry.name, message_type=owner.name, suggestion=guess)


class _BadValue(Exception):
    def __init__(self, message: str, hint: str, tensorflow: str) -> None:
        super().__init__(message)
        self.message, self.hint, self.tensorflow = message, hint, tensorflow


def read_scalar(value: Scalar, info: FieldInfo) -> Any:
    """The value of a scalar token as the field's type reads it; raises on a mismatch."""
    kind, text = value.kind, value.text
    if info.is_enum:
        names = schema.enum_values(info.type)
        if kind == "ident" and text in names:
            return text
        if kind == "number" and re.fullmatch(r"-?\d+", text):
            return text
        shown = ", ".join(names)
        raise _BadValue(f"{value.raw} is not a value of {info.type} (one of {shown})",
                        f"use one of {shown}" + (" (without quotes)" if kind == "string" else ""),
                        f'Enum type "object_detection.protos.{info.type}" has no value named '
                        f"{value.raw}.")
    if info.type in ("string", "bytes"):
        if kind != "string":
            raise _BadValue(f"expected a quoted string, found {value.raw}",
                            f'put it in straight quotes: "{value.raw}"',
                            f"Expected string but found: '{value.raw}'")
        return text
    if info.type == "bool":
        if text in _TRUE and kind != "string":
            return True
        if text in _FALSE and kind != "string":
            return False
        raise _BadValue(f"expected true or false, found {value.raw}", "write true or false",
                        f"Expected \"true\" or \"false\". found: '{value.raw}'")
    if info.type in ("float", "double"):
        return _read_float(value)
    return _read_integer(value, info)


def _read_float(value: Scalar) -> float:
    text = value.text
    if value.kind != "string":
        if text.lower() in _FLOAT_WORDS:
            return float(text.lower().replace("infinity", "inf"))
        try:
            return float(text[:-1] if text[-1:] in "fF" and not text.lower().endswith("inf")
                         else text)
        except ValueError:
            pass
    raise _BadValue(f"expected a number, found {value.raw}", "write a number without quotes",
                    f"Couldn't parse float: {value.raw}")


def _read_integer(value: Scalar, info: FieldInfo) -> int:
    text = value.text
    number: int | None = None
    if value.kind == "number":
        try:
            number = int(text, 8) if _OCTAL.match(text) else int(text, 0)
        except ValueError:
            number = None
    if number is None:
        hint = "write a whole number without quotes"
        if value.kind == "number":
            try:
                as_float = float(text)
                if math.isfinite(as_float):
                    hint = f"{info.type} holds whole numbers: write {round(as_float)}"
            except ValueError:
                pass
        raise _BadValue(f"expected a whole number ({info.type}), found {value.raw}", hint,
                        f"Couldn't parse integer: {value.raw}")
    low, high = schema.INTEGER_RANGES[info.type]
    if not low <= number <= high:
        raise _BadValue(f"{number} is out of range for {info.type} ({low}..{high})",
                        "use a value in range" + (" (this field cannot be negative)"
                                                  if low == 0 and number < 0 else ""),
                        f"Value out of range: {value.raw}")
    return number


def _parse_error(pos: Pos, text: str) -> str:
    return f"ParseError: {pos.line}:{pos.column} : {text}"


def validate(parsed: ParsedText, root_type: str) -> tuple[Node, list[Problem]]:
    """The typed view of a parsed text and every problem in it (syntax problems first)."""
    validator = _Validator(parsed)
    for issue in parsed.issues:
        validator.add("syntax", issue.message, issue.pos, issue.hint,
                      _parse_error(issue.pos, issue.message), found=issue.found)
    info = schema.message(root_type)
    root = Node(info, Pos(1, 1))
    validator.block(parsed.root, root, [info])
    return root, validator.problems
