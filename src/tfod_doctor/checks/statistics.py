"""Dataset statistics for reports and plots, and the rules that need them (D005-D007).

``finish`` writes, into ``report.stats``: ``classes`` (per class id and name: boxes and images),
``boxes_per_image``, ``box_sizes`` (sqrt of normalized area, 20 bins over [0, 1]),
``box_aspect`` (log2 of width/height in pixels, 20 bins over [-4, 4]), ``image_sizes`` and
``image_formats`` (from the bytes). States are small: counters bounded by the number of
classes, box counts and image sizes (each capped), two fixed histograms, and what records
gathered since the last fold (the boxes binned in bulk every few thousand boxes).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from tfod_doctor.catalogue import dataset as D
from tfod_doctor.checks._od import box_classes, od_record
from tfod_doctor.checks.base import RecordPlace, aggregator
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.findings import Finding, Location
from tfod_doctor.odapi.record import ODRecord
from tfod_doctor.records import FeatureView

BINS = 20
ASPECT_RANGE = 4.0
#: At most this many distinct classes and image sizes are kept; the rest are counted as other.
MAX_CLASSES = 4096
MAX_SIZES = 1024
OTHER_CLASS = (None, "(other)")
OTHER_SIZE = "other"
#: Records are gathered (see :class:`Statistics`) until this many boxes, image sizes, kinds of
#: image or sets of classes have, then folded into the counts.
_QUEUED_BOXES = 8192
_QUEUED_SIZES = 256
_QUEUED_IMAGE_KEYS = 1024
_QUEUED_CLASS_SETS = 4096

ClassKey = tuple[int | None, str | None]
#: What the statistics need of a record's image: ``(boxes, format, width, height)``.
ImageKey = tuple[int, str, int | None, int | None]
#: The classes of a record's boxes, with its split: ``(role, ids, names)``; the names are
#: ``None`` when they follow from the ids through the label map.
ClassSet = tuple[str | None, tuple, tuple | None]


def _new_state() -> dict[str, Any]:
    return {
        "records": 0,
        "boxes": 0,
        "classes": {},
        "seen_ids": {},
        "per_image": Counter(),
        "sizes": [0] * BINS,
        "aspects": [0] * BINS,
        "image_sizes": Counter(),
        "formats": Counter(),
        # Gathered record by record, folded into the counts above by :func:`_flush`:
        #: Records per :data:`ImageKey`.
        "images": {},
        #: Per image size: the ``ymin, xmin, ymax, xmax`` of the boxes not binned yet.
        "pending": {},
        "queued": 0,
        #: Per :data:`ClassSet`: ``[records, ((role, id, name), boxes)...]``.
        "class_sets": {},
    }


def _class_set(record: ODRecord, ctx: CheckContext, role: str | None) -> ClassSet:
    classes = box_classes(record, ctx)
    names = classes.names
    ids = classes.ids
    if names is None:
        return (role, tuple(ids or ()), None)
    return (role, None if ids is None else tuple(ids), tuple(names))


def _tally(class_set: ClassSet, ctx: CheckContext) -> tuple[tuple[tuple, int], ...]:
    """``((role, id, name), boxes)`` per class of a :data:`ClassSet`, in the order they come:
    ids unknown (``-1``, or no label map) are ``None``."""
    role, ids, names = class_set
    if names is None:
        table = ctx.label_map.ids if ctx.label_map is not None else {}
        keys = zip(ids, map(table.get, ids), strict=True)
    elif ids is None:
        keys = ((None, name) for name in names)
    else:
        keys = zip([None if class_id == -1 else class_id for class_id in ids], names,
                   strict=True)
    return tuple(((role, *key), boxes) for key, boxes in Counter(keys).items())


def _flush(state: dict[str, Any]) -> None:
    """Fold everything gathered record by record into the counts."""
    _fold_images(state)
    _fold_classes(state)
    _bin_boxes(state)


def _fold_images(state: dict[str, Any]) -> None:
    per_image, formats, image_sizes = state["per_image"], state["formats"], state["image_sizes"]
    for (boxes, image_format, width, height), count in state["images"].items():
        state["records"] += count
        per_image[boxes] += count
        formats[image_format] += count
        if width is not None and height is not None:
            _count_capped(image_sizes, f"{width}x{height}", count, MAX_SIZES, OTHER_SIZE)
    state["images"] = {}


def _fold_classes(state: dict[str, Any]) -> None:
    """Boxes and images per class, in the order the classes came (so the capped counter keeps
    the same classes as when counted record by record); every split with boxes gets a (maybe
    empty) set of ids."""
    classes, seen = state["classes"], state["seen_ids"]
    for (role, _, _), (records, *tally) in state["class_sets"].items():
        ids = seen.setdefault(role, set())
        for (_, class_id, name), boxes in tally:
            _count_capped(classes, (class_id, name), [boxes * records, records], MAX_CLASSES,
                          OTHER_CLASS)
            if class_id is not None:
                ids.add(class_id)
    state["class_sets"] = {}


def _bin_boxes(state: dict[str, Any]) -> None:
    """Fold the queued boxes into the histograms.

    Box by box, a box of finite height ``dy`` and width ``dx`` (normalized) falls in size bin
    ``int(min(sqrt(dy·dx), 1)·BINS)`` and aspect bin ``int((clip(log2(dx·w / (dy·h))) + R) / 2R
    · BINS)`` (both at most the last bin); a box that is not positive both ways counts in size
    bin 0. numpy does the same IEEE arithmetic on all of them at once, so the bins are exactly
    those of the per-box formulas (for the logarithm, see :func:`_aspect_bins`).
    """
    for size, coordinates in state["pending"].items():
        width, height = size if size else (1, 1)
        ymin, xmin, ymax, xmax = map(np.array, coordinates)
        state["boxes"] += len(ymin)
        dy, dx = ymax - ymin, xmax - xmin
        finite = np.isfinite(dy) & np.isfinite(dx)
        proper = finite & (dy > 0) & (dx > 0)
        state["sizes"][0] += int(np.count_nonzero(finite & ~proper))
        dy, dx = dy[proper], dx[proper]
        _add_counts(state["sizes"], (np.minimum(np.sqrt(dy * dx), 1.0) * BINS).astype(np.int64))
        _add_counts(state["aspects"], _aspect_bins((dx * width) / (dy * height)))
    state["pending"], state["queued"] = {}, 0


#: numpy's log2 is trusted this far from a bin edge; nearer, ``math.log2`` decides.
_LOG_MARGIN = 1e-9


def _aspect_bins(ratios: np.ndarray) -> np.ndarray:
    """The aspect bin of each ratio, as ``math.log2`` puts it.

    ``np.log2`` may differ from ``math.log2`` in the last bits, which matters only next to a
    bin edge: ratios whose logarithm is that near one (or that are not positive and finite,
    where ``math.log2`` has its own say) are worked out with ``math.log2``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log2(ratios)
    bins = _bins_of(logs)
    unsure = (_bins_of(logs - _LOG_MARGIN) != _bins_of(logs + _LOG_MARGIN)) | ~(
        np.isfinite(ratios) & (ratios > 0))
    if unsure.any():
        exact = np.fromiter(map(math.log2, ratios[unsure].tolist()), dtype=np.float64)
        bins[unsure] = _bins_of(exact)
    return bins


