"""Dataset statistics for reports and plots, and the rules that need them (D005-D007).

``finish`` writes, into ``report.stats``: ``classes`` (per class id and name: boxes and images),
``boxes_per_image``, ``box_sizes`` (sqrt of normalized area, 20 bins over [0, 1]),
``box_aspect`` (log2 of width/height in pixels, 20 bins over [-4, 4]), ``image_sizes`` and
``image_formats`` (from the bytes). States are small: counters bounded by the number of
classes, box counts and image sizes (each capped), two fixed histograms, and what records
gathered since the last fold (the boxes binned in bulk every few thousand boxes).
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from tfod_doctor.catalogue import dataset as D
from tfod_doctor.checks._od import EVIDENCE_ITEMS, box_classes, od_record
from tfod_doctor.checks.base import RecordPlace, aggregator
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.checks.quality import quality_findings
from tfod_doctor.findings import Finding, Location, Severity
from tfod_doctor.odapi.official_maps import official_map
from tfod_doctor.odapi.record import ODRecord
from tfod_doctor.records import FeatureView

BINS = 20
ASPECT_RANGE = 4.0
#: At most this many distinct classes and image sizes are kept; the rest are counted as other.
MAX_CLASSES = 4096
MAX_SIZES = 1024
OTHER_CLASS = (None, "(other)")
OTHER_SIZE = "other"
#: Records are gathered (see :class:`Statistics`) until this many boxes, image sizes or
#: :data:`RecordKey` have, then folded into the counts.
_QUEUED_BOXES = 8192
_QUEUED_SIZES = 256
_QUEUED_RECORD_KEYS = 4096

ClassKey = tuple[int | None, str | None]
#: What the statistics keep of a record: ``(boxes, image format, width, height, whether its
#: boxes count, role, class ids, class names)``. The classes come as the ids when the decoder
#: reads labels, as the names when it reads text (the ids follow from them), else ``None``.
RecordKey = tuple[int, str, int | None, int | None, bool, str | None, tuple | None,
                  tuple | None]


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
        #: Per :data:`RecordKey`: ``[records, ((id, name), boxes)...]`` (no classes
        #: when its boxes do not count).
        "gathered": {},
        #: Per image size: the ``ymin, xmin, ymax, xmax`` of the boxes not binned yet.
        "pending": {},
        "queued": 0,
        #: ``("size", "WxH")`` / ``("boxes", n)`` -> the first record (file, index, offset)
        #: with that image size or box count, for the outlier findings to point at.
        "first": {},
    }


def _record_key(record: ODRecord, ctx: CheckContext, role: str | None,
                boxes_count: bool) -> RecordKey:
    if record.image:
        info = record.image_info(ctx.deep)
        image_format, width, height = info.format or "unknown", info.width, info.height
    else:
        image_format, width, height = "none", None, None
    if not boxes_count:
        return (record.n_boxes, image_format, width, height, False, None, None, None)
    classes = box_classes(record, ctx)
    if classes.names is None:
        return (record.n_boxes, image_format, width, height, True, role,
                tuple(classes.ids or ()), None)
    return (record.n_boxes, image_format, width, height, True, role, None,
            tuple(classes.names))


def _tally(record: ODRecord, ctx: CheckContext) -> tuple[tuple[ClassKey, int], ...]:
    """``((id, name), boxes)`` per class of the record's boxes, in the order they come: ids
    unknown (``-1``, or no label map) are ``None``."""
    classes = box_classes(record, ctx)
    tally: dict[ClassKey, int] = {}
    for key in class_keys(classes.ids, classes.names, ctx):
        tally[key] = tally.get(key, 0) + 1
    return tuple(tally.items())


def class_keys(ids: Sequence[int] | None, names: Sequence[str] | None,
               ctx: CheckContext) -> Iterable[ClassKey]:
    """The ``(id, name)`` of each box, from the class ids and names the decoder resolved (see
    :func:`~tfod_doctor.checks._od.box_classes`): ids unknown (``-1``, or no label map) are
    ``None``."""
    if names is None:
        ids = ids or ()
        table = ctx.label_map.ids if ctx.label_map is not None else {}
        return zip(ids, map(table.get, ids), strict=True)
    if ids is None:
        return ((None, name) for name in names)
    return zip([None if class_id == -1 else class_id for class_id in ids], names, strict=True)


def _flush(state: dict[str, Any]) -> None:
    """Fold everything gathered record by record into the counts."""
    _fold_gathered(state)
    _bin_boxes(state)


def _fold_gathered(state: dict[str, Any]) -> None:
    """Count the gathered records, in the order they came (so the capped counters keep the
    same entries as when counted record by record); every split with boxes that count gets a
    (maybe empty) set of class ids."""
    per_image, formats, image_sizes = state["per_image"], state["formats"], state["image_sizes"]
    classes, seen = state["classes"], state["seen_ids"]
    for (boxes, image_format, width, height, counted, role, *_), (count, *tally) in (
            state["gathered"].items()):
        state["records"] += count
        per_image[boxes] += count
        formats[image_format] += count
        if width is not None and height is not None:
            _count_capped(image_sizes, f"{width}x{height}", count, MAX_SIZES, OTHER_SIZE)
        if not counted:
            continue
        ids = seen.setdefault(role, set())
        for (class_id, name), class_boxes in tally:
            _count_capped(classes, (class_id, name), [class_boxes * count, count],
                          MAX_CLASSES, OTHER_CLASS)
            if class_id is not None:
                ids.add(class_id)
    state["gathered"] = {}


def _bin_boxes(state: dict[str, Any]) -> None:
    """Fold the queued boxes into the histograms.

    Box by box, a box of finite height ``dy`` and width ``dx`` (normalized) falls in size bin
    ``int(min(sqrt(dy·dx), 1)·BINS)`` and aspect bin ``int((clip(log2(dx·w / (dy·h))) + R) / 2R
    · BINS)`` (both at most the last bin; ``w = h = 1`` when the image size is unknown); a box
    that is not positive both ways counts in size bin 0. numpy does the same IEEE arithmetic on
    all of them at once, so the bins are exactly those of the per-box formulas (for the
    logarithm, see :func:`_aspect_bins`).
    """
    for size, coordinates in state["pending"].items():
        width, height = size if size else (1, 1)
        ymin, xmin, ymax, xmax = (np.fromiter(side, np.float64, len(side))
                                  for side in coordinates)
        state["boxes"] += len(ymin)
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: not finite, counted
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


def _queue_boxes(state: dict[str, Any], record: ODRecord, key: RecordKey,
                 ctx: CheckContext) -> None:
    """Queue the box coordinates of a record, by image size, for the next binning."""
    width, height = key[2], key[3]
    size = ((width, height) if width is not None and height is not None
            else record.image_size(ctx.deep))
    if size is not None and (size[0] <= 0 or size[1] <= 0):
        size = None  # no pixel aspect without a real size (I rules report such sizes)
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


class Statistics:
    """Class, box and image statistics; D005 unused classes, D006 empty dataset, D007 no boxes.

    ``add`` only gathers: records by :data:`RecordKey` (most records share a few), and box
    coordinates by image size; that is folded into the counts in bulk when enough has
    gathered, on merge and on finish.
    """

    name = "statistics"

    def new(self) -> dict[str | None, dict[str, Any]]:
        """Split (``train``, ``eval``, ``None`` when unknown) -> its statistics."""
        return {}

    def add(self, state: dict[str | None, dict[str, Any]], view: FeatureView,
            where: RecordPlace, ctx: CheckContext) -> None:
        split = state.get(where.role)
        if split is None:
            split = state[where.role] = _new_state()
        self._add(split, view, where, ctx)

    def _add(self, state: dict[str, Any], view: FeatureView, where: RecordPlace,
             ctx: CheckContext) -> None:
        record = od_record(view)
        boxes_count = bool(record.n_boxes and record.box_kinds_ok and record.lists_agree)
        key = _record_key(record, ctx, where.role, boxes_count)
        gathered = state["gathered"]
        entry = gathered.get(key)
        if entry is not None:
            entry[0] += 1
        else:
            gathered[key] = [1, *_tally(record, ctx)] if boxes_count else [1]
            _first_place(state["first"], key, where)
            if len(gathered) >= _QUEUED_RECORD_KEYS:
                _fold_gathered(state)
        if boxes_count:
            _queue_boxes(state, record, key, ctx)

    def merge(self, left: dict[str | None, dict[str, Any]],
              right: dict[str | None, dict[str, Any]]) -> dict[str | None, dict[str, Any]]:
        for role, split in right.items():
            left[role] = _merge(left[role], split) if role in left else split
        return left

    def finish(self, state: dict[str | None, dict[str, Any]], ctx: CheckContext
               ) -> tuple[list[Finding], dict]:
        for split in state.values():
            _flush(split)
        total = _new_state()
        for split in state.values():
            _merge(total, copy.deepcopy(split))
        stats = _stats(total, ctx)
        named = {role: split for role, split in state.items() if role is not None}
        if named:
            stats["by_split"] = {role: {"records": split["records"], "boxes": split["boxes"],
                                        **_stats(split, ctx, with_unseen=False)}
                                 for role, split in sorted(named.items())}
        findings = _findings(total, ctx) + quality_findings(stats, ctx, total["first"])
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
    _flush(left)
    _flush(right)
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
