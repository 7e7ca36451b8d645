"""Corrected copies of a pipeline.config and a label map: the fewest edits, with a diff.

Edits are made on the text itself, at the places the parser recorded: a value is replaced where
it stands, a missing field is added beside its siblings with their indentation (or on the same line
when the block is written on one line), a dropped block goes with its lines. Comments, order and
layout of everything else stay byte for byte as they were.

    >>> result = rewrite_pipeline(text, ConfigEdits(num_classes=3, label_map_path="lm.pbtxt"))
    >>> print(result.diff)
    >>> fixed, table = rewrite_label_map(None, LabelMapEdits(["cat", "dog"]))
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tfod_doctor.config.label_map import parse_label_map
from tfod_doctor.config.schema import LABEL_MAP, FieldInfo, enum_values, message
from tfod_doctor.config.textproto import Block, Entry, ParsedText, Pos, Scalar, parse_text
from tfod_doctor.config.validate import read_scalar, validate
from tfod_doctor.errors import UserError

_READERS = ("train_input_reader", "eval_input_reader")
_REFUSED = ("syntax", "unknown-field", "bad-enum", "wrong-type")
_FIXED_RECORDS = "the fixed records"


@dataclass(frozen=True)
class ConfigEdits:
    """What to change in a pipeline.config (``None`` / empty: leave it)."""

    #: ``num_classes`` of every meta-architecture block that has one.
    num_classes: int | None = None
    #: ``label_map_path`` of every input reader (train and eval), added where missing.
    label_map_path: str | None = None
    #: ``max_number_of_boxes`` of every input reader, added where missing.
    max_number_of_boxes: int | None = None
    #: ``train_config.fine_tune_checkpoint_version: V2`` when a ``fine_tune_checkpoint`` is set.
    checkpoint_version_v2: bool = False
    #: ``"train"`` / ``"eval"`` -> the new ``input_path`` values of that reader (they replace
    #: every ``input_path`` of the train reader, or of the first eval reader: the one TF2 reads).
    input_paths: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: Dotted paths of fields to remove with their whole block
    #: (``train_input_reader.input_features``).
    drop_fields: Sequence[str] = ()


@dataclass(frozen=True)
class ConfigChange:
    """One edit: the field, the line it is on in the input, the old and new value, and why."""

    path: str
    line: int
    old: str | None
    new: str | None
    reason: str


@dataclass(frozen=True)
class Rewrite:
    """A corrected file: its text, the unified diff from the original, and the edits."""

    text: str
    diff: str
    changes: list[ConfigChange]


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str
    change: ConfigChange | None = None


@dataclass(frozen=True)
class _New:
    """A field to write: ``name: value``, or ``name { children }`` when ``value`` is None."""

    name: str
    value: str | None = None
    children: tuple[_New, ...] = ()

    def lines(self, indent: str, unit: str) -> list[str]:
        """The field on lines of its own, starting at ``indent``."""
        if self.value is not None:
            return [f"{indent}{self.name}: {self.value}"]
        inner = [line for child in self.children for line in child.lines(indent + unit, unit)]
        return [f"{indent}{self.name} {{", *inner, f"{indent}}}"]

    def inline(self) -> str:
        """The field on one line."""
        if self.value is not None:
            return f"{self.name}: {self.value}"
        return f"{self.name} {{ " + " ".join(child.inline() for child in self.children) + " }"


class _Editor:
    """Collects text edits at parser positions and applies them all at once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.unit = _indent_unit(text)
        self.starts = [0]
        for line in text.split("\n"):
            self.starts.append(self.starts[-1] + len(line) + 1)
        self.edits: list[_Edit] = []
        #: Entries deleted (by identity): nothing is edited inside them or placed after them.
        self.dropped: set[int] = set()

    # -- places ---------------------------------------------------------------------------

    def offset(self, pos: Pos) -> int:
        return self.starts[pos.line - 1] + pos.column - 1

    def line_start(self, offset: int) -> int:
        return self.text.rfind("\n", 0, offset) + 1

    def line_end(self, offset: int) -> int:
        """Where the line holding ``offset`` ends (before its ``\\r\\n`` or ``\\n``)."""
        end = self.text.find("\n", offset)
        end = len(self.text) if end < 0 else end
        return end - 1 if end > offset and self.text[end - 1] == "\r" else end

    def indent_at(self, offset: int) -> str:
        line = self.text[self.line_start(offset):self.line_end(offset)]
        return line[: len(line) - len(line.lstrip(" \t"))]

    def starts_line(self, offset: int) -> bool:
        return not self.text[self.line_start(offset):offset].strip()

    def rest_is_blank(self, offset: int) -> bool:
        """Whether only spaces or a comment follow ``offset`` on its line."""
        return not self.text[offset:self.line_end(offset)].split("#", 1)[0].strip()

    # -- the tree, without what is dropped -----------------------------------------------------

    def entries(self, block: Block, name: str) -> list[Entry]:
        return [e for e in block.entries if e.name == name and id(e) not in self.dropped]

    def blocks(self, block: Block, name: str) -> Iterator[tuple[Entry, Block]]:
        for entry in self.entries(block, name):
            if isinstance(entry.value, Block):
                yield entry, entry.value

    # -- edits ----------------------------------------------------------------------------------

    def replace(self, start: int, end: int, text: str, change: ConfigChange) -> None:
        self.edits.append(_Edit(start, end, text, change))

    def replace_value(self, scalar: Scalar, text: str, change: ConfigChange) -> None:
        assert scalar.end is not None
        self.replace(self.offset(scalar.pos), self.offset(scalar.end), text, change)

    def sibling_indent(self, block: Block) -> str:
        """The indentation of the block's fields, as written (or one step in)."""
        for entry in block.entries:
            start = self.offset(entry.pos)
            if self.starts_line(start):
                return self.indent_at(start)
        assert block.end is not None
        close = self.offset(block.end)
        base = close if self.starts_line(close) else self.offset(block.pos)
        return self.indent_at(base) + self.unit

    def insert(self, block: Block, fields: Sequence[_New], change: ConfigChange, *,
               after: Entry | None = None, first: bool = False) -> None:
        """Add ``fields`` to ``block``: after ``after``, first, or after its last field."""
        kept = [e for e in block.entries if id(e) not in self.dropped]
        anchor_entry = after if after is not None else None if first or not kept else kept[-1]
        anchor = (self.offset(anchor_entry.end) if anchor_entry is not None and anchor_entry.end
                  else self.offset(block.pos) + 1)
        assert block.end is not None
        if self.rest_is_blank(anchor) and self.line_end(anchor) < self.offset(block.end):
            indent = self.sibling_indent(block)
            text = "".join(self.newline + line for new in fields
                           for line in new.lines(indent, self.unit))
            self.edits.append(_Edit(self.line_end(anchor), self.line_end(anchor), text, change))
        else:  # written on one line: `tf_record_input_reader { input_path: "a" }`
            text = "".join(" " + new.inline() for new in fields)
            self.edits.append(_Edit(anchor, anchor, text, change))

    def delete(self, entry: Entry, change: ConfigChange | None) -> None:
        """Remove a field (a block with everything in it), with its lines when it has them."""
        assert entry.end is not None
        start, end = self.offset(entry.pos), self.offset(entry.end)
        separator = re.match(r"[ \t]*[;,]", self.text[end:])
        if separator:
            end += separator.end()
        line_start = self.line_start(start)
        if self.starts_line(start) and self.rest_is_blank(end):
            next_line = self.text.find("\n", end)
            start, end = line_start, len(self.text) if next_line < 0 else next_line + 1
        else:
            while start > line_start and self.text[start - 1] in " \t":
                start -= 1
        self.dropped.add(id(entry))
        self.edits.append(_Edit(start, end, "", change))

    def result(self, source: str, target: str | None = None) -> Rewrite:
        text = self.text
        ordered = sorted(enumerate(self.edits), key=lambda pair: (pair[1].start, pair[1].end,
                                                                  pair[0]), reverse=True)
        last_start = len(text) + 1
        for _, edit in ordered:
            assert edit.end <= last_start, "overlapping edits"
            text = text[: edit.start] + edit.text + text[edit.end:]
            last_start = edit.start
        changes = sorted((e.change for e in self.edits if e.change is not None),
                         key=lambda change: change.line)
        return Rewrite(text, unified_diff(self.text, text, source, target), changes)


