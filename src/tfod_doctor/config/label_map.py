"""label_map.pbtxt: read it with line and column, check it as ``label_map_util`` would (and more).

    >>> label_map, findings = read_label_map("label_map.pbtxt")
    >>> label_map.table()      # what the decoder looks class/text up in

TensorFlow hides every syntax error of a label map behind ``TypeError: a bytes-like object is
required``; here each one is named with its line and column.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from tfod_doctor.catalogue import labelmap as M
from tfod_doctor.checks.context import LabelTable
from tfod_doctor.config.places import TextFile
from tfod_doctor.config.schema import LABEL_MAP
from tfod_doctor.config.textproto import Pos, parse_text
from tfod_doctor.config.validate import Node, Problem, validate
from tfod_doctor.errors import UserError
from tfod_doctor.findings import Finding, Severity
from tfod_doctor.odapi.official_maps import official_map
from tfod_doctor.records.inputs import read_input_text

#: What TensorFlow shows instead of the real syntax error (``load_labelmap``'s fallback).
HIDDEN_ERROR = "TypeError: a bytes-like object is required, not 'str'"
_PARSE_KINDS = {"syntax", "unknown-field", "bad-enum", "wrong-type"}


@dataclass(frozen=True)
class Keypoint:
    """One ``keypoints { id label }`` of an item."""

    id: int
    label: str
    pos: Pos


@dataclass(frozen=True)
class LabelItem:
    """One ``item { }`` with the places of its fields."""

    name: str
    id: int
    display_name: str | None
    pos: Pos
    id_pos: Pos | None
    name_pos: Pos
    keypoints: tuple[Keypoint, ...] = ()
    display_pos: Pos | None = None

    @property
    def is_background(self) -> bool:
        """Whether the item is the background class (id 0 is allowed for it)."""
        return "background" in (self.name, self.display_name)


@dataclass
class LabelMap:
    """A parsed label map: its items in order, and whether the text parsed cleanly."""

    path: str
    items: list[LabelItem] = field(default_factory=list)
    #: False when TensorFlow could not load it at all (syntax error).
    loadable: bool = True
    text: TextFile | None = None

    @property
    def official(self) -> str | None:
        """Which of the OD API's official label maps this is (COCO, pets...), or ``None``."""
        return official_map(self.table().ids, {item.id: item.name for item in self.items})

    def table(self) -> LabelTable:
        """The lookup tables the OD API decoder builds: the last id wins for a repeated name."""
        names: dict[str, int] = {}
        display_names: dict[str, int] = {}
        ids: dict[int, str] = {}
        for item in self.items:
            names[item.name] = item.id
            if item.display_name is not None:
                display_names[item.display_name] = item.id
            ids.setdefault(item.id, item.display_name or item.name)
        return LabelTable(names=names, display_names=display_names, ids=ids, path=self.path)

    @property
    def max_id(self) -> int:
        """The largest id (0 for an empty map)."""
        return max((item.id for item in self.items), default=0)

    def place_of(self, item: LabelItem) -> Pos:
        """Where an item's id is written (or the item, when it has none)."""
        return item.id_pos or item.pos

    def above(self, num_classes: int) -> list[Finding]:
        """M009: items whose id is larger than the model's num_classes."""
        if self.text is None:
            return []
        return [
            self.text.finding(
                M.ID_ABOVE_NUM_CLASSES,
                f"item {item.name!r} has id {item.id}, above num_classes {num_classes}: its "
                "boxes become background in training and evaluation lists a class the model "
                "cannot predict",
                self.place_of(item), id=item.id, num_classes=num_classes,
            )
            for item in self.items if item.id > num_classes
        ]


#: How many missing ids a gap finding lists in its evidence (it counts them all).
_SHOWN_MISSING = 1000


