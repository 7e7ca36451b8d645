"""Defects of a dataset's quality: imbalance, outliers, split skew, a team's expectations."""

from __future__ import annotations

from tfod_doctor.testing.builder import Builder, Slot, Stage, defect
from tfod_doctor.testing.images import draw_scene, encode_image, make_image
from tfod_doctor.testing.samples import Box

PROJECT_FILE = "tfod-doctor.toml"


def _rewrite(slot: Slot) -> None:
    """Write a slot's features anew from its (edited) sample."""
    slot.features.update(slot.sample.features())


def _relabel(slot: Slot, b: Builder, label: int) -> None:
    for box in slot.sample.boxes:
        box.label, box.text = label, b.classes[label - 1]
    _rewrite(slot)


def _slots(b: Builder, role: str) -> list[Slot]:
    return [slot for name in b.files(role) for slot in b.slots[name]]


@defect("split_skew", Stage.FEATURES)
def split_skew(b: Builder) -> None:
    """Make every eval box small and square, and every train box large."""
    b.scan_splits = True
    for role, side in (("eval", 0.08), ("train", 0.6)):
        for slot in _slots(b, role):
            for box in slot.sample.boxes:
                box.ymin, box.xmin = 0.1, 0.1
                box.ymax, box.xmax = round(0.1 + side, 4), round(0.1 + side, 4)
            _rewrite(slot)
    b.plant("split_skew")


@defect("rare_class", Stage.FEATURES)
def rare_class(b: Builder) -> None:
    """Leave the last class one train box; the other train boxes alternate between the
    other classes."""
    b.scan_splits = True
    rare, others = len(b.classes), list(range(1, len(b.classes)))
    boxes = [box for slot in _slots(b, "train") for box in slot.sample.boxes]
    for i, box in enumerate(boxes):
        box.label = rare if i == 0 else others[i % len(others)]
        box.text = b.classes[box.label - 1]
    for slot in _slots(b, "train"):
        _rewrite(slot)
    b.plant("rare_class")


@defect("dominant_class", Stage.FEATURES)
def dominant_class(b: Builder) -> None:
    """Make nearly every train box class 1 (one box of every other class is left)."""
    b.scan_splits = True
    left = set(range(2, len(b.classes) + 1))
    for slot in _slots(b, "train"):
        for box in slot.sample.boxes:
            if box.label in left:
                left.discard(box.label)
            else:
                box.label, box.text = 1, b.classes[0]
        _rewrite(slot)
    b.plant("dominant_class")


@defect("class_missing_from_eval", Stage.FEATURES)
def class_missing_from_eval(b: Builder) -> None:
    """Turn every eval box of the last class into class 1."""
    b.scan_splits = True
    missing = len(b.classes)
    for slot in _slots(b, "eval"):
        for box in slot.sample.boxes:
            if box.label == missing:
                box.label, box.text = 1, b.classes[0]
        _rewrite(slot)
    b.plant("class_missing_from_eval")


@defect("image_size_outlier", Stage.FEATURES)
def image_size_outlier(b: Builder) -> None:
    """Give one train record an image of 40x the usual area."""
    slot = b.pick("train")
    sample = slot.sample
    sample.width, sample.height = sample.width * 7, sample.height * 6
    sample.image = make_image(sample.width, sample.height, "jpeg", seed=7)
    sample.format = "jpeg"
    _rewrite(slot)
    b.plant_in("image_size_outlier", slot)


@defect("crowded_image", Stage.FEATURES)
def crowded_image(b: Builder) -> None:
    """Give one train record 40 boxes (a labelling accident: a grid of boxes)."""
    slot = b.pick("train")
    slot.sample.boxes = [
        Box(round(row / 8, 4), round(col / 5, 4), round((row + 1) / 8, 4),
            round((col + 1) / 5, 4), 1, b.classes[0])
        for row in range(8) for col in range(5)]
    _rewrite(slot)
    b.plant_in("crowded_image", slot)