def unified_diff(old: str, new: str, source: str, target: str | None = None) -> str:
    """``diff -u`` of two texts, named ``source`` and ``target`` (``SOURCE (fixed)``)."""
    if old == new:
        return ""
    lines = difflib.unified_diff(_diff_lines(old), _diff_lines(new), fromfile=source,
                                 tofile=target or f"{source} (fixed)")
    return "".join(lines)


def _diff_lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def _indent_unit(text: str) -> str:
    """One level of indentation as the file writes it (two spaces when it shows none)."""
    widths = []
    for line in text.split("\n"):
        if line.startswith("\t") and line.strip():
            return "\t"
        if line.startswith(" ") and line.strip():
            widths.append(len(line) - len(line.lstrip(" ")))
    return " " * min(widths) if widths else "  "


def _quote(text: str, quote: str = '"') -> str:
    """``text`` as a text-format string literal."""
    escaped = (text.replace("\\", "\\\\").replace(quote, "\\" + quote).replace("\n", "\\n")
               .replace("\r", "\\r").replace("\t", "\\t"))
    return quote + escaped + quote


def _parse(text: str, source: str, what: str) -> ParsedText:
    parsed = parse_text(text)
    if parsed.issues:
        issue = parsed.issues[0]
        raise UserError(f"{source}:{issue.pos.line}:{issue.pos.column}: {issue.message} "
                        f"({what} does not parse: fix it first; tfod-doctor check names every "
                        "error)")
    return parsed


