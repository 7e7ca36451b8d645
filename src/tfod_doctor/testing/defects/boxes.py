"""Defects of the boxes: list lengths, NaN and infinity, ranges, inverted, tiny, too many."""

from __future__ import annotations

from tfod_doctor.checks.context import InputFlags
from tfod_doctor.records import Floats, Ints
from tfod_doctor.testing.builder import Builder, Slot, Stage, defect
from tfod_doctor.testing.defects.features import png_masks
from tfod_doctor.testing.samples import BOX_KEYS, random_box

YMIN, XMIN, YMAX, XMAX = BOX_KEYS
LABEL, TEXT = "image/object/class/label", "image/object/class/text"


def coordinates(slot: Slot, key: str) -> list[float]:
    """A box list of the slot, as a mutable list."""
    return list(slot.features[key].values)


def set_coordinate(slot: Slot, key: str, index: int, value: float) -> None:
    """Change one coordinate of one box."""
    values = coordinates(slot, key)
    values[index] = value
    slot.features[key] = Floats(values)


def _planted(b: Builder, name: str, with_boxes: int = 1, key: str | None = None) -> Slot:
    slot = b.pick("train", with_boxes=with_boxes)
    b.plant_in(name, slot, key=key)
    return slot


@defect("box_lists_differ", Stage.FEATURES)
def box_lists_differ(b: Builder) -> None:
    """Drop the last xmax of a record with two or more boxes."""
    slot = _planted(b, "box_lists_differ", with_boxes=2, key=XMAX)
    slot.features[XMAX] = Floats(coordinates(slot, XMAX)[:-1])


@defect("fewer_labels_than_boxes", Stage.FEATURES)
def fewer_labels_than_boxes(b: Builder) -> None:
    """Drop the last class (label and text) of a record with two or more boxes."""
    slot = _planted(b, "fewer_labels_than_boxes", with_boxes=2, key=LABEL)
    slot.features[LABEL] = Ints(list(slot.features[LABEL].values)[:-1])
    slot.features[TEXT] = type(slot.features[TEXT])(list(slot.features[TEXT].values)[:-1])


@defect("nan_box", Stage.FEATURES)
def nan_box(b: Builder) -> None:
    """Make the first xmin of a record NaN."""
    slot = _planted(b, "nan_box", key=XMIN)
    set_coordinate(slot, XMIN, 0, float("nan"))


@defect("inf_box", Stage.FEATURES)
def inf_box(b: Builder) -> None:
    """Make the first xmax of a record infinite."""
    slot = _planted(b, "inf_box", key=XMAX)
    set_coordinate(slot, XMAX, 0, float("inf"))


@defect("box_slightly_outside", Stage.FEATURES)
def box_slightly_outside(b: Builder) -> None:
    """Stretch the first box of a record to xmax = 1.04."""
    slot = _planted(b, "box_slightly_outside")
    set_coordinate(slot, XMAX, 0, 1.04)


@defect("pixel_boxes", Stage.FEATURES)
def pixel_boxes(b: Builder) -> None:
    """Write a record's boxes in pixels instead of normalized coordinates."""
    slot = _planted(b, "pixel_boxes", key=XMAX)
    width, height = slot.sample.width, slot.sample.height
    for key, scale in zip(BOX_KEYS, (height, width, height, width), strict=True):
        slot.features[key] = Floats([round(v * scale, 1) for v in coordinates(slot, key)])


@defect("inverted_box", Stage.FEATURES)
def inverted_box(b: Builder) -> None:
    """Swap xmin and xmax of a record's first box."""
    slot = _planted(b, "inverted_box", key=XMIN)
    xmin, xmax = coordinates(slot, XMIN)[0], coordinates(slot, XMAX)[0]
    set_coordinate(slot, XMIN, 0, xmax)
    set_coordinate(slot, XMAX, 0, xmin)


@defect("zero_area_box", Stage.FEATURES)
def zero_area_box(b: Builder) -> None:
    """Give a record's first box ymax = ymin."""
    slot = _planted(b, "zero_area_box")
    set_coordinate(slot, YMAX, 0, coordinates(slot, YMIN)[0])


@defect("tiny_box", Stage.FEATURES)
def tiny_box(b: Builder) -> None:
    """Make a record's first box half a pixel wide."""
    slot = _planted(b, "tiny_box")
    set_coordinate(slot, XMAX, 0, coordinates(slot, XMIN)[0] + 0.5 / slot.sample.width)


@defect("too_many_boxes", Stage.FEATURES)
def too_many_boxes(b: Builder) -> None:
    """Give a record 105 boxes (the OD API keeps 100 by default)."""
    slot = _planted(b, "too_many_boxes")
    boxes = [random_box(b.rng, b.classes) for _ in range(105)]
    slot.sample.boxes = boxes
    slot.features.update({key: value for key, value in slot.sample.features().items()
                          if key.startswith("image/object/")})


@defect("is_crowd_length", Stage.FEATURES)
def is_crowd_length(b: Builder) -> None:
    """Write one is_crowd flag more than boxes in a record with two or more boxes."""
    slot = _planted(b, "is_crowd_length", with_boxes=2, key="image/object/is_crowd")
    slot.features["image/object/is_crowd"] = Ints([0] * (len(slot.sample.boxes) + 1))


@defect("mask_count", Stage.FEATURES)
def mask_count(b: Builder) -> None:
    """Write one PNG mask fewer than boxes in a record with two or more boxes (the input
    reader loads PNG masks)."""
    b.scan_options["flags"] = InputFlags(load_instance_masks=True, mask_type="PNG_MASKS")
    slot = _planted(b, "mask_count", with_boxes=2, key="image/object/mask")
    slot.features["image/object/mask"] = png_masks(slot, len(slot.sample.boxes) - 1)
