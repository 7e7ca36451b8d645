"""Defects of the class labels and names, against num_classes and the label map."""

from __future__ import annotations

from tfod_doctor.records import Bytes, Ints
from tfod_doctor.testing.builder import Builder, Slot, Stage, defect
from tfod_doctor.testing.configs import LabelItem

LABEL, TEXT = "image/object/class/label", "image/object/class/text"


def set_label(slot: Slot, index: int, value: int) -> None:
    """Change one class id of a record."""
    values = list(slot.features[LABEL].values)
    values[index] = value
    slot.features[LABEL] = Ints(values)


def set_text(slot: Slot, index: int, value: str) -> None:
    """Change one class name of a record."""
    values = list(slot.features[TEXT].values)
    values[index] = value
    slot.features[TEXT] = Bytes(values)


@defect("label_zero", Stage.FEATURES)
def label_zero(b: Builder) -> None:
    """Give a record's first box class id 0 (0-based ids); the record has ids only, no names
    (with names and a label map the decoder would use the names)."""
    slot = b.pick("train")
    del slot.features[TEXT]
    set_label(slot, 0, 0)
    b.plant_in("label_zero", slot, key=LABEL)


@defect("label_above_num_classes", Stage.FEATURES)
def label_above_num_classes(b: Builder) -> None:
    """Add a class to the label map past num_classes and use it in a record (id and name)."""
    b.scan_options["num_classes"] = len(b.classes)
    extra = LabelItem("zebra", len(b.label_items) + 1)
    b.label_items.append(extra)
    slot = b.pick("train")
    set_label(slot, 0, extra.id)
    set_text(slot, 0, extra.name)
    b.plant_in("label_above_num_classes", slot, key=LABEL)


@defect("label_not_in_label_map", Stage.FEATURES)
def label_not_in_label_map(b: Builder) -> None:
    """Leave the last class out of the label map (num_classes still counts it) and give a
    record with only class/label that class's id (scan with the map)."""
    b.scan_label_map = True
    missing = b.label_items.pop()
    slot = b.pick("train")
    del slot.features[TEXT]
    set_label(slot, 0, missing.id)
    b.plant_in("label_not_in_label_map", slot, key=LABEL)


@defect("text_not_in_label_map", Stage.FEATURES)
def text_not_in_label_map(b: Builder) -> None:
    """Capitalize a record's first class name ('cat' -> 'Cat'; scan with the label map)."""
    b.scan_label_map = True
    slot = b.pick("train")
    set_text(slot, 0, slot.sample.boxes[0].text.capitalize())
    b.plant_in("text_not_in_label_map", slot, key=TEXT)


@defect("text_label_disagree", Stage.FEATURES)
def text_label_disagree(b: Builder) -> None:
    """Give a record's first box a class id that is not its name's (scan with the label map)."""
    b.scan_label_map = True
    slot = b.pick("train")
    label = slot.sample.boxes[0].label
    set_label(slot, 0, label % len(b.classes) + 1)
    b.plant_in("text_label_disagree", slot, key=LABEL)


@defect("text_only_records", Stage.FEATURES)
def text_only_records(b: Builder) -> None:
    """Leave class/label out of a record: its classes are only named (as COCO's script does);
    the input readers set no label_map_path."""
    b.scan_options["label_map_in_reader"] = False
    slot = b.pick("train")
    del slot.features[LABEL]
    b.plant_in("text_only_records", slot, key=LABEL)


@defect("image_label_out_of_range", Stage.FEATURES)
def image_label_out_of_range(b: Builder) -> None:
    """Give a record an image-level class id 0."""
    slot = b.pick("train", with_boxes=0)
    slot.features["image/class/label"] = Ints([0])
    b.plant_in("image_label_out_of_range", slot, key="image/class/label")