def _same(scalar: Scalar, info: FieldInfo, value: Any) -> bool:
    """Whether ``scalar`` reads as ``value`` for the field's type."""
    try:
        current = read_scalar(scalar, info)
    except Exception:
        return False
    if info.is_enum and isinstance(current, str) and current.lstrip("-").isdigit():
        names = enum_values(info.type)
        current = names[int(current)] if 0 <= int(current) < len(names) else current
    return current == value


def _written(value: Any, info: FieldInfo, current: Scalar | None) -> str:
    """``value`` as text format writes it for the field (strings in the quotes in use)."""
    if info.type in ("string", "bytes"):
        quote = current.raw[0] if current is not None and current.kind == "string" else '"'
        return _quote(str(value), quote)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- pipeline.config ----------------------------------------------------------------------------


class _Config:
    """The edits of one pipeline.config."""

    def __init__(self, text: str, parsed: ParsedText) -> None:
        self.editor = _Editor(text)
        self.root = parsed.root

    def set_field(self, blocks: Sequence[Block], owner: str, name: str, value: Any, path: str,
                  reason: str, *, after: Entry | None = None, first: bool = False) -> None:
        """Set ``name`` (a scalar of message ``owner``) to ``value``: its last occurrence in
        ``blocks`` is replaced, or it is added to the last block."""
        editor = self.editor
        info = message(owner).fields[name]
        found = [entry for block in blocks for entry in editor.entries(block, name)]
        if found:
            last = found[-1]
            if isinstance(last.value, Scalar):
                if _same(last.value, info, value):
                    return
                written = _written(value, info, last.value)
                editor.replace_value(last.value, written, ConfigChange(
                    path, last.value.pos.line, last.value.raw, written, reason))
                return
            written = _written(value, info, None)
            assert last.end is not None
            editor.replace(editor.offset(last.pos), editor.offset(last.end),
                           f"{name}: {written}",
                           ConfigChange(path, last.pos.line, "{ ... }", written, reason))
            return
        written = _written(value, info, None)
        block = blocks[-1]
        line = after.pos.line if after is not None else (
            block.pos.line if first or block.end is None else block.end.line)
        editor.insert(block, [_New(name, written)], ConfigChange(path, line, None, written, reason),
                      after=after, first=first)

    def drop(self, dotted: str) -> None:
        *parents, last = dotted.split(".")
        blocks = [self.root]
        for name in parents:
            blocks = [block for parent in blocks for _, block in self.editor.blocks(parent, name)]
        for block in blocks:
            for entry in self.editor.entries(block, last):
                old = entry.value.raw if isinstance(entry.value, Scalar) else "{ ... }"
                self.editor.delete(entry, ConfigChange(
                    dotted, entry.pos.line, old, None,
                    "the OD API has no such field: training stops at the parse"))

    def num_classes(self, value: int) -> None:
        models = message("DetectionModel").fields
        for _, model in self.editor.blocks(self.root, "model"):
            for entry in model.entries:
                kind = models.get(entry.name)
                if (id(entry) in self.editor.dropped or kind is None or not kind.is_message
                        or "num_classes" not in message(kind.type).fields
                        or not isinstance(entry.value, Block)):
                    continue
                self.set_field([entry.value], kind.type, "num_classes", value,
                               f"model.{entry.name}.num_classes",
                               "the label map and the records have this many classes",
                               first=True)

    def readers(self) -> list[tuple[str, Block]]:
        return [(name, block) for name in _READERS
                for _, block in self.editor.blocks(self.root, name)]

    def reader_fields(self, edits: ConfigEdits) -> None:
        for name, block in self.readers():
            if edits.label_map_path is not None:
                self.set_field([block], "InputReader", "label_map_path", edits.label_map_path,
                               f"{name}.label_map_path", "the label map that fits the records")
            if edits.max_number_of_boxes is not None:
                self.set_field([block], "InputReader", "max_number_of_boxes",
                               edits.max_number_of_boxes, f"{name}.max_number_of_boxes",
                               "an image holds this many boxes: a smaller limit drops the rest "
                               "without a word")

    def input_paths(self, role: str, paths: Sequence[str]) -> None:
        name = f"{role}_input_reader"
        readers = [block for reader, block in self.readers() if reader == name]
        if role == "eval":
            readers = readers[:1]  # TF2 evaluates the first eval_input_reader only
        if not readers:
            return
        holders = [records for reader in readers
                   for _, records in self.editor.blocks(reader, "tf_record_input_reader")]
        path = f"{name}.tf_record_input_reader.input_path"
        old = [(records, entry) for records in holders
               for entry in self.editor.entries(records, "input_path")]
        if all(isinstance(e.value, Scalar) for _, e in old) and [
                e.value.text for _, e in old if isinstance(e.value, Scalar)] == list(paths):
            return
        if not holders:
            children = tuple(_New("input_path", _quote(p)) for p in paths)
            self.editor.insert(readers[-1], [_New("tf_record_input_reader", None, children)],
                               ConfigChange(path, readers[-1].pos.line, None,
                                            ", ".join(map(_quote, paths)), _FIXED_RECORDS))
            return
        if old and old[0][1].listed:
            self._replace_list(old, paths, path)
        else:
            self._replace_each(holders[-1], old, paths, path)

    def _replace_list(self, old: list[tuple[Block, Entry]], paths: Sequence[str],
                      path: str) -> None:
        """``input_path: ["a", "b"]``: the list keeps its form, with the new values."""
        editor = self.editor
        first = old[0][1]
        items = [entry for _, entry in old if entry.listed and entry.pos == first.pos]
        assert isinstance(first.value, Scalar) and first.end is not None
        quote = first.value.raw[0] if first.value.kind == "string" else '"'
        start, end = editor.offset(first.value.pos), editor.offset(first.end) - 1
        while editor.text[end - 1] in " \t\r\n":
            end -= 1
        written = ", ".join(_quote(p, quote) for p in paths)
        editor.replace(start, end, written, ConfigChange(
            path, first.pos.line, editor.text[start:end], written, _FIXED_RECORDS))
        for _, entry in old:
            if not any(entry is item for item in items) and id(entry) not in editor.dropped:
                self._delete_path(entry, path)

    def _replace_each(self, holder: Block, old: list[tuple[Block, Entry]], paths: Sequence[str],
                      path: str) -> None:
        """One ``input_path`` line per value: replaced in place, extra ones deleted, missing
        ones added after the last."""
        editor = self.editor
        singles = [(block, entry) for block, entry in old
                   if not entry.listed and isinstance(entry.value, Scalar)]
        for _, entry in old:
            if (entry.listed or not isinstance(entry.value, Scalar)) and \
                    id(entry) not in editor.dropped:
                self._delete_path(entry, path)
        for index, (_, entry) in enumerate(singles):
            assert isinstance(entry.value, Scalar)
            if index >= len(paths):
                self._delete_path(entry, path)
            elif entry.value.text != paths[index]:
                quote = entry.value.raw[0] if entry.value.kind == "string" else '"'
                written = _quote(paths[index], quote)
                editor.replace_value(entry.value, written, ConfigChange(
                    path, entry.value.pos.line, entry.value.raw, written, _FIXED_RECORDS))
        extra = paths[len(singles):]
        if not extra:
            return
        block, after = singles[-1] if singles else (holder, None)
        line = after.pos.line if after is not None else block.pos.line
        written = [_written(p, message("TFRecordInputReader").fields["input_path"],
                            after.value if after is not None and isinstance(after.value, Scalar)
                            else None) for p in extra]
        editor.insert(block, [_New("input_path", w) for w in written], ConfigChange(
            path, line, None, ", ".join(written), _FIXED_RECORDS), after=after)

    def _delete_path(self, entry: Entry, path: str) -> None:
        old = entry.value.raw if isinstance(entry.value, Scalar) else "{ ... }"
        self.editor.delete(entry, ConfigChange(path, entry.pos.line, old, None,
                                               "replaced by the fixed records"))

    def checkpoint_version(self) -> None:
        blocks = [block for _, block in self.editor.blocks(self.root, "train_config")]
        checkpoints = [entry for block in blocks
                       for entry in self.editor.entries(block, "fine_tune_checkpoint")]
        if not checkpoints or not isinstance(checkpoints[-1].value, Scalar) or \
                not checkpoints[-1].value.text:
            return
        owner = next(block for block in blocks
                     if any(entry is checkpoints[-1] for entry in block.entries))
        versions = [block for block in blocks
                    if self.editor.entries(block, "fine_tune_checkpoint_version")]
        self.set_field(versions or [owner], "TrainConfig", "fine_tune_checkpoint_version", "V2",
                       "train_config.fine_tune_checkpoint_version",
                       "TF2 training restores V2 (object-based) checkpoints only",
                       after=None if versions else checkpoints[-1])


