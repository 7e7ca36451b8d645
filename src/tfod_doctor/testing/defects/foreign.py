"""Defects of records and configs written the way tutorials do: one flat ``boxes`` list, a
``classes`` list, and a config ``input_features { feature_map {...} }`` the OD API does not have.

``tutorial_records`` + ``config_feature_map`` together are issue 9's snippet exactly.
"""

from __future__ import annotations

from tfod_doctor.odapi.layout import from_od_boxes
from tfod_doctor.records import Bytes, Floats, Ints
from tfod_doctor.testing.builder import Builder, Slot, Stage, defect
from tfod_doctor.testing.defects.config import CONFIG, _insert_after
from tfod_doctor.testing.samples import BOX_KEYS

#: The block the snippet's config adds to train_input_reader.
FEATURE_MAP_BLOCK = """  input_features {
    feature_map { key: "image/encoded" value: "image/encoded" }
    feature_map { key: "boxes" value: "bbox" }
    feature_map { key: "classes" value: "labels" }
  }"""


def flatten_boxes(slot: Slot, key: str = "boxes", layout: str = "yxyx",
                  units: str = "normalized", as_ints: bool = False) -> None:
    """Replace the slot's four box lists by one flat list under ``key`` in ``layout``."""
    sample = slot.sample
    sides = [[getattr(box, side) for box in sample.boxes]
             for side in ("ymin", "xmin", "ymax", "xmax")]
    values = from_od_boxes(*sides, layout, units, sample.width, sample.height)
    for box_key in BOX_KEYS:
        del slot.features[box_key]
    slot.features[key] = Ints([round(v) for v in values]) if as_ints else Floats(values)


def tutorial_features(slot: Slot, layout: str = "yxyx", units: str = "normalized") -> None:
    """Make the slot's features exactly the snippet's: image/encoded, boxes, classes."""
    flatten_boxes(slot, "boxes", layout, units)
    classes = Ints([box.label for box in slot.sample.boxes])
    slot.features = {"image/encoded": slot.features["image/encoded"],
                     "boxes": slot.features["boxes"], "classes": classes}


def _first_boxed(b: Builder, role: str = "train") -> Slot:
    """The first record with boxes in the first file of ``role`` (where dataset-level layout
    findings point)."""
    first = sorted(b.files(role))[0]
    return next(slot for slot in b.slots[first] if slot.sample.boxes)


@defect("flat_box_list", Stage.FEATURES)
def flat_box_list(b: Builder) -> None:
    """One record keeps its boxes as one flat yxyx list under ``boxes`` (classes stay)."""
    slot = b.pick("train")
    flatten_boxes(slot)
    b.plant_in("flat_box_list", slot, key="boxes")


@defect("foreign_class_key", Stage.FEATURES)
def foreign_class_key(b: Builder) -> None:
    """One record keeps its class ids under ``classes`` and has no class/text."""
    slot = b.pick("train")
    slot.features["classes"] = slot.features.pop("image/object/class/label")
    del slot.features["image/object/class/text"]
    b.plant_in("foreign_class_key", slot, key="classes")


def _flatten_role(b: Builder, role: str, key: str, layout: str, units: str) -> None:
    for name in b.files(role):
        for slot in b.slots[name]:
            flatten_boxes(slot, key, layout, units)


#: Defect name -> (key, layout, units) of datasets whose train records keep flat box lists.
LAYOUT_DEFECTS: dict[str, tuple[str, str, str]] = {
    "flat_box_list_xywh_pixels": ("bbox", "xywh", "pixels"),
    "flat_box_list_xyxy_pixels": ("bboxes", "xyxy", "pixels"),
    "flat_box_list_cxcywh": ("objects/bbox", "cxcywh", "normalized"),
}


def _layout_defect(name: str, key: str, layout: str, units: str) -> None:
    def plant(b: Builder) -> None:
        _flatten_role(b, "train", key, layout, units)
        b.plant_in(name, _first_boxed(b), key=key)

    plant.__doc__ = f"Every train record keeps its boxes under {key!r}: {layout}, {units}."
    defect(name, Stage.FEATURES)(plant)


for _name, (_key, _layout, _units) in LAYOUT_DEFECTS.items():
    _layout_defect(_name, _key, _layout, _units)


@defect("tutorial_records", Stage.FEATURES)
def tutorial_records(b: Builder) -> None:
    """Every record written as the tutorials do: image/encoded, a flat yxyx ``boxes`` list and
    ``classes`` ids, nothing else."""
    for role in ("train", "eval"):
        for name in b.files(role):
            for slot in b.slots[name]:
                tutorial_features(slot)
    b.plant_in("tutorial_records", _first_boxed(b), key="boxes")


@defect("config_feature_map", Stage.CONFIG)
def config_feature_map(b: Builder) -> None:
    """train_input_reader gets an ``input_features { feature_map {...} }`` block."""
    line = _insert_after(b, "train_input_reader {", FEATURE_MAP_BLOCK)
    b.plant("config_feature_map", file=CONFIG, line=line)


def tutorial_record(image: bytes, boxes_yxyx: list[list[float]],
                    classes: list[int]) -> dict[str, object]:
    """One record exactly as the snippet writes it (for tests that write their own records)."""
    flat = [value for box in boxes_yxyx for value in box]
    return {"image/encoded": Bytes([image]), "boxes": Floats(flat), "classes": Ints(classes)}
