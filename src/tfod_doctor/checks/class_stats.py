"""Statistics per class and split (boxes, images, box size in pixels, tiny boxes, boxes at
the border), and D018: boxes far from their class's usual size.

:mod:`~tfod_doctor.checks.statistics` gathers the boxes and hands every
:class:`~tfod_doctor.checks.box_batch.BoxBatch` to :func:`fold`, which counts per class:
boxes, images, boxes without an image size, tiny boxes (B008's definition,
:func:`~tfod_doctor.odapi.boxes.tiny_sides`), boxes at the border (:data:`BORDER_MARGIN`) and a
histogram of the box side in pixels (the square root of the area, in eighths of an octave),
from which the median is read. For D018 every class keeps its :data:`EXTREMES` largest and
smallest boxes (by area in pixels, with where they are). All of that merges by adding counts
and keeping the top ones, so partial states merge associatively.

:func:`section` is ``report.stats["class_stats"]``: ``side_edges_px`` (the histogram's bin
edges) and ``splits`` (``train``, ``eval``, or ``records`` when the split is unknown) -> one
row per class.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfod_doctor.catalogue import dataset as D
from tfod_doctor.checks.box_batch import MAX_CLASSES, OTHER_CLASS, BoxBatch, ClassKey, distinct
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.findings import Finding, Location
from tfod_doctor.odapi.boxes import tiny_sides

#: A box touches the border when a side is within this (normalized) distance of 0 or 1.
BORDER_MARGIN = 0.005
#: Histogram of log2(box side in pixels): this many bins per octave, from 1 to 2**OCTAVES px.
BINS_PER_OCTAVE = 8
OCTAVES = 14
BINS = BINS_PER_OCTAVE * OCTAVES
#: The largest and smallest boxes kept per class, for D018 to point at.
EXTREMES = 20
#: D018 only judges classes with at least this many boxes of known size.
MIN_CLASS_BOXES = 20
#: The counts per class: boxes, images, boxes without an image size, tiny, at the border.
_COUNTS = ("boxes", "images", "unsized", "tiny", "border")
#: A kept box: (area in pixels², file, record index, offset, box index).
Extreme = tuple[float, str, int, int, int]
UNKNOWN_SPLIT = "records"
#: The statistics of one split: class -> its counts, histogram and extremes.
PerClass = dict[ClassKey, dict[str, Any]]


def _new_class() -> dict[str, Any]:
    return {"counts": np.zeros(len(_COUNTS), np.int64), "sides": np.zeros(BINS, np.int64),
            "largest": [], "smallest": []}


def section(splits: dict[str | None, PerClass]) -> dict[str, Any]:
    """``report.stats["class_stats"]`` for the statistics of every split."""
    rows = {role or UNKNOWN_SPLIT: _rows(classes)
            for role, classes in sorted(splits.items(), key=_split_order)}
    return {"side_edges_px": side_edges(), "splits": rows}


def _split_order(item: tuple[str | None, Any]) -> tuple[int, str]:
    """train, eval, then the others by name."""
    role = item[0] or ""
    return ({"train": 0, "eval": 1}.get(role, 2), role)


def side_edges() -> list[float]:
    """The edges of the box-side histogram, in pixels."""
    return [round(2 ** (i / BINS_PER_OCTAVE), 3) for i in range(BINS + 1)]


def fold(classes: PerClass, batch: BoxBatch, tiny_pixels: float) -> None:
    """Count the boxes of ``batch`` whose record has one class per box into ``classes``."""
    labelled = batch.box_codes >= 0
    codes = batch.box_codes[labelled]
    if not len(codes):
        return
    ymin, xmin, ymax, xmax, width, height, owner = (
        values[labelled] for values in (batch.ymin, batch.xmin, batch.ymax, batch.xmax,
                                        batch.width, batch.height, batch.owner))
    known = (width > 0) & (height > 0)
    width, height = np.where(known, width, 0.0), np.where(known, height, 0.0)
    with np.errstate(invalid="ignore", over="ignore"):
        dy, dx = ymax - ymin, xmax - xmin
        proper = np.isfinite(dy) & np.isfinite(dx) & (dy > 0) & (dx > 0)
        sized = proper & known
        area = np.where(sized, dy * height * dx * width, 0.0)
        tiny = proper & tiny_sides(dy, dx, width, height, tiny_pixels)
        border = proper & ((np.minimum(ymin, xmin) <= BORDER_MARGIN)
                           | (np.maximum(ymax, xmax) >= 1 - BORDER_MARGIN))
        sides = np.log2(np.sqrt(area[sized])) * BINS_PER_OCTAVE
    bins = np.clip(sides, 0, BINS - 1).astype(np.int64)
    n = len(batch.classes)
    per_class = np.stack([np.bincount(codes, minlength=n),
                          np.bincount(distinct(owner * n + codes) % n, minlength=n),
                          np.bincount(codes[~sized], minlength=n),
                          np.bincount(codes[tiny], minlength=n),
                          np.bincount(codes[border], minlength=n)], axis=1)
    histogram = np.bincount(codes[sized] * BINS + bins, minlength=n * BINS).reshape(n, BINS)
    chosen = np.flatnonzero(sized)
    # By class, then area (ties in the order the boxes came): each class's run of boxes.
    order = chosen[np.lexsort((area[chosen], codes[chosen]))]
    starts = np.searchsorted(codes[order], np.arange(n + 1))
    box_index = batch.box_index[labelled]
    for code in np.flatnonzero(per_class[:, 0]).tolist():
        entry = _class_entry(classes, batch.classes[code])
        entry["counts"] = entry["counts"] + per_class[code]
        entry["sides"] = entry["sides"] + histogram[code]
        run = order[starts[code]:starts[code + 1]]
        if len(run):
            picked = distinct(np.concatenate([run[:EXTREMES], run[-EXTREMES:]]))
            _merge_extremes(entry, [(float(area[i]), *batch.place(owner[i]),
                                     int(box_index[i])) for i in picked.tolist()])


def _class_entry(classes: PerClass, key: ClassKey) -> dict[str, Any]:
    if key not in classes and len(classes) >= MAX_CLASSES:
        key = OTHER_CLASS
    entry = classes.get(key)
    if entry is None:
        entry = classes[key] = _new_class()
    return entry


def _merge_extremes(entry: dict[str, Any], boxes: list[Extreme]) -> None:
    """The kept boxes are a total order's top ones, so any order of merging keeps the same."""
    ordered = sorted({*entry["largest"], *entry["smallest"], *boxes})
    entry["largest"], entry["smallest"] = ordered[-EXTREMES:], ordered[:EXTREMES]


