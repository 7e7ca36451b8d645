"""Defects of the feature keys: missing image, misspelled keys, wrong kinds and counts, flags."""

from __future__ import annotations

from tfod_doctor.checks.context import InputFlags
from tfod_doctor.records import Bytes, Floats, Ints
from tfod_doctor.testing.builder import Builder, Slot, Stage, defect
from tfod_doctor.testing.images import make_image
from tfod_doctor.testing.samples import BOX_KEYS


def rename_key(slot: Slot, old: str, new: str) -> None:
    """Move a feature to another key."""
    slot.features[new] = slot.features.pop(old)


@defect("missing_image", Stage.FEATURES)
def missing_image(b: Builder) -> None:
    """Write a record's image under image/encoded_jpeg instead of image/encoded."""
    slot = b.pick("train")
    rename_key(slot, "image/encoded", "image/encoded_jpeg")
    b.plant_in("missing_image", slot, key="image/encoded")


@defect("misspelled_box_keys", Stage.FEATURES)
def misspelled_box_keys(b: Builder) -> None:
    """Write a record's boxes under image/object/bbox/xmins, ... (a plural 's' on each key)."""
    slot = b.pick("train")
    for key in BOX_KEYS:
        rename_key(slot, key, key + "s")
    b.plant_in("misspelled_box_keys", slot, key="image/object/bbox/xmins")


@defect("float_labels", Stage.FEATURES)
def float_labels(b: Builder) -> None:
    """Write a record's class labels as a float_list."""
    slot = b.pick("train")
    slot.features["image/object/class/label"] = Floats(
        [float(box.label) for box in slot.sample.boxes])
    b.plant_in("float_labels", slot, key="image/object/class/label")


@defect("two_heights", Stage.FEATURES)
def two_heights(b: Builder) -> None:
    """Write image/height twice in one record ([h, h])."""
    slot = b.pick("train", with_boxes=0)
    slot.features["image/height"] = Ints([slot.sample.height, slot.sample.height])
    b.plant_in("two_heights", slot, key="image/height")


def png_masks(slot: Slot, count: int) -> Bytes:
    """``count`` single-channel PNG masks of the slot's image size."""
    sample = slot.sample
    return Bytes([make_image(sample.width, sample.height, "png", "L", seed=i)
                  for i in range(count)])


@defect("masks_without_flag", Stage.FEATURES)
def masks_without_flag(b: Builder) -> None:
    """Give one record a PNG mask per box (no input reader flag reads them)."""
    slot = b.pick("train")
    slot.features["image/object/mask"] = png_masks(slot, len(slot.sample.boxes))
    b.plant_in("masks_without_flag", slot, key="image/object/mask")


@defect("flag_without_keys", Stage.FEATURES)
def flag_without_keys(b: Builder) -> None:
    """Scan as if the input reader set num_additional_channels: 1 (no record has them)."""
    b.scan_options["flags"] = InputFlags(num_additional_channels=1)
    slot = b.slots[b.files("train")[0]][0]
    b.plant_in("flag_without_keys", slot, key="image/additional_channels/encoded")


@defect("schema_drift", Stage.FEATURES)
def schema_drift(b: Builder) -> None:
    """Leave image/key/sha256 out of one record (all the others have it)."""
    slot = b.pick("train", with_boxes=0, nth=1)
    del slot.features["image/key/sha256"]
    b.plant_in("schema_drift", slot)
