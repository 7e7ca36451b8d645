"""Dataset statistics for reports and plots, and the rules that need them (D005-D007).

``finish`` writes, into ``report.stats``: ``classes`` (per class id and name: boxes and images),
``boxes_per_image``, ``box_sizes`` (sqrt of normalized area, 20 bins over [0, 1]),
``box_aspect`` (log2 of width/height in pixels, 20 bins over [-4, 4]), ``image_sizes`` and
``image_formats`` (from the bytes). States are small: counters bounded by the number of
classes, box counts and image sizes (each capped), and two fixed histograms.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

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
        "image_sizes": Counter(),
        "formats": Counter(),
    }


def _class_keys(record: ODRecord, ctx: CheckContext) -> list[ClassKey]:
    classes = box_classes(record, ctx)
    table = ctx.label_map
    if classes.names is not None:
        ids = classes.ids or [None] * len(classes.names)
        return [(class_id if class_id not in (None, -1) else None, name)
                for class_id, name in zip(ids, classes.names, strict=True)]
    names = table.ids if table is not None else {}
    return [(class_id, names.get(class_id)) for class_id in classes.ids or ()]


def _box_shapes(state: dict[str, Any], record: ODRecord, size: tuple[int, int] | None) -> None:
    """Fold the record's box sizes and aspect ratios into the two histograms."""
    width, height = size if size else (1, 1)
    sizes, aspects = state["sizes"], state["aspects"]
    top, span = BINS - 1, 2 * ASPECT_RANGE
    for ymin, xmin, ymax, xmax in zip(*record.boxes, strict=True):
        dy, dx = ymax - ymin, xmax - xmin
        if not (math.isfinite(dy) and math.isfinite(dx)):
            continue
        if dy > 0 and dx > 0:
            sizes[min(int(min(math.sqrt(dy * dx), 1.0) * BINS), top)] += 1
            ratio = math.log2((dx * width) / (dy * height))
            aspects[min(int((min(max(ratio, -ASPECT_RANGE), ASPECT_RANGE) + ASPECT_RANGE)
                            / span * BINS), top)] += 1
        else:
            sizes[0] += 1


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
            if info.size is not None:
                _count_capped(state["image_sizes"], f"{info.width}x{info.height}", 1, MAX_SIZES,
                              OTHER_SIZE)
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
