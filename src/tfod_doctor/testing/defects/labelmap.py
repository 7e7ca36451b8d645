"""Defects of label_map.pbtxt: its text, ids, names and keypoints."""

from __future__ import annotations

from tfod_doctor.testing.builder import Builder, Stage, defect
from tfod_doctor.testing.configs import LabelItem, label_map_text

LABEL_MAP = "label_map.pbtxt"


def _rewrite(b: Builder) -> None:
    b.label_map_text = label_map_text(b.label_items)


def _plant(b: Builder, name: str, needle: str, after: int = 0) -> None:
    b.plant(name, file=LABEL_MAP, line=b.label_map_line(needle, after))


def _set_text_line(b: Builder, line: int, text: str) -> None:
    lines = b.label_map_text.split("\n")
    lines.insert(line, text)
    b.label_map_text = "\n".join(lines)


@defect("label_map_smart_quotes", Stage.LABEL_MAP)
def label_map_smart_quotes(b: Builder) -> None:
    """Typographic quotes around the second item's name."""
    name = b.label_items[1].name
    b.label_map_text = b.label_map_text.replace(f"name: '{name}'", f"name: ‘{name}’", 1)
    _plant(b, "label_map_smart_quotes", f"‘{name}’")


@defect("label_map_empty", Stage.LABEL_MAP)
def label_map_empty(b: Builder) -> None:
    """A label map with no items (an unedited template)."""
    b.label_map_text = "# add one item { } per class\n"
    b.plant("label_map_empty", file=LABEL_MAP, line=1)


@defect("label_map_missing_id", Stage.LABEL_MAP)
def label_map_missing_id(b: Builder) -> None:
    """The second item has no id (so its id is 0)."""
    b.label_items[1].id = None
    _rewrite(b)
    _plant(b, "label_map_missing_id", "item {", b.label_map_line(f"'{b.label_items[0].name}'"))


@defect("label_map_negative_id", Stage.LABEL_MAP)
def label_map_negative_id(b: Builder) -> None:
    """The last item has id -1."""
    b.label_items[-1].id = -1
    _rewrite(b)
    _plant(b, "label_map_negative_id", "id: -1")


@defect("label_map_duplicate_id", Stage.LABEL_MAP)
def label_map_duplicate_id(b: Builder) -> None:
    """The last item reuses the second item's id."""
    b.label_items[-1].id = b.label_items[1].id
    _rewrite(b)
    first = b.label_map_line(f"id: {b.label_items[1].id}")
    _plant(b, "label_map_duplicate_id", f"id: {b.label_items[1].id}", first)


@defect("label_map_duplicate_name", Stage.LABEL_MAP)
def label_map_duplicate_name(b: Builder) -> None:
    """The last item reuses the second item's name."""
    name = b.label_items[1].name
    b.label_items[-1].name = name
    _rewrite(b)
    _plant(b, "label_map_duplicate_name", f"'{name}'", b.label_map_line(f"'{name}'"))


@defect("label_map_duplicate_display_name", Stage.LABEL_MAP)
def label_map_duplicate_display_name(b: Builder) -> None:
    """Every item gets a display_name; the last two share one."""
    for item in b.label_items:
        item.display_name = item.name.title()
    b.label_items[-1].display_name = b.label_items[-2].display_name
    _rewrite(b)
    shown = f"display_name: '{b.label_items[-1].display_name}'"
    _plant(b, "label_map_duplicate_display_name", shown, b.label_map_line(shown))


@defect("label_map_id_gap", Stage.LABEL_MAP)
def label_map_id_gap(b: Builder) -> None:
    """The last item's id skips one number (1, 2, 4)."""
    b.label_items[-1].id = len(b.label_items) + 1
    _rewrite(b)
    _plant(b, "label_map_id_gap", f"id: {len(b.label_items) + 1}")


@defect("label_map_id_above_num_classes", Stage.LABEL_MAP)
def label_map_id_above_num_classes(b: Builder) -> None:
    """An extra item whose id is above num_classes (the config keeps the class count)."""
    b.label_items.append(LabelItem("fish", len(b.label_items) + 1))
    _rewrite(b)
    _plant(b, "label_map_id_above_num_classes", f"id: {len(b.label_items)}")


@defect("label_map_duplicate_keypoint", Stage.LABEL_MAP)
def label_map_duplicate_keypoint(b: Builder) -> None:
    """The first item lists keypoint id 0 twice."""
    line = b.label_map_line(f"name: '{b.label_items[0].name}'")
    _set_text_line(b, line, "  keypoints { id: 0 label: 'nose' }")
    _set_text_line(b, line + 1, "  keypoints { id: 0 label: 'left_eye' }")
    _plant(b, "label_map_duplicate_keypoint", "left_eye")


@defect("label_map_field_twice", Stage.LABEL_MAP)
def label_map_field_twice(b: Builder) -> None:
    """The first item sets name twice (the second wins)."""
    line = b.label_map_line(f"name: '{b.label_items[0].name}'")
    _set_text_line(b, line, "  name: 'kitty'")
    _plant(b, "label_map_field_twice", "'kitty'")
