"""Statistics per class and split (boxes, images, box size and shape in pixels, tiny boxes,
boxes at the border), D018: boxes far from their class's usual size, and D019: boxes far from
their class's usual shape.

:mod:`~tfod_doctor.checks.statistics` gathers the boxes and hands every
:class:`~tfod_doctor.checks.box_batch.BoxBatch` to :func:`fold`, which counts per class:
boxes, images, boxes without an image size, tiny boxes (B008's definition,
:func:`~tfod_doctor.odapi.boxes.tiny_sides`), boxes at the border (:data:`BORDER_MARGIN`) and a
histogram of the box side in pixels (the square root of the area, in eighths of an octave),
from which the median is read, and one of the box shape (log2 of width / height in pixels,
likewise). For D018 every class keeps its :data:`EXTREMES` largest and smallest boxes (by area
in pixels, with where they are), for D019 its widest and tallest of those that do not touch the
image's border (a truncated object may have any shape). All of that merges by adding
counts and keeping the top ones, so partial states merge associatively.

:func:`section` is ``report.stats["class_stats"]``: ``side_edges_px`` (the histogram's bin
edges) and ``splits`` (``train``, ``eval``, or ``records`` when the split is unknown) -> one
row per class.
"""

from __future__ import annotations

import math
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
#: Histogram of log2(box width / height in pixels): as many bins per octave, from 1:2**SHAPE_OCTAVES
#: (tall) to 2**SHAPE_OCTAVES:1 (wide).
SHAPE_OCTAVES = 8
SHAPE_BINS = 2 * BINS_PER_OCTAVE * SHAPE_OCTAVES
#: The largest and smallest (widest and tallest) boxes kept per class, for D018 (D019) to point
#: at.
EXTREMES = 20
#: D018 only judges classes with at least this many boxes of known size.
MIN_CLASS_BOXES = 20
#: The counts per class: boxes, images, boxes without an image size, tiny, at the border.
_COUNTS = ("boxes", "images", "unsized", "tiny", "border")
#: A kept box: (area in pixels², or log2 of width / height, file, record index, offset, box
#: index).
Extreme = tuple[float, str, int, int, int]
#: The kept boxes of each order: (the lowest, the highest).
_SIZE, _SHAPE = ("smallest", "largest"), ("tallest", "widest")
UNKNOWN_SPLIT = "records"
#: The statistics of one split: class -> its counts, histogram and extremes.
PerClass = dict[ClassKey, dict[str, Any]]


def _new_class() -> dict[str, Any]:
    return {"counts": np.zeros(len(_COUNTS), np.int64), "sides": np.zeros(BINS, np.int64),
            "shapes": np.zeros(SHAPE_BINS, np.int64), "largest": [], "smallest": [],
            "widest": [], "tallest": []}


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
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        dy, dx = ymax - ymin, xmax - xmin
        proper = np.isfinite(dy) & np.isfinite(dx) & (dy > 0) & (dx > 0)
        sized = proper & known
        area = np.where(sized, dy * height * dx * width, 0.0)
        shape = np.where(sized, np.log2(dx * width) - np.log2(dy * height), 0.0)
        tiny = proper & tiny_sides(dy, dx, width, height, tiny_pixels)
        border = proper & ((np.minimum(ymin, xmin) <= BORDER_MARGIN)
                           | (np.maximum(ymax, xmax) >= 1 - BORDER_MARGIN))
        sides = np.log2(np.sqrt(area[sized])) * BINS_PER_OCTAVE
    n = len(batch.classes)
    per_class = np.stack([np.bincount(codes, minlength=n),
                          np.bincount(distinct(owner * n + codes) % n, minlength=n),
                          np.bincount(codes[~sized], minlength=n),
                          np.bincount(codes[tiny], minlength=n),
                          np.bincount(codes[border], minlength=n)], axis=1)
    shape_bins = (shape[sized] + SHAPE_OCTAVES) * BINS_PER_OCTAVE
    histograms = {"sides": _per_class_histogram(codes[sized], sides, BINS, n),
                  "shapes": _per_class_histogram(codes[sized], shape_bins, SHAPE_BINS, n)}
    # A box cut by the image's edge (a truncated object) may have any shape: D019 leaves it.
    runs = [(kept, values, *_runs(values, codes, np.flatnonzero(judged), n))
            for kept, values, judged in ((_SIZE, area, sized), (_SHAPE, shape, sized & ~border))]
    box_index = batch.box_index[labelled]
    for code in np.flatnonzero(per_class[:, 0]).tolist():
        entry = _class_entry(classes, batch.classes[code])
        entry["counts"] = entry["counts"] + per_class[code]
        for name, histogram in histograms.items():
            entry[name] = entry[name] + histogram[code]
        for kept, values, order, starts in runs:
            run = order[starts[code]:starts[code + 1]]
            if len(run):
                picked = distinct(np.concatenate([run[:EXTREMES], run[-EXTREMES:]]))
                boxes = [(float(values[i]), *batch.place(owner[i]), int(box_index[i]))
                         for i in picked.tolist()]
                _keep_extremes(entry, kept, boxes, boxes)


