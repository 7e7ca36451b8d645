"""Defects across records: duplicate ids and images, leakage, unused classes, emptiness."""

from __future__ import annotations

from tfod_doctor.records import Bytes
from tfod_doctor.testing.builder import Builder, Slot, Stage, defect
from tfod_doctor.testing.configs import LabelItem

SOURCE_ID, IMAGE = "image/source_id", "image/encoded"
_IMAGE_KEYS = (IMAGE, "image/height", "image/width", "image/format", "image/key/sha256")


def copy_image(source: Slot, target: Slot) -> None:
    """Give ``target`` the image of ``source`` (bytes, size, format and hash)."""
    for key in _IMAGE_KEYS:
        target.features[key] = source.features[key]


@defect("duplicate_source_id", Stage.FEATURES)
def duplicate_source_id(b: Builder) -> None:
    """Give eval record 1 the source_id of eval record 0."""
    slots = b.slots[b.files("eval")[0]]
    slots[1].features[SOURCE_ID] = slots[0].features[SOURCE_ID]
    b.plant_in("duplicate_source_id", slots[1], key=SOURCE_ID)


@defect("empty_source_id", Stage.FEATURES)
def empty_source_id(b: Builder) -> None:
    """Write an empty image/source_id in one record."""
    slot = b.pick("train", with_boxes=0)
    slot.features[SOURCE_ID] = Bytes([""])
    b.plant_in("empty_source_id", slot, key=SOURCE_ID)


@defect("duplicate_image", Stage.FEATURES)
def duplicate_image(b: Builder) -> None:
    """Copy the image of train record 0 into train record 1 of the same file."""
    slots = b.slots[b.files("train")[0]]
    copy_image(slots[0], slots[1])
    b.plant_in("duplicate_image", slots[1], key=IMAGE)


@defect("train_eval_leak", Stage.FEATURES)
def train_eval_leak(b: Builder) -> None:
    """Copy a train image into an eval record (scan with the eval split named)."""
    b.scan_splits = True
    target = b.slots[b.files("eval")[0]][0]
    copy_image(b.slots[b.files("train")[0]][0], target)
    b.plant_in("train_eval_leak", target, key=IMAGE)


@defect("unused_class", Stage.FEATURES)
def unused_class(b: Builder) -> None:
    """Add a class to the label map that no record has (scan with the label map)."""
    b.scan_label_map = True
    b.label_items.append(LabelItem("zebra", len(b.label_items) + 1))
    b.plant("unused_class", file="label_map.pbtxt")


@defect("empty_dataset", Stage.FILES)
def empty_dataset(b: Builder) -> None:
    """Empty every record file (0 bytes each)."""
    for name in b.file_bytes:
        b.file_bytes[name] = b""
    b.plant("empty_dataset")


@defect("no_boxes", Stage.FEATURES)
def no_boxes(b: Builder) -> None:
    """Remove every box from every record."""
    for slots in b.slots.values():
        for slot in slots:
            slot.sample.boxes = []
            for key, value in slot.sample.features().items():
                if key.startswith("image/object/"):
                    slot.features[key] = value
    b.plant("no_boxes")