def rewrite_pipeline(text: str, edits: ConfigEdits, *,
                     source: str = "pipeline.config") -> Rewrite:
    """The config with ``edits`` made; :class:`UserError` when its syntax is broken."""
    config = _Config(text, _parse(text, source, "the config"))
    for dotted in edits.drop_fields:
        config.drop(dotted)
    if edits.num_classes is not None:
        config.num_classes(edits.num_classes)
    config.reader_fields(edits)
    for role in ("train", "eval"):
        if role in edits.input_paths:
            config.input_paths(role, edits.input_paths[role])
    if edits.checkpoint_version_v2:
        config.checkpoint_version()
    return config.editor.result(source)


def invented_reader_fields(text: str) -> list[str]:
    """Dotted paths of input-reader fields the OD API does not have (``input_features``...)."""
    known = message("InputReader").fields
    root = parse_text(text).root
    return sorted({f"{entry.name}.{field.name}" for entry in root.entries
                   if entry.name in _READERS and isinstance(entry.value, Block)
                   for field in entry.value.entries if field.name not in known})


# -- label maps -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelMapEdits:
    """Classes to add to a label map, in order; names it already has are skipped.

    Each new class gets the next free id (the largest id + 1, ...), or its id in ``ids`` when that
    one is free.
    """

    add_names: Sequence[str] = ()
    ids: Mapping[str, int] = field(default_factory=dict)