def _per_class_histogram(codes: np.ndarray, positions: np.ndarray, bins: int, n: int
                         ) -> np.ndarray:
    """Per class (of ``n``), how many values fall in each of ``bins`` bins (``positions`` in
    bins from the first; those outside go to the first or the last)."""
    index = np.clip(positions, 0, bins - 1).astype(np.int64)
    return np.bincount(codes * bins + index, minlength=n * bins).reshape(n, bins)


def _runs(values: np.ndarray, codes: np.ndarray, chosen: np.ndarray, n: int
          ) -> tuple[np.ndarray, np.ndarray]:
    """The ``chosen`` boxes by class, then by value (ties in the order the boxes came), and
    where each class's run of them starts."""
    order = chosen[np.lexsort((values[chosen], codes[chosen]))]
    return order, np.searchsorted(codes[order], np.arange(n + 1))


def _class_entry(classes: PerClass, key: ClassKey) -> dict[str, Any]:
    if key not in classes and len(classes) >= MAX_CLASSES:
        key = OTHER_CLASS
    entry = classes.get(key)
    if entry is None:
        entry = classes[key] = _new_class()
    return entry


def _keep_extremes(entry: dict[str, Any], kept: tuple[str, str], lows: list[Extreme],
                   highs: list[Extreme]) -> None:
    """Keep the lowest and the highest :data:`EXTREMES` of the kept boxes and the new ones
    (``lows`` holds at least the lowest of the boxes they come from, ``highs`` the highest).
    The kept boxes are a total order's top ones, so any order of merging keeps the same; the
    boxes of two merged states are of different records, so no box is kept twice."""
    low, high = kept
    entry[low] = sorted(entry[low] + lows)[:EXTREMES]
    entry[high] = sorted(entry[high] + highs)[-EXTREMES:]


def merge(left: PerClass, right: PerClass) -> None:
    """Add the counts of ``right`` to ``left`` (``right`` is left as it is)."""
    for key, entry in right.items():
        target = _class_entry(left, key)
        for counts in ("counts", "sides", "shapes"):
            target[counts] = target[counts] + entry[counts]
        for kept in (_SIZE, _SHAPE):
            _keep_extremes(target, kept, entry[kept[0]], entry[kept[1]])


#: The quantiles of the box side each row gives (``side_quantiles_px``), for the plots.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _quantile_bin(counts: list[int], q: float) -> float | None:
    """The ``q`` quantile of a histogram, in bins from its start (the middle of its bin);
    ``None`` without counts."""
    total = sum(counts)
    if not total:
        return None
    seen = 0
    for i, count in enumerate(counts):
        seen += count
        if seen >= q * total and count:
            return i + 0.5
    return None  # pragma: no cover - the loop always reaches q


def quantile_side(sides: list[int], q: float) -> float | None:
    """The ``q`` quantile of the box side in pixels, read from the histogram (the middle of
    its bin); ``None`` without boxes."""
    at = _quantile_bin(sides, q)
    return None if at is None else 2 ** (at / BINS_PER_OCTAVE)


def quantile_shape(shapes: list[int], q: float) -> float | None:
    """The ``q`` quantile of log2(width / height) of the boxes, read from their histogram;
    ``None`` without boxes."""
    at = _quantile_bin(shapes, q)
    return None if at is None else at / BINS_PER_OCTAVE - SHAPE_OCTAVES


def median_side(sides: list[int]) -> float | None:
    """The median box side in pixels (see :func:`quantile_side`)."""
    return quantile_side(sides, 0.5)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _aspect(log_shape: float | None) -> float | None:
    """Width / height from its log2, to three significant digits."""
    return None if log_shape is None else float(f"{2 ** log_shape:.3g}")


def _rows(classes: PerClass) -> list[dict[str, Any]]:
    rows = []
    for (class_id, name), entry in classes.items():
        counts = dict(zip(_COUNTS, entry["counts"].tolist(), strict=True))
        sides = entry["sides"].tolist()
        shapes = entry["shapes"].tolist()
        aspects = [_aspect(quantile_shape(shapes, q)) for q in QUANTILES]
        rows.append({"id": class_id, "name": name, **counts,
                     "median_side_px": _rounded(median_side(sides)),
                     "side_quantiles_px": [_rounded(quantile_side(sides, q))
                                           for q in QUANTILES],
                     "median_aspect": aspects[QUANTILES.index(0.5)],
                     "aspect_quantiles": aspects,
                     "sides": sides})
    rows.sort(key=lambda r: (r["id"] is None, r["id"] or 0, r["name"] or ""))
    return rows


def _label(key: ClassKey) -> str:
    class_id, name = key
    if class_id is not None and name is not None:
        return f"{class_id} ({name!r})"
    return repr(name) if class_id is None else str(class_id)


