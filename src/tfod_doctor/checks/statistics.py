"""Dataset statistics for reports and plots, and the rules that need them (D005-D007, D018, D019).

``finish`` writes, into ``report.stats``: ``classes`` (per class id and name: boxes and images),
``boxes_per_image``, ``box_sizes`` (sqrt of normalized area, 20 bins over [0, 1]),
``box_aspect`` (log2 of width/height in pixels, 20 bins over [-4, 4]), ``image_sizes``,
``image_formats`` (from the bytes), ``by_split`` and ``class_stats``
(:mod:`~tfod_doctor.checks.class_stats`); for ``check`` it also keeps the box sample of
:mod:`~tfod_doctor.checks.box_sample` in its state. States are small: counters bounded by the
number of classes, box counts and image sizes (each capped), fixed histograms, and what records
gathered since the last fold: records by :data:`RecordKey`, and their boxes in a
:class:`~tfod_doctor.checks.box_batch.BoxQueue`, folded in bulk every few thousand boxes.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from tfod_doctor.catalogue import dataset as D
from tfod_doctor.checks import box_sample, class_stats
from tfod_doctor.checks._od import EVIDENCE_ITEMS, box_classes, od_record
from tfod_doctor.checks.base import RecordPlace, aggregator
from tfod_doctor.checks.box_batch import (
    MAX_CLASSES,
    OTHER_CLASS,
    QUEUED_BOXES,
    BoxBatch,
    distinct,
    merge_queues,
    new_queue,
    queue_record,
    take_batch,
)
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.checks.quality import quality_findings
from tfod_doctor.findings import Finding, Location, Severity
from tfod_doctor.odapi.official_maps import official_map
from tfod_doctor.odapi.record import ODRecord
from tfod_doctor.records import FeatureView

BINS = 20
ASPECT_RANGE = 4.0
#: At most this many distinct image sizes are kept; the rest are counted as other.
MAX_SIZES = 1024
OTHER_SIZE = "other"
#: Records are gathered (see :class:`Statistics`) until this many image sizes or
#: :data:`RecordKey` have, then folded into the counts.
_QUEUED_SIZES = 256
_QUEUED_RECORD_KEYS = 4096

#: What the statistics count a record by: ``(boxes, image format, width, height, whether its
#: boxes count)``.
RecordKey = tuple[int, str, int | None, int | None, bool]


def _new_state(role: str | None, ctx: CheckContext, sample: bool = True) -> dict[str, Any]:
    return {
        "role": role,
        "records": 0,
        "boxes": 0,
        "classes": {},
        "seen_ids": {},
        "per_image": Counter(),
        "sizes": [0] * BINS,
        "aspects": [0] * BINS,
        "image_sizes": Counter(),
        "formats": Counter(),
        #: Per class: the statistics of :mod:`~tfod_doctor.checks.class_stats`.
        "per_class": {},
        "tiny_pixels": ctx.quality.tiny_box_pixels,
        #: The box sample (``check`` only), else ``None``.
        "sample": box_sample.new_sample() if sample and ctx.sample_boxes else None,
        # Gathered record by record, folded into the counts above by :func:`_flush`:
        #: Per :data:`RecordKey`: how many records.
        "gathered": {},
        "queue": new_queue(ctx.label_map.ids if ctx.label_map is not None else None),
        #: ``("size", "WxH")`` / ``("boxes", n)`` -> the first record (file, index, offset)
        #: with that image size or box count, for the outlier findings to point at.
        "first": {},
    }


def _record_key(record: ODRecord, ctx: CheckContext, boxes_count: bool) -> RecordKey:
    if record.image:
        info = record.image_info(ctx.deep)
        return (record.n_boxes, info.format or "unknown", info.width, info.height, boxes_count)
    return (record.n_boxes, "none", None, None, boxes_count)


def _flush(state: dict[str, Any]) -> None:
    """Fold everything gathered record by record into the counts."""
    _fold_gathered(state)
    _fold_boxes(state)


def _fold_gathered(state: dict[str, Any]) -> None:
    """Count the gathered records, in the order they came (so the capped counters keep the
    same entries as when counted record by record)."""
    per_image, formats, image_sizes = state["per_image"], state["formats"], state["image_sizes"]
    for (boxes, image_format, width, height, _), count in state["gathered"].items():
        state["records"] += count
        per_image[boxes] += count
        formats[image_format] += count
        if width is not None and height is not None:
            _count_capped(image_sizes, f"{width}x{height}", count, MAX_SIZES, OTHER_SIZE)
    state["gathered"] = {}


def _fold_boxes(state: dict[str, Any]) -> None:
    """Fold the queued boxes into every count made of them."""
    batch = take_batch(state["queue"])
    if batch is None:
        return
    _count_classes(state, batch)
    _bin_boxes(state, batch)
    class_stats.fold(state["per_class"], batch, state["tiny_pixels"])
    if state["sample"] is not None:
        box_sample.fold(state["sample"], batch, train=state["role"] == "train")


def _count_classes(state: dict[str, Any], batch: BoxBatch) -> None:
    """Boxes and images per class, in the order the classes came; the split's class ids (a
    split with boxes that count has a set of them, maybe empty)."""
    n = len(batch.classes)
    boxes = np.bincount(batch.codes, minlength=n).tolist()
    images = np.bincount(distinct(batch.label_owner * n + batch.codes) % n,
                         minlength=n).tolist()
    classes = state["classes"]
    ids = state["seen_ids"].setdefault(state["role"], set())
    for key, class_boxes, class_images in zip(batch.classes, boxes, images, strict=True):
        _count_capped(classes, key, [class_boxes, class_images], MAX_CLASSES, OTHER_CLASS)
        if key[0] is not None:
            ids.add(key[0])


def _bin_boxes(state: dict[str, Any], batch: BoxBatch) -> None:
    """Fold the boxes into the histograms.

    Box by box, a box of finite height ``dy`` and width ``dx`` (normalized) falls in size bin
    ``int(min(sqrt(dy·dx), 1)·BINS)`` and aspect bin ``int((clip(log2(dx·w / (dy·h))) + R) / 2R
    · BINS)`` (both at most the last bin; ``w = h = 1`` when the image size is unknown or not
    positive); a box that is not positive both ways counts in size bin 0. numpy does the same
    IEEE arithmetic on all of them at once, so the bins are exactly those of the per-box
    formulas (for the logarithm, see :func:`_aspect_bins`).
    """
    sized = (batch.width > 0) & (batch.height > 0)
    width, height = np.where(sized, batch.width, 1.0), np.where(sized, batch.height, 1.0)
    state["boxes"] += len(batch)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: not finite, counted
        dy, dx = batch.ymax - batch.ymin, batch.xmax - batch.xmin
    finite = np.isfinite(dy) & np.isfinite(dx)
    proper = finite & (dy > 0) & (dx > 0)
    state["sizes"][0] += int(np.count_nonzero(finite & ~proper))
    dy, dx = dy[proper], dx[proper]
    _add_counts(state["sizes"], (np.minimum(np.sqrt(dy * dx), 1.0) * BINS).astype(np.int64))
    with np.errstate(over="ignore"):
        ratios = (dx * width[proper]) / (dy * height[proper])
    _add_counts(state["aspects"], _aspect_bins(ratios))


#: numpy's log2 is trusted this far from a bin edge; nearer, ``math.log2`` decides.
_LOG_MARGIN = 1e-9


def _aspect_bins(ratios: np.ndarray) -> np.ndarray:
    """The aspect bin of each ratio, as ``math.log2`` puts it.

    ``np.log2`` may differ from ``math.log2`` in the last bits, which matters only next to a
    bin edge: ratios whose logarithm is that near one (or that are not positive and finite,
    where ``math.log2`` has its own say) are worked out with ``math.log2``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # math.log2 has the last word there
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


