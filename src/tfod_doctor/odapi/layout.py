"""Box layouts: how a flat list of 4 values per box is read, which layouts fit a dataset, and the
one conversion to the OD API's normalised ``(ymin, xmin, ymax, xmax)``.

Home-made records often hold every box in one list (``boxes: [a, b, c, d, a, b, c, d, ...]``).
The four values can be ``yxyx`` (TensorFlow's order), ``xyxy`` (VOC, torchvision), ``xywh``
(COCO) or ``cxcywh`` (YOLO), each normalised to [0, 1] or in pixels. :func:`infer_layouts` reads
every candidate over the values (with the image size from the image header) and counts the boxes
each would make invalid; the candidates that make none are the ones that fit. Counting works on
a plain-data tally (:func:`new_tally`, :func:`add_to_tally`, :func:`merge_tallies`), so a
dataset aggregator can count across records, worker processes and Beam.

    >>> report = infer_layouts([[10, 20, 30, 40]], [(100, 80)])
    >>> to_od_boxes([10, 20, 30, 40], "xywh", "pixels", 100, 80)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

LAYOUTS = ("yxyx", "xyxy", "xywh", "cxcywh")
UNITS = ("normalized", "pixels")
#: What the four values of a box are, per layout.
LAYOUT_DOC: dict[str, str] = {
    "yxyx": "ymin, xmin, ymax, xmax (TensorFlow's order)",
    "xyxy": "xmin, ymin, xmax, ymax (Pascal VOC, torchvision)",
    "xywh": "xmin, ymin, width, height (COCO)",
    "cxcywh": "x centre, y centre, width, height (YOLO)",
}
#: How far past the image edge (a fraction of its side) a box may reach and still count as inside.
EDGE_TOLERANCE = 0.02
#: Why a candidate makes a box invalid, in the order a box is given its one reason.
REASONS = ("no-image-size", "not-finite", "outside", "inverted", "zero-size", "sub-pixel")
REASON_DOC: dict[str, str] = {
    "no-image-size": "pixels, but the image size is unknown",
    "not-finite": "a NaN or infinite value",
    "outside": "outside the image (beyond 2% of its side; in [0, 1] when normalised)",
    "inverted": "min above max, or a negative width or height",
    "zero-size": "zero width or height",
    "sub-pixel": "under one pixel wide or high",
}


@dataclass(frozen=True, order=True)
class BoxLayout:
    """One way to read 4 values per box: a layout and its units."""

    layout: str
    units: str

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown box layout {self.layout!r}; use one of "
                             f"{', '.join(LAYOUTS)}")
        if self.units not in UNITS:
            raise ValueError(f"unknown box units {self.units!r}; use one of {', '.join(UNITS)}")

    @property
    def key(self) -> str:
        """``xywh/pixels``: the name used in reports and plain-data tallies."""
        return f"{self.layout}/{self.units}"

    @classmethod
    def parse(cls, text: str) -> BoxLayout:
        """A layout from its key (``xywh/pixels``; ``xywh`` alone means normalised)."""
        layout, _, units = text.strip().lower().partition("/")
        return cls(layout, units or "normalized")

    def __str__(self) -> str:
        return self.key


#: Every candidate, in the order reports list them.
CANDIDATES: tuple[BoxLayout, ...] = tuple(BoxLayout(lay, u) for lay in LAYOUTS for u in UNITS)


def _as_boxes(values: Sequence[float] | np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size % 4:
        raise ValueError(f"{array.size} values are not 4 per box")
    return array.reshape(-1, 4)


def _corners(boxes: np.ndarray, layout: str) -> tuple[np.ndarray, ...]:
    """``(ymin, xmin, ymax, xmax)`` in the values' own units."""
    a, b, c, d = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    if layout == "yxyx":
        return a, b, c, d
    if layout == "xyxy":
        return b, a, d, c
    if layout == "xywh":
        return b, a, b + d, a + c
    return b - d / 2, a - c / 2, b + d / 2, a + c / 2  # cxcywh


def _normalised(boxes: np.ndarray, layout: BoxLayout, width: float | None,
                height: float | None) -> tuple[np.ndarray, ...]:
    ymin, xmin, ymax, xmax = _corners(boxes, layout.layout)
    if layout.units == "pixels":
        if not width or not height or width <= 0 or height <= 0:
            raise ValueError("pixel boxes need the image width and height")
        return ymin / height, xmin / width, ymax / height, xmax / width
    return ymin, xmin, ymax, xmax