def _small_squares_of_class_1(b: Builder) -> None:
    """Make every box of class 1 a small square (three in each record, so that the class has
    enough boxes to judge), but in records another defect was planted in."""
    name = b.classes[0]
    taken = {(p.file, p.record) for p in b.planted}
    for slot in _slots(b, "train") + _slots(b, "eval"):
        if (str(b.path(slot.file)), slot.index) in taken:
            continue
        kept = [box for box in slot.sample.boxes if box.label != 1]
        slot.sample.boxes = kept + [Box(0.1 + 0.2 * i, 0.1 + 0.2 * i, 0.2 + 0.2 * i,
                                        0.2 + 0.2 * i, 1, name) for i in range(3)]
        _rewrite(slot)


@defect("box_size_outlier", Stage.FEATURES)
def box_size_outlier(b: Builder) -> None:
    """Class 1 small squares, and one train record's first box nearly the whole image: 81x
    the class's usual area (a label on the wrong object)."""
    _small_squares_of_class_1(b)
    slot = b.pick("train")
    slot.sample.boxes[0] = Box(0.05, 0.05, 0.95, 0.95, 1, b.classes[0])
    _rewrite(slot)
    b.plant_in("box_size_outlier", slot)


@defect("box_shape_outlier", Stage.FEATURES)
def box_shape_outlier(b: Builder) -> None:
    """Class 1 small squares, and one train record's first box a strip 16x wider than tall
    (as when a record's x and y were swapped on a tall box): 4x the squares' area (under
    D018's limit) and over 2 pixels high (no B008)."""
    _small_squares_of_class_1(b)
    slot = b.pick("train")
    slot.sample.boxes[0] = Box(0.05, 0.1, 0.1, 0.9, 1, b.classes[0])
    _rewrite(slot)
    b.plant_in("box_shape_outlier", slot)


def _project_file(b: Builder, text: str, name: str) -> None:
    """Write a project file beside the config (``check`` finds it; ``scan`` is given it)."""
    from tfod_doctor.config.project import read_project_file

    path = b.path(PROJECT_FILE)
    path.write_text(text, encoding="utf-8")
    b.scan_options["project"] = read_project_file(path)
    b.scan_splits = True
    b.plant(name)


@defect("expected_class_absent", Stage.CONFIG)
def expected_class_absent(b: Builder) -> None:
    """A project file beside the config expecting a class the data does not have."""
    names = ", ".join(f'"{name}"' for name in [*b.classes, "helmet"])
    _project_file(b, f"[expect]\nclasses = [{names}]\n", "expected_class_absent")


@defect("image_size_unexpected", Stage.CONFIG)
def image_size_unexpected(b: Builder) -> None:
    """A project file beside the config expecting larger images than the data has."""
    _project_file(b, "[expect]\nmin-image-size = [320, 240]\n", "image_size_unexpected")


@defect("boxes_above_expected", Stage.CONFIG)
def boxes_above_expected(b: Builder) -> None:
    """A project file beside the config expecting at most one box per image."""
    _project_file(b, "[expect]\nmax-boxes-per-image = 1\n", "boxes_above_expected")


@defect("near_duplicate_across_splits", Stage.FEATURES)
def near_duplicate_across_splits(b: Builder) -> None:
    """Give a train record a photo (JPEG quality 95) and an eval record the same photo at half
    the size and quality 60 (check with ``near_duplicates=True``)."""
    b.scan_splits = True
    b.check_options["near_duplicates"] = True
    photo = draw_scene(256, 192, seed=17)
    for slot, image, quality in ((b.pick("train"), photo, 95),
                                 (b.pick("eval"), photo.resize((128, 96)), 60)):
        sample = slot.sample
        sample.width, sample.height = image.size
        sample.image, sample.format = encode_image(image, "jpeg", quality=quality), "jpeg"
        _rewrite(slot)
    b.plant_in("near_duplicate_across_splits", slot, key="image/encoded")