class Statistics:
    """Class, box and image statistics; D005 unused classes, D006 empty dataset, D007 no boxes,
    D018 and D019 box size and shape outliers (and the quality rules of
    :mod:`~tfod_doctor.checks.quality`).

    ``add`` only gathers: records by :data:`RecordKey` (most records share a few), and boxes
    in a queue; that is folded into the counts in bulk when enough has gathered, on merge and
    on finish.
    """

    name = "statistics"

    def new(self) -> dict[str, Any]:
        """``splits``: split (``train``, ``eval``, ``None`` when unknown) -> its statistics;
        ``sample``: the box sample, once finished."""
        return {"splits": {}, "sample": None}

    def add(self, state: dict[str, Any], view: FeatureView, where: RecordPlace,
            ctx: CheckContext) -> None:
        splits = state["splits"]
        split = splits.get(where.role)
        if split is None:
            split = splits[where.role] = _new_state(where.role, ctx)
        record = od_record(view)
        boxes_count = bool(record.n_boxes and record.box_kinds_ok and record.lists_agree)
        key = _record_key(record, ctx, boxes_count)
        gathered = split["gathered"]
        count = gathered.get(key)
        if count is not None:
            gathered[key] = count + 1
        else:
            gathered[key] = 1
            _first_place(split["first"], key, where)
            if len(gathered) >= _QUEUED_RECORD_KEYS:
                _fold_gathered(split)
        if boxes_count:
            size = (key[2], key[3]) if key[2] is not None and key[3] is not None else (
                record.image_size(ctx.deep))
            if queue_record(split["queue"], record, box_classes(record, ctx), where, size):
                _fold_boxes(split)

    def merge(self, left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
        splits = left["splits"]
        for role, split in right["splits"].items():
            splits[role] = _merge(splits[role], split) if role in splits else split
        return left

    def compact(self, state: dict[str, Any]) -> None:
        """Fold everything gathered (a worker does, before it sends its state)."""
        for split in state["splits"].values():
            _flush(split)
            if split["sample"] is not None:
                box_sample.compact(split["sample"])

    def finish(self, state: dict[str, Any], ctx: CheckContext) -> tuple[list[Finding], dict]:
        splits = state["splits"]
        for split in splits.values():
            _flush(split)
        total = _new_state(None, ctx, sample=False)
        for split in splits.values():
            _merge(total, {**split, "sample": None})  # flushed: nothing of it is taken over
        stats = _stats(total, ctx)
        named = {role: split for role, split in splits.items() if role is not None}
        if named:
            stats["by_split"] = {role: {"records": split["records"], "boxes": split["boxes"],
                                        **_stats(split, ctx, with_unseen=False)}
                                 for role, split in sorted(named.items())}
        per_class = {role: split["per_class"] for role, split in splits.items()
                     if split["per_class"]}
        if per_class:
            stats["class_stats"] = class_stats.section(per_class)
        parts = [split["sample"] for split in splits.values() if split["sample"] is not None]
        state["sample"] = box_sample.finish(parts) if parts else None
        findings = (_findings(total, ctx) + quality_findings(stats, ctx, total["first"])
                    + class_stats.outliers(total["per_class"], ctx))
        return findings, stats


def _first_place(first: dict[tuple, tuple], key: RecordKey, where: RecordPlace) -> None:
    """Remember where the first record of a new image size and box count is (a record key
    is new at most once per fold, so this is rare)."""
    place = (where.file, where.index, where.offset)
    for what in (("boxes", key[0]), ("size", f"{key[2]}x{key[3]}")):
        if len(first) < 2 * MAX_SIZES and (what not in first or place < first[what]):
            first[what] = place


def _merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """Fold the statistics of ``right`` into ``left`` (in place); returns ``left``."""
    _fold_gathered(left)
    _fold_gathered(right)
    merge_queues(left["queue"], right["queue"])
    if left["queue"].boxes >= QUEUED_BOXES:
        _fold_boxes(left)
    for what, place in right["first"].items():
        if what not in left["first"] or place < left["first"][what]:
            left["first"][what] = place
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
    class_stats.merge(left["per_class"], right["per_class"])
    if left["sample"] is not None and right["sample"] is not None:
        box_sample.merge(left["sample"], right["sample"])
    return left


def _stats(state: dict[str, Any], ctx: CheckContext, with_unseen: bool = True
           ) -> dict[str, Any]:
    classes = dict(state["classes"])
    if ctx.label_map is not None and with_unseen:
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
    unused = [(class_id, name) for class_id, name in sorted(table.ids.items())
              if class_id > 0 and class_id not in ids]
    official = official_map(table.ids, {class_id: name for name, class_id in table.names.items()})
    if official is not None and unused:
        return [_subset_of_official(official, unused, len(table.ids), where, table.path)]
    return [
        D.UNUSED_CLASS.finding(
            f"label-map class {class_id} ({name!r}) has no box {where}: the model never learns "
            "it", Location(file=table.path), id=class_id, name=name)
        for class_id, name in unused
    ]


def _subset_of_official(official: str, unused: list[tuple[int, str]], classes: int, where: str,
                        path: str | None) -> Finding:
    """D005 once, as information, for a dataset that uses some classes of an official map."""
    shown = ", ".join(f"{class_id} {name!r}" for class_id, name in unused[:EVIDENCE_ITEMS])
    more = f" and {len(unused) - EVIDENCE_ITEMS} more" if len(unused) > EVIDENCE_ITEMS else ""
    return D.UNUSED_CLASS.finding(
        f"{len(unused)} of the {classes} classes of the OD API's official {official} label map "
        f"have no box {where} ({shown}{more}): the dataset uses a subset of the official map, "
        "and the model never learns the others", Location(file=path),
        hint=f"nothing to do when that is the plan: keep the official ids (they are the ones the "
             f"{official} checkpoints were trained with); to train only your classes, write a "
             "label map of your own and set num_classes to match",
        severity=Severity.INFO, official=official, unused=[i for i, _ in unused])


aggregator(Statistics())