_ITEM_FIELDS = {"id", "name", "display_name"}


def _new_ids(names: Sequence[str], taken: set[int], given: Mapping[str, int]) -> dict[str, int]:
    """An id for each name: its given one when free, else the next free one above the others."""
    reserved = {name: i for name, i in given.items() if name in names and i >= 1
                and i not in taken}
    used = taken | set(reserved.values())
    counter = max(taken, default=0) + 1
    result = {}
    for name in names:
        if name in reserved:
            result[name] = reserved[name]
            continue
        while counter in used:
            counter += 1
        result[name] = counter
        used.add(counter)
    return result


class _ItemStyle:
    """How a label map writes its items: the last item is the model, when it is a plain one."""

    def __init__(self, editor: _Editor, items: list[Entry]) -> None:
        self.editor = editor
        self.template: Entry | None = None
        self.quote = '"'
        self.display = False
        for item in items:
            assert isinstance(item.value, Block)
            for entry in item.value.entries:
                if entry.name == "name" and isinstance(entry.value, Scalar):
                    self.quote = entry.value.raw[0] if entry.value.kind == "string" else '"'
                self.display = self.display or entry.name == "display_name"
        if items and self._plain(items[-1]):
            self.template = items[-1]

    def _plain(self, item: Entry) -> bool:
        assert isinstance(item.value, Block) and item.end is not None
        names = [entry.name for entry in item.value.entries]
        span = self.editor.text[self.editor.offset(item.pos):self.editor.offset(item.end)]
        return ({"id", "name"} <= set(names) and set(names) <= _ITEM_FIELDS
                and len(names) == len(set(names)) and "#" not in span
                and all(isinstance(e.value, Scalar) for e in item.value.entries))

    def render(self, item_id: int, name: str) -> str:
        """One item in the file's style."""
        if self.template is None:
            unit, nl = self.editor.unit, self.editor.newline
            lines = ["item {", f"{unit}id: {item_id}", f"{unit}name: {_quote(name, self.quote)}"]
            if self.display:
                lines.append(f"{unit}display_name: {_quote(name, self.quote)}")
            return nl.join([*lines, "}"])
        editor, item = self.editor, self.template
        assert isinstance(item.value, Block) and item.end is not None
        base = editor.offset(item.pos)
        text = editor.text[base:editor.offset(item.end)]
        for entry in sorted(item.value.entries, key=lambda e: (e.pos.line, e.pos.column),
                            reverse=True):
            value = entry.value
            assert isinstance(value, Scalar) and value.end is not None
            quote = value.raw[0] if value.kind == "string" else self.quote
            new = str(item_id) if entry.name == "id" else _quote(name, quote)
            text = (text[: editor.offset(value.pos) - base] + new
                    + text[editor.offset(value.end) - base:])
        return text