def _bins_of(logs: np.ndarray) -> np.ndarray:
    clipped = np.minimum(np.maximum(logs, -ASPECT_RANGE), ASPECT_RANGE)
    return ((clipped + ASPECT_RANGE) / (2 * ASPECT_RANGE) * BINS).astype(np.int64)


def _add_counts(histogram: list[int], bins: np.ndarray) -> None:
    counts = np.bincount(np.minimum(bins, BINS - 1), minlength=BINS)
    for i, count in enumerate(counts.tolist()):
        histogram[i] += count


def _count_capped(counter: dict, key: Any, amount: Any, cap: int, other: Any) -> None:
    if key not in counter and len(counter) >= cap:
        key = other
    if isinstance(amount, list):
        entry = counter.setdefault(key, [0, 0])
        entry[0] += amount[0]
        entry[1] += amount[1]
    else:
        counter[key] = counter.get(key, 0) + amount


def _queue(state: dict[str, Any], record: ODRecord, image: ImageKey, role: str | None,
           ctx: CheckContext) -> None:
    """Gather the boxes and classes of a record for the next fold."""
    width, height = image[2], image[3]
    size = ((width, height) if width is not None and height is not None
            else record.image_size(ctx.deep))
    pending = state["pending"]
    coordinates = pending.get(size)
    if coordinates is None:
        coordinates = pending[size] = ([], [], [], [])
    ymins, xmins, ymaxs, xmaxs = coordinates
    ymin, xmin, ymax, xmax = record.boxes
    ymins += ymin
    xmins += xmin
    ymaxs += ymax
    xmaxs += xmax
    state["queued"] += record.n_boxes
    if state["queued"] >= _QUEUED_BOXES or len(pending) >= _QUEUED_SIZES:
        _bin_boxes(state)
    class_sets = state["class_sets"]
    class_set = _class_set(record, ctx, role)
    entry = class_sets.get(class_set)
    if entry is not None:
        entry[0] += 1
    else:
        class_sets[class_set] = [1, *_tally(class_set, ctx)]
        if len(class_sets) >= _QUEUED_CLASS_SETS:
            _fold_classes(state)


