"""Corrected copies of a pipeline.config and a label map: the fewest edits, with a diff.

Edits are made on the text itself, at the places the parser recorded: a value is replaced where
it stands, a missing field is added beside its siblings with their indentation, a dropped block
goes with its lines. Comments, order and layout stay as they were.

    >>> result = rewrite_pipeline(text, ConfigEdits(num_classes=3, label_map_path="lm.pbtxt"))
    >>> print(result.diff)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from tfod_doctor.config.label_map import parse_label_map
from tfod_doctor.config.pipeline import ARCHITECTURES
from tfod_doctor.config.schema import message
from tfod_doctor.config.textproto import Block, Entry, Pos, Scalar, parse_text
from tfod_doctor.errors import UserError

_READERS = ("train_input_reader", "eval_input_reader")


@dataclass(frozen=True)
class ConfigEdits:
    """What to change in a pipeline.config (``None`` / empty: leave it)."""

    num_classes: int | None = None
    label_map_path: str | None = None
    max_number_of_boxes: int | None = None
    checkpoint_version_v2: bool = False
    #: ``"train"`` / ``"eval"`` -> the new ``input_path`` values of that reader.
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


class _Editor:
    """Collects text edits at parser positions and applies them all at once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))
        self.edits: list[_Edit] = []
        self.changes: list[ConfigChange] = []

    def offset(self, pos: Pos) -> int:
        return self.starts[pos.line - 1] + pos.column - 1

    def indent_of(self, pos: Pos) -> str:
        line = self.lines[pos.line - 1]
        return line[: len(line) - len(line.lstrip(" \t"))]

    def replace_value(self, scalar: Scalar, new: str) -> None:
        start = self.offset(scalar.pos)
        self.edits.append(_Edit(start, start + len(scalar.raw), new))

    def insert_field(self, block: Block, owner: Entry | None, line: str) -> None:
        """Add ``line`` (``name: value``) as the last field of ``block``."""
        if block.end is None:
            raise UserError("the config ends inside a block: fix its braces before fixing it")
        close = self.offset(block.end)
        if block.entries and block.entries[-1].pos.line != block.end.line:
            indent = self.indent_of(block.entries[-1].pos)
        elif block.end.line != block.pos.line or owner is None:
            indent = self.indent_of(block.end) + "  "
        else:  # a block on one line: `reader { input_path: "a" }`
            self.edits.append(_Edit(close, close, f"{line} "))
            return
        end_of_line = self.starts[block.end.line - 1]
        if self.text[end_of_line:close].strip():
            self.edits.append(_Edit(close, close, f"\n{indent}{line}\n{self.indent_of(block.end)}"))
        else:
            self.edits.append(_Edit(end_of_line, end_of_line, f"{indent}{line}\n"))

    def delete_entry(self, entry: Entry) -> None:
        """Remove a field (a block with everything in it), with its lines when it has them."""
        start = self.offset(entry.pos)
        value = entry.value
        if isinstance(value, Block):
            end = self.offset(value.end) + 1 if value.end is not None else len(self.text)
        else:
            end = self.offset(value.pos) + len(value.raw)
        line_start = self.starts[entry.pos.line - 1]
        line_end = self.text.find("\n", end)
        line_end = len(self.text) if line_end < 0 else line_end + 1
        before, after = self.text[line_start:start], self.text[end:line_end]
        if not before.strip() and not after.split("#", 1)[0].strip():
            start, end = line_start, line_end
        self.edits.append(_Edit(start, end, ""))

    def result(self, source: str) -> Rewrite:
        text = self.text
        ordered = sorted(enumerate(self.edits), key=lambda pair: (pair[1].start, pair[1].end,
                                                                  pair[0]), reverse=True)
        for _, edit in ordered:
            text = text[: edit.start] + edit.text + text[edit.end:]
        diff = "".join(difflib.unified_diff(
            self.text.splitlines(keepends=True), text.splitlines(keepends=True),
            fromfile=source, tofile=f"{source} (fixed)"))
        return Rewrite(text, diff, list(self.changes))


def _entries(block: Block, name: str) -> list[Entry]:
    return [entry for entry in block.entries if entry.name == name]


def _blocks(block: Block, name: str) -> Iterator[tuple[Entry, Block]]:
    for entry in _entries(block, name):
        if isinstance(entry.value, Block):
            yield entry, entry.value


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _set_scalar(editor: _Editor, block: Block, owner: Entry | None, name: str, new: str,
                path: str, reason: str) -> None:
    """Set field ``name`` of ``block`` to ``new`` (as written), adding it when missing."""
    found = [e for e in _entries(block, name) if isinstance(e.value, Scalar)]
    if found:
        last = found[-1]
        assert isinstance(last.value, Scalar)
        if last.value.raw == new or _quote(last.value.text) == new:
            return
        editor.replace_value(last.value, new)
        editor.changes.append(ConfigChange(path, last.pos.line, last.value.raw, new, reason))
        return
    editor.insert_field(block, owner, f"{name}: {new}")
    line = block.end.line if block.end is not None else 0
    editor.changes.append(ConfigChange(path, line, None, new, reason))


def _readers(root: Block) -> Iterator[tuple[str, Entry, Block]]:
    for name in _READERS:
        for entry, block in _blocks(root, name):
            yield name, entry, block


def _edit_model(editor: _Editor, root: Block, edits: ConfigEdits) -> None:
    if edits.num_classes is None:
        return
    for _, model in _blocks(root, "model"):
        for arch in ARCHITECTURES:
            for entry, block in _blocks(model, arch):
                _set_scalar(editor, block, entry, "num_classes", str(edits.num_classes),
                            f"model.{arch}.num_classes",
                            "the label map and the records use this many classes")


