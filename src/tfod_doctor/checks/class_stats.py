"""Statistics per class and split (boxes, images, box size in pixels, tiny boxes, boxes at
the border), and D018: boxes far from their class's usual size.

``add`` only extends a few lists per record; every :data:`_QUEUED_BOXES` boxes numpy folds
them into counts per class: boxes, images, boxes without an image size, tiny boxes (B008's
definition, :func:`~tfod_doctor.odapi.boxes.tiny_sides`), boxes at the border
(:data:`BORDER_MARGIN`) and a histogram of the box side in pixels (the square root of the
area, in eighths of an octave), from which the median is read. For D018 every class keeps its
:data:`EXTREMES` largest and smallest boxes (by area in pixels, with where they are). All of
that merges by adding counts and keeping the top ones, so partial states merge associatively.

``finish`` writes ``report.stats["class_stats"]``: ``side_edges_px`` (the histogram's bin
edges) and ``splits`` (``train``, ``eval``, or ``records`` when the split is unknown) -> one
row per class.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfod_doctor.catalogue import dataset as D
from tfod_doctor.checks._od import box_classes, od_record
from tfod_doctor.checks.base import RecordPlace, aggregator
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.checks.statistics import MAX_CLASSES, OTHER_CLASS, ClassKey, class_keys
from tfod_doctor.findings import Finding, Location
from tfod_doctor.odapi.boxes import tiny_sides
from tfod_doctor.records import FeatureView

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
#: Boxes gathered before they are folded into the counts.
_QUEUED_BOXES = 8192
#: The counts per class: boxes, images, boxes without an image size, tiny, at the border.
_COUNTS = ("boxes", "images", "unsized", "tiny", "border")
#: A kept box: (area in pixels², file, record index, offset, box index).
Extreme = tuple[float, str, int, int, int]
UNKNOWN_SPLIT = "records"


def _new_split(tiny_pixels: float) -> dict[str, Any]:
    return {"ymin": [], "xmin": [], "ymax": [], "xmax": [], "keys": [], "records": [],
            "queued": 0, "classes": {}, "known": {}, "tiny_pixels": tiny_pixels}


def _new_class() -> dict[str, Any]:
    return {"counts": [0] * len(_COUNTS), "sides": [0] * BINS, "largest": [], "smallest": []}


class ClassStatistics:
    """Per split and class: counts, box sizes in pixels, extremes; D018."""

    name = "class_stats"

    def new(self) -> dict[str | None, dict[str, Any]]:
        """Split (``train``, ``eval``, ``None`` when unknown) -> its gathered boxes and counts."""
        return {}

    def add(self, state: dict[str | None, dict[str, Any]], view: FeatureView,
            where: RecordPlace, ctx: CheckContext) -> None:
        record = od_record(view)
        if not (record.n_boxes and record.box_kinds_ok and record.lists_agree):
            return
        classes = box_classes(record, ctx)
        labelled = classes.ids if classes.ids is not None else classes.names
        if labelled is None or len(labelled) != record.n_boxes:
            return  # boxes without one class each: the label rules' matter
        split = state.get(where.role)
        if split is None:
            split = state[where.role] = _new_split(ctx.quality.tiny_box_pixels)
        ymin, xmin, ymax, xmax = record.boxes
        split["ymin"] += ymin
        split["xmin"] += xmin
        split["ymax"] += ymax
        split["xmax"] += xmax
        raw = _raw_keys(classes.ids, classes.names)
        split["keys"] += raw
        known = split["known"]
        if not known.keys() >= set(raw):  # a class value not seen since the last fold
            for value in set(raw) - known.keys():
                known[value] = next(iter(class_keys(*_one_box(value), ctx)))
        split["records"].append((where.file, where.index, where.offset, record.n_boxes,
                                 record.image_size(ctx.deep)))
        split["queued"] += record.n_boxes
        if split["queued"] >= _QUEUED_BOXES:
            _fold(split)

    def merge(self, left: dict[str | None, dict[str, Any]],
              right: dict[str | None, dict[str, Any]]) -> dict[str | None, dict[str, Any]]:
        for role, split in right.items():
            if role in left:
                _merge_classes(left[role]["classes"], split["classes"])
                for key in ("ymin", "xmin", "ymax", "xmax", "keys", "records"):
                    left[role][key] += split[key]
                left[role]["known"].update(split["known"])  # what the gathered keys are
                left[role]["queued"] += split["queued"]
                if left[role]["queued"] >= _QUEUED_BOXES:
                    _fold(left[role])
            else:
                left[role] = split
        return left

    def finish(self, state: dict[str | None, dict[str, Any]], ctx: CheckContext
               ) -> tuple[list[Finding], dict]:
        for split in state.values():
            _fold(split)
        if not state:
            return [], {}
        splits = {role or UNKNOWN_SPLIT: _rows(split["classes"])
                  for role, split in sorted(state.items(), key=_split_order)}
        total: dict[ClassKey, dict[str, Any]] = {}
        for split in state.values():
            _merge_classes(total, split["classes"])
        stats = {"class_stats": {"side_edges_px": side_edges(), "splits": splits}}
        return _outliers(total, ctx), stats


def _split_order(item: tuple[str | None, Any]) -> tuple[int, str]:
    """train, eval, then the others by name."""
    role = item[0] or ""
    return ({"train": 0, "eval": 1}.get(role, 2), role)


def side_edges() -> list[float]:
    """The edges of the box-side histogram, in pixels."""
    return [round(2 ** (i / BINS_PER_OCTAVE), 3) for i in range(BINS + 1)]


def _fold(split: dict[str, Any]) -> None:
    """Fold the gathered boxes into the counts per class."""
    records = split["records"]
    if not records:
        return
    counts = np.array([r[3] for r in records], dtype=np.int64)
    sizes = [r[4] if r[4] and r[4][0] > 0 and r[4][1] > 0 else (0, 0) for r in records]
    owner = np.repeat(np.arange(len(records)), counts)
    width = np.array([s[0] for s in sizes], dtype=np.float64)[owner]
    height = np.array([s[1] for s in sizes], dtype=np.float64)[owner]
    ymin, xmin, ymax, xmax = (np.asarray(split[side], dtype=np.float64)
                              for side in ("ymin", "xmin", "ymax", "xmax"))
    keys = split["keys"]
    index = {key: code for code, key in enumerate(dict.fromkeys(keys))}
    codes = np.fromiter(map(index.__getitem__, keys), np.int64, len(keys))
    with np.errstate(invalid="ignore", over="ignore"):
        dy, dx = ymax - ymin, xmax - xmin
        proper = np.isfinite(dy) & np.isfinite(dx) & (dy > 0) & (dx > 0)
        sized = proper & (width > 0)
        area = np.where(sized, dy * height * dx * width, 0.0)
        tiny = proper & tiny_sides(dy, dx, width, height, split["tiny_pixels"])
        border = proper & ((np.minimum(ymin, xmin) <= BORDER_MARGIN)
                           | (np.maximum(ymax, xmax) >= 1 - BORDER_MARGIN))
        sides = np.log2(np.sqrt(area[sized])) * BINS_PER_OCTAVE
    bins = np.clip(sides, 0, BINS - 1).astype(np.int64)
    n = len(index)
    per_class = [np.bincount(codes, minlength=n),
                 np.bincount(np.unique(owner * n + codes) % n, minlength=n),
                 np.bincount(codes[~sized], minlength=n),
                 np.bincount(codes[tiny], minlength=n),
                 np.bincount(codes[border], minlength=n)]
    histogram = np.bincount(codes[sized] * BINS + bins, minlength=n * BINS).reshape(n, BINS)
    box_index = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    for raw, code in index.items():
        entry = _class_entry(split["classes"], split["known"][raw])
        entry["counts"] = [a + int(b[code]) for a, b in zip(entry["counts"], per_class,
                                                            strict=True)]
        entry["sides"] = [a + b for a, b in zip(entry["sides"], histogram[code].tolist(),
                                                strict=True)]
        chosen = np.flatnonzero(sized & (codes == code))
        if len(chosen):
            _keep_extremes(entry, chosen, area, owner, box_index, records)
    split.update(ymin=[], xmin=[], ymax=[], xmax=[], keys=[], records=[], queued=0, known={})


def _raw_keys(ids: list[int] | None, names: list[str] | None) -> list[Any]:
    """What a record's boxes are keyed by until the next fold, taken without a Python loop:
    the ids (no names read), the names (no ids read) or ``(id, name)`` pairs."""
    if names is None:
        return ids or []
    if ids is None:
        return names
    return list(zip(ids, names, strict=True))


def _one_box(value: Any) -> tuple[list[int] | None, list[str] | None]:
    """A raw key as the class ids and names of one box (for ``class_keys``)."""
    if isinstance(value, tuple):
        return [value[0]], [value[1]]
    if isinstance(value, int):
        return [value], None
    return None, [value]


def _class_entry(classes: dict[ClassKey, dict[str, Any]], key: ClassKey) -> dict[str, Any]:
    if key not in classes and len(classes) >= MAX_CLASSES:
        key = OTHER_CLASS
    entry = classes.get(key)
    if entry is None:
        entry = classes[key] = _new_class()
    return entry


def _keep_extremes(entry: dict[str, Any], chosen: np.ndarray, area: np.ndarray,
                   owner: np.ndarray, box_index: np.ndarray, records: list[tuple]) -> None:
    """Keep the :data:`EXTREMES` largest and smallest of the chosen boxes (and the kept)."""
    order = chosen[np.argsort(area[chosen], kind="stable")]
    picked = np.unique(np.concatenate([order[:EXTREMES], order[-EXTREMES:]]))
    boxes = [(float(area[i]), *records[owner[i]][:3], int(box_index[i])) for i in picked]
    _merge_extremes(entry, boxes)


def _merge_extremes(entry: dict[str, Any], boxes: list[Extreme]) -> None:
    """The kept boxes are a total order's top ones, so any order of merging keeps the same."""
    entry["largest"] = sorted({*entry["largest"], *boxes})[-EXTREMES:]
    entry["smallest"] = sorted({*entry["smallest"], *boxes})[:EXTREMES]