def to_od_boxes(values: Sequence[float] | np.ndarray, layout: str | BoxLayout,
                units: str = "normalized", width: float | None = None,
                height: float | None = None) -> tuple[list[float], list[float], list[float],
                                                       list[float]]:
    """The OD API's four normalised lists ``(ymin, xmin, ymax, xmax)`` of a flat box list.

    ``values`` holds 4 values per box in ``layout`` (``yxyx``, ``xyxy``, ``xywh``, ``cxcywh``);
    ``units`` is ``normalized`` or ``pixels`` (then ``width`` and ``height`` are required).
    Raises ValueError on a count that is not a multiple of 4 or a missing image size.
    """
    chosen = layout if isinstance(layout, BoxLayout) else BoxLayout(layout, units)
    sides = _normalised(_as_boxes(values), chosen, width, height)
    ymin, xmin, ymax, xmax = (side.tolist() for side in sides)
    return ymin, xmin, ymax, xmax


def from_od_boxes(ymin: Sequence[float], xmin: Sequence[float], ymax: Sequence[float],
                  xmax: Sequence[float], layout: str | BoxLayout, units: str = "normalized",
                  width: float | None = None, height: float | None = None) -> list[float]:
    """The flat list a writer using ``layout`` makes of normalised OD API boxes (the inverse of
    :func:`to_od_boxes`; converters and tests write other layouts with it)."""
    chosen = layout if isinstance(layout, BoxLayout) else BoxLayout(layout, units)
    y0, x0, y1, x1 = (np.asarray(side, dtype=np.float64) for side in (ymin, xmin, ymax, xmax))
    if chosen.units == "pixels":
        if not width or not height:
            raise ValueError("pixel boxes need the image width and height")
        y0, y1, x0, x1 = y0 * height, y1 * height, x0 * width, x1 * width
    if chosen.layout == "yxyx":
        columns = (y0, x0, y1, x1)
    elif chosen.layout == "xyxy":
        columns = (x0, y0, x1, y1)
    elif chosen.layout == "xywh":
        columns = (x0, y0, x1 - x0, y1 - y0)
    else:
        columns = ((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0)
    return np.stack(columns, axis=1).reshape(-1).tolist()


# -- validity of a candidate -----------------------------------------------------------------


def _known_size(size: tuple[int, int] | None) -> tuple[int, int] | None:
    """``(width, height)`` when both are positive; ``None`` for a size that places no pixel
    (missing, zero or negative, as a record may store it)."""
    if size is None or size[0] <= 0 or size[1] <= 0:
        return None
    return size


def invalid_reasons(values: Sequence[float] | np.ndarray, layout: BoxLayout,
                    size: tuple[int, int] | None,
                    tolerance: float = EDGE_TOLERANCE) -> dict[str, int]:
    """How many boxes of one record ``layout`` makes invalid, by reason (each box counts once).

    ``size`` is the image's ``(width, height)``; ``None`` when unknown (pixel layouts then
    cannot place any box, and the sub-pixel test is skipped).
    """
    boxes = _as_boxes(values)
    count = len(boxes)
    if not count:
        return {}
    size = _known_size(size)
    width, height = size if size else (None, None)
    if layout.units == "pixels" and size is None:
        return {"no-image-size": count}
    with np.errstate(all="ignore"):
        ymin, xmin, ymax, xmax = _normalised(boxes, layout, width, height)
        stacked = np.stack((ymin, xmin, ymax, xmax), axis=1)
        finite = np.isfinite(stacked).all(axis=1)
        outside = (stacked.min(axis=1) < -tolerance) | (stacked.max(axis=1) > 1 + tolerance)
        inverted = (ymin > ymax) | (xmin > xmax)
        zero = (ymin == ymax) | (xmin == xmax)
        sub_pixel = np.zeros(count, dtype=bool)
        if width and height:
            sub_pixel = ((ymax - ymin) * height < 1) | ((xmax - xmin) * width < 1)
    tests = (("not-finite", ~finite), ("outside", outside), ("inverted", inverted),
             ("zero-size", zero), ("sub-pixel", sub_pixel))
    counts: dict[str, int] = {}
    taken = np.zeros(count, dtype=bool)
    for reason, hit in tests:
        fresh = hit & ~taken
        if fresh.any():
            counts[reason] = int(fresh.sum())
            taken |= fresh
    return counts


# -- a mergeable tally over records ----------------------------------------------------------


def new_tally() -> dict[str, Any]:
    """An empty tally (plain, picklable data)."""
    return {"records": 0, "boxes": 0, "unsized": 0, "invalid": {}}


def add_to_tally(tally: dict[str, Any], values: Sequence[float] | np.ndarray,
                 size: tuple[int, int] | None) -> None:
    """Count one record's flat box list under every candidate (in place).

    A count that is not a multiple of 4 is skipped (it is no box list).
    """
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if not array.size or array.size % 4:
        return
    tally["records"] += 1
    tally["boxes"] += array.size // 4
    size = _known_size(size)
    if size is None:
        tally["unsized"] += array.size // 4
    for candidate in CANDIDATES:
        reasons = invalid_reasons(array, candidate, size)
        if reasons:
            table = tally["invalid"].setdefault(candidate.key, {})
            for reason, count in reasons.items():
                table[reason] = table.get(reason, 0) + count


def merge_tallies(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """``left`` with ``right`` added (associative and commutative; ``left`` is changed)."""
    for name in ("records", "boxes", "unsized"):
        left[name] += right[name]
    for key, reasons in right["invalid"].items():
        table = left["invalid"].setdefault(key, {})
        for reason, count in reasons.items():
            table[reason] = table.get(reason, 0) + count
    return left


@dataclass(frozen=True)
class LayoutReport:
    """Which box layouts fit the data, and how many boxes each other one would make invalid."""

    records: int
    boxes: int
    #: Boxes of records whose image size is unknown (pixel layouts cannot be judged for them).
    unsized: int
    #: Candidate key -> reason -> boxes made invalid (candidates that make none are absent).
    invalid: dict[str, dict[str, int]]

    @classmethod
    def from_tally(cls, tally: dict[str, Any]) -> LayoutReport:
        """The report of a fully merged tally."""
        invalid = {key: dict(sorted(reasons.items(), key=lambda kv: REASONS.index(kv[0])))
                   for key, reasons in tally["invalid"].items() if reasons}
        return cls(tally["records"], tally["boxes"], tally["unsized"], invalid)

    def invalid_count(self, layout: BoxLayout | str) -> int:
        """How many boxes ``layout`` would make invalid."""
        key = layout.key if isinstance(layout, BoxLayout) else BoxLayout.parse(layout).key
        return sum(self.invalid.get(key, {}).values())

    @property
    def fitting(self) -> tuple[BoxLayout, ...]:
        """The candidates that make no box invalid."""
        if not self.boxes:
            return ()
        return tuple(c for c in CANDIDATES if not self.invalid_count(c))

    @property
    def verdict(self) -> str:
        """``one`` layout fits, several (``ambiguous``), ``none``, or ``no-boxes`` to judge."""
        if not self.boxes:
            return "no-boxes"
        fits = len(self.fitting)
        return "one" if fits == 1 else "ambiguous" if fits else "none"

    @property
    def chosen(self) -> BoxLayout | None:
        """The layout when exactly one fits; ``None`` otherwise (never a guess)."""
        fitting = self.fitting
        return fitting[0] if len(fitting) == 1 else None

    @property
    def closest(self) -> tuple[BoxLayout, ...]:
        """The candidates that make the fewest boxes invalid (the fitting ones when any fit)."""
        if not self.boxes:
            return ()
        fewest = min(self.invalid_count(c) for c in CANDIDATES)
        return tuple(c for c in CANDIDATES if self.invalid_count(c) == fewest)

    def pick(self, layout: str | None = None, units: str | None = None) -> BoxLayout | None:
        """The layout to convert with: the one fitting candidate that matches what the user
        gave (``--box-layout``/``--box-units``); with both given, exactly that. ``None`` when
        that still leaves several or none (the caller asks the user)."""
        if layout and units:
            return BoxLayout(layout, units)
        matching = [c for c in self.fitting if (layout is None or c.layout == layout)
                    and (units is None or c.units == units)]
        return matching[0] if len(matching) == 1 else None

    def describe(self) -> str:
        """One sentence for a finding: what fits, or why nothing does."""
        verdict = self.verdict
        if verdict == "no-boxes":
            return "no flat box list to read a layout from"
        if verdict == "one":
            chosen = self.chosen
            assert chosen is not None
            return (f"only {chosen} fits every one of the {self.boxes} boxes "
                    f"({LAYOUT_DOC[chosen.layout]})")
        if verdict == "ambiguous":
            names = ", ".join(str(c) for c in self.fitting)
            return (f"{names} all fit every one of the {self.boxes} boxes: the values cannot "
                    "tell them apart")
        best = ", ".join(f"{c} ({self.invalid_count(c)} invalid)" for c in self.closest)
        return f"no layout fits all {self.boxes} boxes; the closest: {best}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready evidence: per candidate, the boxes it makes invalid and why."""
        return {
            "verdict": self.verdict,
            "records": self.records,
            "boxes": self.boxes,
            "boxes_without_image_size": self.unsized,
            "fitting": [c.key for c in self.fitting],
            "chosen": self.chosen.key if self.chosen else None,
            "candidates": {c.key: {"invalid": self.invalid_count(c),
                                   "reasons": dict(self.invalid.get(c.key, {}))}
                           for c in CANDIDATES},
        }


def infer_layouts(flat_values_per_record: Iterable[Sequence[float]],
                  image_sizes: Iterable[tuple[int, int] | None]) -> LayoutReport:
    """Which layouts fit every box: one flat list and one ``(width, height)`` (or ``None``) per
    record, in the same order."""
    tally = new_tally()
    for values, size in zip(flat_values_per_record, image_sizes, strict=True):
        add_to_tally(tally, values, size)
    return LayoutReport.from_tally(tally)