def outliers(classes: PerClass, ctx: CheckContext) -> list[Finding]:
    """D018 and D019 over the statistics of the whole dataset, per class of at least
    :data:`MIN_CLASS_BOXES` boxes of known size."""
    findings = []
    for key, entry in sorted(classes.items(), key=lambda kv: _label(kv[0])):
        if key != OTHER_CLASS and sum(entry["sides"].tolist()) >= MIN_CLASS_BOXES:
            findings += _size_outliers(key, entry, ctx.quality.outlier_factor)
            findings += _shape_outliers(key, entry, ctx.quality.shape_factor)
    return findings


def _size_outliers(key: ClassKey, entry: dict[str, Any], factor: float) -> list[Finding]:
    """D018: the boxes over ``factor`` times the median area, and those under 1/``factor``²
    of it (small objects vary more: far away, partly hidden)."""
    median = median_side(entry["sides"].tolist())
    if median is None:  # pragma: no cover - a class with sized boxes has a median
        return []
    usual = median * median
    large = [box for box in reversed(entry["largest"]) if box[0] > usual * factor]
    small = [box for box in entry["smallest"] if box[0] * factor * factor < usual]
    return [_outlier_finding(key, boxes, what, usual, median)
            for boxes, what in ((large, "larger"), (small, "smaller")) if boxes]


#: D019 also needs a box outside the class's "far out" fences: this many interquartile ranges
#: beyond its quartiles (Tukey's), so that classes whose shapes vary widely stay quiet.
FAR_OUT = 3.0


def _shape_outliers(key: ClassKey, entry: dict[str, Any], factor: float) -> list[Finding]:
    """D019: the boxes over ``factor`` times wider, or taller, than the class's median shape
    (width / height in pixels), and outside its far-out fences (:data:`FAR_OUT`)."""
    shapes = entry["shapes"].tolist()
    low, median, high = (quantile_shape(shapes, q) for q in (0.25, 0.5, 0.75))
    if low is None or median is None or high is None:  # pragma: no cover - it has boxes
        return []
    limit, spread = math.log2(max(factor, 1.0)), FAR_OUT * (high - low)
    wide = [box for box in reversed(entry["widest"])
            if box[0] > max(median + limit, high + spread)]
    tall = [box for box in entry["tallest"] if box[0] < min(median - limit, low - spread)]
    return [_shape_finding(key, boxes, what, median)
            for boxes, what in ((wide, "wider"), (tall, "taller")) if boxes]


def aspect_text(log_shape: float) -> str:
    """A shape (log2 of width / height) as a user reads it: ``4:1`` wide, ``1:2.5`` tall."""
    ratio = 2 ** abs(log_shape)
    text = f"{ratio:.2g}" if ratio < 10 else whole(ratio)
    return f"{text}:1" if log_shape >= 0 else f"1:{text}"


def whole(value: float) -> str:
    """A number as a message says it: whole from 1 to a million, else ``7.1e+44`` or
    ``1.2e-20`` (boxes written in absurd units make absurd sizes and ratios)."""
    return f"{value:.0f}" if 1 <= value < 1e6 else f"{value:.2g}"


def _first_of(boxes: list[Extreme]) -> tuple[Location, str]:
    """Where the most extreme box is, and what to say of the others."""
    _, file, index, offset, _ = boxes[0]
    more = (f" ({len(boxes)} such boxes among the class's {EXTREMES} most extreme; the others "
            "are in the evidence)" if len(boxes) > 1 else "")
    return Location(file=file, record=index, offset=offset), more


def _shape_finding(key: ClassKey, boxes: list[Extreme], what: str, median: float) -> Finding:
    shape, box = boxes[0][0], boxes[0][4]
    where, more = _first_of(boxes)
    return D.BOX_SHAPE_OUTLIER.finding(
        f"box {box} of class {_label(key)} is {aspect_text(shape)} (width:height in pixels), "
        f"{whole(2 ** abs(shape - median))}x {what} than the class's median shape "
        f"({aspect_text(median)}): far from the class's usual shape{more}",
        where, box_index=box, **{"class": _label(key)}, median_aspect=round(2 ** median, 3),
        boxes=[{"file": f, "record": i, "box": b, "aspect": round(2 ** v, 3),
                "times_median": round(2 ** abs(v - median), 1)}
               for v, f, i, _, b in boxes[:EXTREMES]])


def _outlier_finding(key: ClassKey, boxes: list[Extreme], what: str, usual: float,
                     median: float) -> Finding:
    area, box = boxes[0][0], boxes[0][4]
    ratio = area / usual
    times = f"{whole(ratio)}x" if ratio >= 1 else f"1/{whole(1 / ratio)}"
    where, more = _first_of(boxes)
    return D.BOX_SIZE_OUTLIER.finding(
        f"box {box} of class {_label(key)} is {whole(area ** 0.5)} px on a side, {times} the "
        f"area of the class's median box ({median:.3g} px on a side): far {what} than the "
        f"class's usual size{more}",
        where, box_index=box, **{"class": _label(key)}, median_side_px=round(median, 1),
        boxes=[{"file": f, "record": i, "box": b, "side_px": round(a ** 0.5, 1),
                "area_ratio": round(a / usual, 3)} for a, f, i, _, b in boxes[:EXTREMES]])

