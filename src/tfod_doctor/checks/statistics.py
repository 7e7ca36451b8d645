"""Dataset statistics for reports and plots, and the rules that need them (D005-D007).

``finish`` writes, into ``report.stats``: ``classes`` (per class id and name: boxes and images),
``boxes_per_image``, ``box_sizes`` (sqrt of normalized area, 20 bins over [0, 1]),
``box_aspect`` (log2 of width/height in pixels, 20 bins over [-4, 4]), ``image_sizes`` and
``image_formats`` (from the bytes). States are small: counters bounded by the number of
classes, box counts and image sizes (each capped), two fixed histograms, and the boxes queued
for them (binned in bulk every few thousand boxes).
"""

from __future__ import annotations

import math
import operator
from array import array
from collections import Counter
from collections.abc import Iterable
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
#: Queued boxes are binned once this many, or this many image sizes, have gathered.
_QUEUED_BOXES = 8192
_QUEUED_SIZES = 256

ClassKey = tuple[int | None, str | None]


def _new_state() -> dict[str, Any]:
    return {
        "records": 0,
        "boxes": 0,
        "classes": {},
        "seen_ids": {},
        "per_image": Counter(),
        "sizes": [0] * BINS,
        "aspects": [0] * BINS,
        #: Box heights and widths not binned yet, by image size (see :func:`_bin_queued`).
        "pending": {},
        "queued": 0,
        "image_sizes": Counter(),
        "formats": Counter(),
    }


def _class_keys(record: ODRecord, ctx: CheckContext) -> Iterable[ClassKey]:
    """``(id, name)`` of every box: ids unknown (``-1``, or no label map) are ``None``."""
    classes = box_classes(record, ctx)
    if classes.names is not None:
        ids = classes.ids
        if ids is None:
            ids = [None] * len(classes.names)
        elif -1 in ids:
            ids = [None if class_id == -1 else class_id for class_id in ids]
        return zip(ids, classes.names, strict=True)
    ids = classes.ids or ()
    names = ctx.label_map.ids if ctx.label_map is not None else {}
    return zip(ids, map(names.get, ids), strict=True)


def _box_shapes(state: dict[str, Any], record: ODRecord, size: tuple[int, int] | None) -> None:
    """Queue the record's box heights and widths for the two histograms (binned in bulk)."""
    ymin, xmin, ymax, xmax = record.boxes
    group = state["pending"].get(size)
    if group is None:
        group = state["pending"][size] = (array("d"), array("d"))
    group[0].extend(map(operator.sub, ymax, ymin))
    group[1].extend(map(operator.sub, xmax, xmin))
    state["queued"] += len(ymin)
    if state["queued"] >= _QUEUED_BOXES or len(state["pending"]) >= _QUEUED_SIZES:
        _bin_queued(state)


def _bin_queued(state: dict[str, Any]) -> None:
    """Fold the queued boxes into the histograms.

    Box by box, a box of finite height ``dy`` and width ``dx`` (normalized) falls in size bin
    ``int(min(sqrt(dy·dx), 1)·BINS)`` and aspect bin ``int((clip(log2(dx·w / (dy·h))) + R) / 2R
    · BINS)`` (both at most the last bin); a box that is not positive both ways counts in size
    bin 0. numpy does the same IEEE arithmetic on all of them at once, and ``math.log2`` the
    logarithms, so the bins are exactly those of the per-box formulas.
    """
    sizes, aspects = state["sizes"], state["aspects"]
    for size, (heights, widths) in state["pending"].items():
        width, height = size if size else (1, 1)
        dy, dx = np.frombuffer(heights), np.frombuffer(widths)
        finite = np.isfinite(dy) & np.isfinite(dx)
        proper = finite & (dy > 0) & (dx > 0)
        sizes[0] += int(np.count_nonzero(finite & ~proper))
        dy, dx = dy[proper], dx[proper]
        _add_counts(sizes, (np.minimum(np.sqrt(dy * dx), 1.0) * BINS).astype(np.int64))
        ratios = ((dx * width) / (dy * height)).tolist()
        logs = np.fromiter(map(math.log2, ratios), dtype=np.float64, count=len(ratios))
        clipped = np.minimum(np.maximum(logs, -ASPECT_RANGE), ASPECT_RANGE)
        _add_counts(aspects,
                    ((clipped + ASPECT_RANGE) / (2 * ASPECT_RANGE) * BINS).astype(np.int64))
    state["pending"], state["queued"] = {}, 0


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


class Statistics:
    """Class, box and image statistics; D005 unused classes, D006 empty dataset, D007 no boxes."""

    name = "statistics"

    def new(self) -> dict[str, Any]:
        return _new_state()

    def add(self, state: dict[str, Any], view: FeatureView, where: RecordPlace,
            ctx: CheckContext) -> None:
        record = od_record(view)
        state["records"] += 1
        state["per_image"][record.n_boxes] += 1
        info = record.image_info(ctx.deep) if record.image else None
        if info is None:
            state["formats"]["none"] += 1
        else:
            state["formats"][info.format or "unknown"] += 1
            if info.width is not None and info.height is not None:
                image_sizes, size = state["image_sizes"], f"{info.width}x{info.height}"
                if size in image_sizes:
                    image_sizes[size] += 1
                else:
                    _count_capped(image_sizes, size, 1, MAX_SIZES, OTHER_SIZE)
        if not record.n_boxes or not record.box_kinds_ok or not record.lists_agree:
            return
        state["boxes"] += record.n_boxes
        _box_shapes(state, record, record.image_size(ctx.deep))
        tally: dict[ClassKey, int] = {}
        for key in _class_keys(record, ctx):
            tally[key] = tally.get(key, 0) + 1
        classes = state["classes"]
        seen = state["seen_ids"].setdefault(where.role, set())
        for key, boxes in tally.items():
            entry = classes.get(key)
            if entry is None:
                _count_capped(classes, key, [boxes, 1], MAX_CLASSES, OTHER_CLASS)
            else:
                entry[0] += boxes
                entry[1] += 1
            if key[0] is not None:
                seen.add(key[0])

    def merge(self, left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
        _bin_queued(left)
        _bin_queued(right)
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
        _bin_queued(state)
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