def _image_key(record: ODRecord, ctx: CheckContext) -> ImageKey:
    if not record.image:
        return (record.n_boxes, "none", None, None)
    info = record.image_info(ctx.deep)
    return (record.n_boxes, info.format or "unknown", info.width, info.height)


class Statistics:
    """Class, box and image statistics; D005 unused classes, D006 empty dataset, D007 no boxes.

    ``add`` only gathers: records by :data:`ImageKey` and by :data:`ClassSet` (most records
    share a few), and box coordinates by image size; that is folded into the counts in bulk
    when enough has gathered, on merge and on finish.
    """

    name = "statistics"

    def new(self) -> dict[str, Any]:
        return _new_state()

    def add(self, state: dict[str, Any], view: FeatureView, where: RecordPlace,
            ctx: CheckContext) -> None:
        record = od_record(view)
        image = _image_key(record, ctx)
        images = state["images"]
        count = images.get(image)
        if count is not None:
            images[image] = count + 1
        else:
            images[image] = 1
            if len(images) >= _QUEUED_IMAGE_KEYS:
                _fold_images(state)
        if not record.n_boxes or not record.box_kinds_ok or not record.lists_agree:
            return
        _queue(state, record, image, where.role, ctx)

    def merge(self, left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
        _flush(left)
        _flush(right)
        left["records"] += right["records"]
        left["boxes"] += right["boxes"]
        for key, value in right["classes"].items():
            _count_capped(left["classes"], key, value, MAX_CLASSES, OTHER_CLASS)
        for role, ids in right["seen_ids"].items():
            left["seen_ids"].setdefault(role, set()).update(ids)
        left["per_image"].update(right["per_image"])
        left["sizes"] = [a + b for a, b in zip(left["sizes"], right["sizes"], strict=True)]
        left["aspects"] = [a + b for a, b in zip(left["aspects"], right["aspects"], strict=True)]
        for key, count in right["image_sizes"].items():
            _count_capped(left["image_sizes"], key, count, MAX_SIZES, OTHER_SIZE)
        left["formats"].update(right["formats"])
        return left

    def finish(self, state: dict[str, Any], ctx: CheckContext) -> tuple[list[Finding], dict]:
        _flush(state)
        return _findings(state, ctx), _stats(state, ctx)


def _stats(state: dict[str, Any], ctx: CheckContext) -> dict[str, Any]:
    classes = dict(state["classes"])
    if ctx.label_map is not None:
        seen_ids = {class_id for class_id, _ in classes}
        for class_id, name in ctx.label_map.ids.items():
            if class_id not in seen_ids and class_id > 0:
                classes[(class_id, name)] = [0, 0]
    rows = [{"id": class_id, "name": name, "boxes": boxes, "images": images}
            for (class_id, name), (boxes, images) in classes.items()]
    rows.sort(key=lambda r: (r["id"] is None, r["id"] or 0, r["name"] or ""))
    return {
        "classes": rows,
        "boxes_per_image": {str(n): count for n, count in sorted(state["per_image"].items())},
        "box_sizes": {"edges": [round(i / BINS, 4) for i in range(BINS + 1)],
                      "counts": list(state["sizes"])},
        "box_aspect": {"edges": [round(-ASPECT_RANGE + 2 * ASPECT_RANGE * i / BINS, 4)
                                 for i in range(BINS + 1)],
                       "counts": list(state["aspects"])},
        "image_sizes": dict(sorted(state["image_sizes"].items(), key=lambda kv: (-kv[1], kv[0]))),
        "image_formats": dict(sorted(state["formats"].items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def empty_dataset_finding() -> Finding:
    """D006, which the engine emits when files were opened but held no readable Example (when
    no file could be opened at all, the input findings already say so)."""
    return D.EMPTY_DATASET.finding("no tf.train.Example could be read from the inputs: there is "
                                   "nothing to train on")


def _findings(state: dict[str, Any], ctx: CheckContext) -> list[Finding]:
    if not state["records"]:
        return []
    if not state["boxes"]:
        return [D.NO_BOXES.finding(f"none of the {state['records']} records has a box",
                                   records=state["records"])]
    table = ctx.label_map
    if table is None:
        return []
    seen = state["seen_ids"]
    split = "train" if "train" in seen else None
    ids = seen.get("train") if split else set().union(*seen.values())
    where = "in the train split" if split else "in the records"
    return [
        D.UNUSED_CLASS.finding(
            f"label-map class {class_id} ({name!r}) has no box {where}: the model never learns "
            "it", Location(file=table.path), id=class_id, name=name)
        for class_id, name in sorted(table.ids.items()) if class_id > 0 and class_id not in ids
    ]


aggregator(Statistics())