def _separator(editor: _Editor, items: list[Entry]) -> str:
    """What stands between two items (what the file has between its last two)."""
    last = editor.offset(items[-1].pos)
    if len(items) > 1:
        end = items[-2].end
        assert end is not None
        between = editor.text[editor.offset(end):last]
        if not between.strip():
            return between
    if editor.starts_line(last):
        return editor.newline + editor.indent_at(last)
    return " "


def rewrite_label_map(text: str | None, edits: LabelMapEdits, *,
                      source: str = "label_map.pbtxt") -> tuple[Rewrite, dict[str, int]]:
    """The label map with the new classes added (``text=None``: a new label map).

    Returns the corrected file and its name -> id table (the OD API's: the last id of a name wins).
    :class:`UserError` when the label map does not parse.
    """
    original = text if text is not None else ""
    parsed = _parse(original, source, "the label map")
    _, problems = validate(parsed, LABEL_MAP)
    refused = [p for p in problems if p.kind in _REFUSED]
    if refused:
        first = refused[0]
        raise UserError(f"{source}:{first.pos.line}:{first.pos.column}: {first.message} (the "
                        "label map does not load: fix it first; tfod-doctor check names every "
                        "error)")
    label_map, _ = parse_label_map(original, source)
    table = dict(label_map.table().names)
    names = list(dict.fromkeys(n for n in edits.add_names if n not in table))
    new_ids = _new_ids(names, {item.id for item in label_map.items}, edits.ids)
    table.update(new_ids)
    editor = _Editor(original)
    items = [e for e in parsed.root.entries if e.name == "item" and isinstance(e.value, Block)]
    style = _ItemStyle(editor, items)
    if items:
        assert items[-1].end is not None
        at, line = editor.offset(items[-1].end), items[-1].end.line
        separator = _separator(editor, items)
        before = ""
    else:
        at, line = len(original), original.count("\n") + 1
        separator = editor.newline
        before = editor.newline if original and not original.endswith("\n") else ""
    for name, item_id in new_ids.items():
        rendered = style.render(item_id, name)
        added = separator + rendered if items else before + rendered + editor.newline
        before = ""
        editor.edits.append(_Edit(at, at, added, ConfigChange(
            "item", line, None, f"id: {item_id} name: {_quote(name)}",
            "a class the records name and the label map lacks")))
    return editor.result(source if text is not None else os.devnull, f"{source} (fixed)"), table
