"""Writing ``label_map.pbtxt`` and the ``input_reader`` blocks to paste into pipeline.config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from tfod_doctor.converters.model import Categories

#: The OD API pads or clips ground truth to this many boxes per image unless the reader says more.
OD_DEFAULT_MAX_BOXES = 100
_EVAL_NAMES = frozenset({"eval", "val", "valid", "validation", "test", "dev"})


def quote(text: str) -> str:
    """A protobuf text-format string literal: double quotes, backslash escapes, UTF-8 kept."""
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{escaped}"'


def label_map_text(categories: Categories) -> str:
    """A label map with one ``item`` per category: id, name and display_name."""
    blocks = []
    for category in categories:
        blocks.append(
            "item {\n"
            f"  id: {category.id}\n"
            f"  name: {quote(category.name)}\n"
            f"  display_name: {quote(category.name)}\n"
            "}\n"
        )
    return "\n".join(blocks)


def is_eval_split(name: str) -> bool:
    """Whether records named so are for evaluation (``eval``, ``val``, ``test``...)."""
    return name.lower() in _EVAL_NAMES


def input_reader_text(
    patterns: Mapping[str, str],
    label_map: Path,
    num_classes: int,
    max_boxes: int,
    eval_splits: Sequence[str] = (),
) -> str:
    """``train_input_reader`` / ``eval_input_reader`` blocks for the written shards.

    ``patterns`` maps each split to the glob of its shards. A split is read by the eval reader
    when it is named like one (``eval``, ``val``...) or listed in ``eval_splits``.
    """
    lines = [
        "# Input readers for the records tfod-doctor wrote. Paste these blocks into your",
        "# pipeline.config in place of the existing train_input_reader / eval_input_reader,",
        f"# and set num_classes: {num_classes} in the model block.",
    ]
    if max_boxes > OD_DEFAULT_MAX_BOXES:
        lines.append(f"# Some images have {max_boxes} boxes: max_number_of_boxes is raised from "
                     f"the default {OD_DEFAULT_MAX_BOXES}, which would silently drop the rest.")
    for split, pattern in patterns.items():
        evaluating = is_eval_split(split) or split in eval_splits
        lines.append("")
        lines.append(f"{'eval' if evaluating else 'train'}_input_reader {{")
        lines.append(f"  label_map_path: {quote(str(label_map))}")
        if evaluating:
            lines += ["  shuffle: false", "  num_epochs: 1"]
        if max_boxes > OD_DEFAULT_MAX_BOXES:
            lines.append(f"  max_number_of_boxes: {max_boxes}")
        lines += ["  tf_record_input_reader {", f"    input_path: {quote(pattern)}", "  }", "}"]
    return "\n".join(lines) + "\n"