def _edit_readers(editor: _Editor, root: Block, edits: ConfigEdits) -> None:
    for name, entry, block in _readers(root):
        if edits.label_map_path is not None:
            _set_scalar(editor, block, entry, "label_map_path", _quote(edits.label_map_path),
                        f"{name}.label_map_path", "the corrected label map")
        if edits.max_number_of_boxes is not None:
            _set_scalar(editor, block, entry, "max_number_of_boxes",
                        str(edits.max_number_of_boxes), f"{name}.max_number_of_boxes",
                        "a record holds this many boxes: fewer would drop some")
        paths = edits.input_paths.get(name.split("_", 1)[0])
        if paths is not None:
            _edit_input_paths(editor, name, entry, block, paths)


def _edit_input_paths(editor: _Editor, name: str, entry: Entry, block: Block,
                      paths: Sequence[str]) -> None:
    for records_entry, records in _blocks(block, "tf_record_input_reader"):
        old = [e for e in _entries(records, "input_path") if isinstance(e.value, Scalar)]
        if [e.value.text for e in old if isinstance(e.value, Scalar)] == list(paths):
            continue
        path = f"{name}.tf_record_input_reader.input_path"
        for item in old:
            editor.delete_entry(item)
            assert isinstance(item.value, Scalar)
            editor.changes.append(ConfigChange(path, item.pos.line, item.value.raw, None,
                                               "replaced by the fixed records"))
        for new in paths:
            editor.insert_field(records, records_entry, f"input_path: {_quote(new)}")
            editor.changes.append(ConfigChange(path, records_entry.pos.line, None, _quote(new),
                                               "the fixed records"))
        return


def _edit_checkpoint(editor: _Editor, root: Block, edits: ConfigEdits) -> None:
    if not edits.checkpoint_version_v2:
        return
    for entry, block in _blocks(root, "train_config"):
        if _entries(block, "fine_tune_checkpoint"):
            _set_scalar(editor, block, entry, "fine_tune_checkpoint_version", "V2",
                        "train_config.fine_tune_checkpoint_version",
                        "TF2 training restores V2 (object-based) checkpoints only")


def _drop(editor: _Editor, root: Block, dotted: str) -> None:
    *parents, last = dotted.split(".")
    blocks = [root]
    for name in parents:
        blocks = [block for parent in blocks for _, block in _blocks(parent, name)]
    for block in blocks:
        for entry in _entries(block, last):
            editor.delete_entry(entry)
            editor.changes.append(ConfigChange(dotted, entry.pos.line, entry.name, None,
                                               "the OD API has no such field"))


def invented_reader_fields(text: str) -> list[str]:
    """Dotted paths of input-reader fields the OD API does not have (``input_features``...)."""
    known = message("InputReader").fields
    return sorted({f"{name}.{entry.name}" for name, _, block in _readers(parse_text(text).root)
                   for entry in block.entries if entry.name not in known})


def rewrite_pipeline(text: str, edits: ConfigEdits, *,
                     source: str = "pipeline.config") -> Rewrite:
    """The config with ``edits`` made; :class:`UserError` when its syntax is broken."""
    parsed = parse_text(text)
    if parsed.issues:
        issue = parsed.issues[0]
        raise UserError(f"{source}:{issue.pos.line}:{issue.pos.column}: {issue.message} "
                        "(fix the syntax first: tfod-doctor check names every error)")
    editor = _Editor(text)
    for dotted in edits.drop_fields:
        _drop(editor, parsed.root, dotted)
    _edit_model(editor, parsed.root, edits)
    _edit_readers(editor, parsed.root, edits)
    _edit_checkpoint(editor, parsed.root, edits)
    return editor.result(source)


# -- label maps -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelMapEdits:
    """Classes to add to a label map: each gets its id from ``ids`` or the next free one.

    Names the label map already has are skipped.
    """

    add_names: Sequence[str] = ()
    ids: Mapping[str, int] = field(default_factory=dict)


def _item_text(item_id: int, name: str, quote: str) -> str:
    escaped = name.replace("\\", "\\\\").replace(quote, "\\" + quote)
    return f"item {{\n  id: {item_id}\n  name: {quote}{escaped}{quote}\n}}\n"


def rewrite_label_map(text: str | None, edits: LabelMapEdits, *,
                      source: str = "label_map.pbtxt") -> tuple[Rewrite, dict[str, int]]:
    """The label map with the new classes added (``text=None``: a new label map).

    Returns the corrected file and its name -> id table.
    """
    original = text or ""
    label_map, _ = parse_label_map(original, source)
    if original and not label_map.loadable:
        raise UserError(f"{source} does not parse: fix it first (tfod-doctor check names the "
                        "error)")
    table = dict(label_map.table().names)
    next_id = max([0, *(item.id for item in label_map.items if item.id is not None)]) + 1
    quote = "'" if "name: '" in original else '"'
    added, changes = [], []
    for name in edits.add_names:
        if name in table:
            continue
        item_id = edits.ids.get(name) or next_id
        table[name] = item_id
        added.append(_item_text(item_id, name, quote))
        changes.append(ConfigChange("item", original.count("\n") + 1, None,
                                    f"id {item_id} {name!r}", "a class the records use"))
        next_id = max(next_id, item_id + 1)
    joiner = "" if not original or original.endswith("\n") else "\n"
    new_text = original + joiner + "".join(added) if added else original
    diff = "".join(difflib.unified_diff(
        original.splitlines(keepends=True), new_text.splitlines(keepends=True),
        fromfile=source if text is not None else "/dev/null", tofile=f"{source} (fixed)"))
    return Rewrite(new_text, diff, changes), table