def _merge_classes(left: dict[ClassKey, dict[str, Any]], right: dict[ClassKey, dict[str, Any]]
                   ) -> None:
    """Add the counts of ``right`` to ``left`` (``right`` is left as it is)."""
    for key, entry in right.items():
        target = _class_entry(left, key)
        target["counts"] = [a + b for a, b in zip(target["counts"], entry["counts"], strict=True)]
        target["sides"] = [a + b for a, b in zip(target["sides"], entry["sides"], strict=True)]
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


def _rows(classes: dict[ClassKey, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for (class_id, name), entry in classes.items():
        counts = dict(zip(_COUNTS, entry["counts"], strict=True))
        rows.append({"id": class_id, "name": name, **counts,
                     "median_side_px": _rounded(median_side(entry["sides"])),
                     "side_quantiles_px": [_rounded(quantile_side(entry["sides"], q))
                                           for q in QUANTILES],
                     "sides": list(entry["sides"])})
    rows.sort(key=lambda r: (r["id"] is None, r["id"] or 0, r["name"] or ""))
    return rows


def _label(key: ClassKey) -> str:
    class_id, name = key
    if class_id is not None and name is not None:
        return f"{class_id} ({name!r})"
    return repr(name) if class_id is None else str(class_id)


def _outliers(classes: dict[ClassKey, dict[str, Any]], ctx: CheckContext) -> list[Finding]:
    """D018: per class, the boxes over ``outlier_factor`` times the median area, and those
    under 1/``outlier_factor``² of it (small objects vary more: far away, partly hidden)."""
    factor = ctx.quality.outlier_factor
    findings = []
    for key, entry in sorted(classes.items(), key=lambda kv: _label(kv[0])):
        sized = sum(entry["sides"])
        median = median_side(entry["sides"])
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


aggregator(ClassStatistics())