def parse_label_map(text: str, name: str) -> tuple[LabelMap, list[Finding]]:
    """Parse label map text; ``name`` is how findings name the file."""
    parsed = parse_text(text)
    root, problems = validate(parsed, LABEL_MAP)
    source = TextFile(name, parsed)
    findings = [_problem_finding(source, p) for p in problems if p.kind != "deprecated"]
    label_map = LabelMap(name, _items(root), not any(p.kind in _PARSE_KINDS for p in problems),
                         source)
    findings += _check_items(label_map, source)
    return label_map, findings


class LabelMapUnreadable(UserError):
    """A label map file that cannot be read; ``reason`` is what the system answered."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"cannot read the label map {path}: {reason}")
        self.reason = reason


def read_label_map(path: str | Path) -> tuple[LabelMap, list[Finding]]:
    """Read and check a label map file; a missing or unreadable file is a
    :class:`LabelMapUnreadable` (a :class:`UserError`)."""
    try:
        text = read_input_text(path)
    except OSError as exc:
        raise LabelMapUnreadable(path, exc.strerror or str(exc)) from exc
    return parse_label_map(text, str(path))


def _problem_finding(source: TextFile, problem: Problem) -> Finding:
    if problem.kind == "duplicate":
        return source.finding(M.FIELD_TWICE, problem.message, problem.pos, problem.hint,
                              **problem.evidence)
    hint = problem.hint
    if problem.evidence.get("field") == "item":
        hint = ("an item block starts inside another: the closing } of the item before line "
                f"{problem.pos.line} is missing")
    return source.finding(M.UNPARSEABLE, problem.message, problem.pos, hint or None,
                          tensorflow=HIDDEN_ERROR, real_error=problem.tensorflow,
                          **problem.evidence)


def _items(root: Node) -> list[LabelItem]:
    items = []
    for node in root.all("item"):
        keypoints = tuple(
            Keypoint(kp.get("id"), kp.get("label"), kp.pos) for kp in node.all("keypoints")
        )
        items.append(LabelItem(
            name=node.get("name"), id=node.get("id"),
            display_name=node.get("display_name") if node.has("display_name") else None,
            pos=node.pos, id_pos=node.value_pos("id") if node.has("id") else None,
            name_pos=node.value_pos("name") if node.has("name") else node.pos,
            keypoints=keypoints,
            display_pos=node.value_pos("display_name") if node.has("display_name") else None,
        ))
    return items


def _check_items(label_map: LabelMap, source: TextFile) -> list[Finding]:
    if not label_map.items:
        if not label_map.loadable:
            return []
        return [source.finding(M.EMPTY, f"{label_map.path} has no items", Pos(1, 1))]
    findings: list[Finding] = []
    for item in label_map.items:
        findings += _check_id(item, source)
        findings += _check_keypoints(item, source)
    findings += _duplicates(label_map, source)
    findings += _gaps(label_map, source)
    return findings


def _check_id(item: LabelItem, source: TextFile) -> list[Finding]:
    if item.id < 0:
        return [source.finding(M.NEGATIVE_ID, f"item {item.name!r} has the negative id {item.id}",
                               item.id_pos, id=item.id,
                               tensorflow=M.NEGATIVE_ID.tf_message)]
    if item.id == 0 and not item.is_background:
        if item.id_pos is None:
            message = f"item {item.name!r} has no id, so its id is 0 (reserved for background)"
        else:
            message = f"item {item.name!r} has id 0, which is reserved for background"
        return [source.finding(M.ID_ZERO, message, item.id_pos or item.pos,
                               tensorflow=M.ID_ZERO.tf_message)]
    return []


def _check_keypoints(item: LabelItem, source: TextFile) -> list[Finding]:
    findings: list[Finding] = []
    for attr in ("id", "label"):
        seen: dict[object, Keypoint] = {}
        for keypoint in item.keypoints:
            value = getattr(keypoint, attr)
            if value in seen:
                findings.append(source.finding(
                    M.KEYPOINT_DUPLICATE,
                    f"item {item.name!r} lists keypoint {attr} {value!r} twice (line "
                    f"{seen[value].pos.line} and here)", keypoint.pos,
                    tensorflow=M.KEYPOINT_DUPLICATE.tf_message,
                ))
            seen.setdefault(value, keypoint)
    return findings


def _duplicates(label_map: LabelMap, source: TextFile) -> list[Finding]:
    findings: list[Finding] = []
    checks = (
        (M.DUPLICATE_ID, "id", lambda item: item.id, label_map.place_of),
        (M.DUPLICATE_NAME, "name", lambda item: item.name, lambda item: item.name_pos),
        (M.DUPLICATE_DISPLAY_NAME, "display_name", lambda item: item.display_name,
         lambda item: item.display_pos),
    )
    for rule, label, key, place in checks:
        groups: dict[object, list[LabelItem]] = defaultdict(list)
        for item in label_map.items:
            if key(item) is not None:
                groups[key(item)].append(item)
        for value, items in groups.items():
            if label == "name" and len(items) > 1 and _told_apart(items):
                findings.append(_shared_placeholder(source, value, items, place(items[1])))
                continue
            for later in items[1:]:
                first = items[0]
                findings.append(source.finding(
                    rule, _duplicate_message(label, value, first, later), place(later),
                    first_line=first.pos.line,
                ))
    return findings


def _told_apart(items: list[LabelItem]) -> bool:
    """Whether items that share a ``name`` each have a display_name of their own (the decoder
    matches class/text against display names too, so records that write those are read right)."""
    shown = [item.display_name for item in items]
    return None not in shown and len(set(shown)) == len(shown)


def _shared_placeholder(source: TextFile, value: object, items: list[LabelItem],
                        pos: Pos) -> Finding:
    ids = [item.id for item in items]
    listed = ", ".join(map(str, ids[:10])) + (" ..." if len(ids) > 10 else "")
    return source.finding(
        M.DUPLICATE_NAME,
        f"name {value!r} is shared by {len(items)} items (ids {listed}), each with a "
        f"display_name of its own: the decoder also matches class/text against display names, "
        f"so records that write those are read right; only a class/text of {value!r} itself "
        f"would get id {items[-1].id}", pos, f"nothing to do unless records write {value!r} as "
        "class/text (then give those items names of their own)", severity=Severity.INFO, ids=ids)


def _duplicate_message(label: str, value: object, first: LabelItem, later: LabelItem) -> str:
    if label == "id":
        return (f"id {value} is used by {first.name!r} (line {first.pos.line}) and "
                f"{later.name!r}: both classes are learned as one")
    if label == "name":
        return (f"name {value!r} is used by id {first.id} (line {first.pos.line}) and id "
                f"{later.id}: class/text {value!r} always gets id {later.id}")
    return (f"display_name {value!r} is used by {first.name!r} (line {first.pos.line}) and "
            f"{later.name!r}")


def _gaps(label_map: LabelMap, source: TextFile) -> list[Finding]:
    ids = sorted({item.id for item in label_map.items if item.id > 0})
    if not ids:
        return []
    # Walk the gaps between the ids (work grows with the items, not with the largest id).
    gaps = [(low + 1, high) for low, high in zip([0, *ids], ids, strict=False) if high > low + 1]
    if not gaps:
        return []
    count = sum(high - low for low, high in gaps)
    missing = list(islice((i for low, high in gaps for i in range(low, high)), _SHOWN_MISSING))
    after = min((item for item in label_map.items if item.id > missing[0]),
                key=lambda item: item.id)
    shown = ", ".join(map(str, missing[:10])) + (" ..." if count > 10 else "")
    message = f"ids {ids[0]}..{ids[-1]} skip {shown}: {count} class id(s) without a name"
    official = label_map.official
    if official is None:
        return [source.finding(M.ID_GAP, message, label_map.place_of(after), missing=missing,
                               missing_count=count)]
    return [source.finding(
        M.ID_GAP, f"{message}. This is the OD API's official {official} label map: its ids are "
        f"the ones the {official} checkpoints were trained with", label_map.place_of(after),
        "nothing to do: keep the official ids as they are (renumbering them breaks fine-tuning "
        "from the official checkpoints)", severity=Severity.INFO, missing=missing,
        missing_count=count, official=official)]