def merge(left: PerClass, right: PerClass) -> None:
    """Add the counts of ``right`` to ``left`` (``right`` is left as it is)."""
    for key, entry in right.items():
        target = _class_entry(left, key)
        target["counts"] = target["counts"] + entry["counts"]
        target["sides"] = target["sides"] + entry["sides"]
        _merge_extremes(target, entry["largest"] + entry["smallest"])


#: The quantiles of the box side each row gives (``side_quantiles_px``), for the plots.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def quantile_side(sides: list[int], q: float) -> float | None:
    """The ``q`` quantile of the box side in pixels, read from the histogram (the middle of
    its bin); ``None`` without boxes."""
    total = sum(sides)
    if not total:
        return None
    seen = 0
    for i, count in enumerate(sides):
        seen += count
        if seen >= q * total and count:
            return 2 ** ((i + 0.5) / BINS_PER_OCTAVE)
    return None  # pragma: no cover - the loop always reaches q


def median_side(sides: list[int]) -> float | None:
    """The median box side in pixels (see :func:`quantile_side`)."""
    return quantile_side(sides, 0.5)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _rows(classes: PerClass) -> list[dict[str, Any]]:
    rows = []
    for (class_id, name), entry in classes.items():
        counts = dict(zip(_COUNTS, entry["counts"].tolist(), strict=True))
        sides = entry["sides"].tolist()
        rows.append({"id": class_id, "name": name, **counts,
                     "median_side_px": _rounded(median_side(sides)),
                     "side_quantiles_px": [_rounded(quantile_side(sides, q))
                                           for q in QUANTILES],
                     "sides": sides})
    rows.sort(key=lambda r: (r["id"] is None, r["id"] or 0, r["name"] or ""))
    return rows


def _label(key: ClassKey) -> str:
    class_id, name = key
    if class_id is not None and name is not None:
        return f"{class_id} ({name!r})"
    return repr(name) if class_id is None else str(class_id)


def outliers(classes: PerClass, ctx: CheckContext) -> list[Finding]:
    """D018 over the statistics of the whole dataset: per class, the boxes over
    ``outlier_factor`` times the median area, and those under 1/``outlier_factor``² of it
    (small objects vary more: far away, partly hidden)."""
    factor = ctx.quality.outlier_factor
    findings = []
    for key, entry in sorted(classes.items(), key=lambda kv: _label(kv[0])):
        sides = entry["sides"].tolist()
        sized, median = sum(sides), median_side(sides)
        if sized < MIN_CLASS_BOXES or median is None or key == OTHER_CLASS:
            continue
        usual = median * median
        large = [box for box in reversed(entry["largest"]) if box[0] > usual * factor]
        small = [box for box in entry["smallest"] if box[0] * factor * factor < usual]
        for boxes, what in ((large, "larger"), (small, "smaller")):
            if boxes:
                findings.append(_outlier_finding(key, boxes, what, usual, median))
    return findings


def _outlier_finding(key: ClassKey, boxes: list[Extreme], what: str, usual: float,
                     median: float) -> Finding:
    area, file, index, offset, box = boxes[0]
    ratio = area / usual
    times = f"{ratio:.0f}x" if ratio >= 1 else f"1/{1 / ratio:.0f}"
    more = (f" ({len(boxes)} such boxes among the class's {EXTREMES} most extreme; the others "
            "are in the evidence)" if len(boxes) > 1 else "")
    return D.BOX_SIZE_OUTLIER.finding(
        f"box {box} of class {_label(key)} is {area ** 0.5:.0f} px on a side, {times} the "
        f"area of the class's median box ({median:.3g} px on a side): far {what} than the "
        f"class's usual size{more}",
        Location(file=file, record=index, offset=offset),
        box_index=box, **{"class": _label(key)}, median_side_px=round(median, 1),
        boxes=[{"file": f, "record": i, "box": b, "side_px": round(a ** 0.5, 1),
                "area_ratio": round(a / usual, 3)} for a, f, i, _, b in boxes[:EXTREMES]])

