"""The dataset's quality when nothing is broken: imbalance, outliers, split skew, and the
expectations a team wrote in its project file (D008-D016).

Everything here works on the merged statistics (``report.stats`` of
:mod:`tfod_doctor.checks.statistics`: classes, boxes per image, box size and aspect histograms,
image sizes, and the same per split under ``by_split``), so it costs nothing per record.

Skew follows TFDV: the L-infinity distance of two categorical distributions (the largest gap
between the shares of one value) and the Jensen-Shannon divergence (base 2, in [0, 1]) of two
histograms. A distance is only reported when it is also above what sampling alone gives
splits of these sizes once in a thousand times (:func:`_noise_linf`, :func:`_noise_js`), so
small clean datasets stay quiet.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tfod_doctor.catalogue import dataset as D
from tfod_doctor.checks.context import CheckContext, Expectations, QualityThresholds
from tfod_doctor.findings import Finding, Location

#: How sure a distance must be to count: beyond what two samples of one distribution show
#: by chance once in a thousand (z of the one-sided 0.999 quantile).
Z_999 = 3.09
#: ``("size", "WxH")`` / ``("boxes", n)`` -> the first record with it: (file, index, offset).
FirstPlaces = Mapping[tuple, tuple[str, int, int]]


def quality_findings(stats: Mapping[str, Any], ctx: CheckContext,
                     first: FirstPlaces | None = None) -> list[Finding]:
    """The findings of the quality rules on merged statistics (``first`` locates the first
    record of each image size and box count)."""
    first = first or {}
    limits = ctx.quality
    splits = stats.get("by_split", {})
    train = splits.get("train", stats)
    findings = [
        *_imbalance(train, ctx, "train" if "train" in splits else None),
        *_missing_from_split(splits),
        *_skew(splits, limits),
        *_image_size_outliers(stats, limits, first),
        *_crowded_images(stats, limits, first),
    ]
    if ctx.expect is not None:
        findings += _expectations(stats, ctx.expect)
    return findings


# -- imbalance -----------------------------------------------------------------------------


def _class_name(row: Mapping[str, Any]) -> str:
    if row.get("name") is not None and row.get("id") is not None:
        return f"{row['id']} ({row['name']!r})"
    return str(row.get("name") if row.get("name") is not None else row.get("id"))


def _valid_class(row: Mapping[str, Any], ctx: CheckContext) -> bool:
    """Whether a class is one the model has (boxes of other ids are the label rules' matter)."""
    class_id = row.get("id")
    if ctx.num_classes is not None and (class_id is None or not 0 < class_id <= ctx.num_classes):
        return False
    return ctx.label_map is None or class_id in ctx.label_map.ids


def _imbalance(split: Mapping[str, Any], ctx: CheckContext, role: str | None
               ) -> list[Finding]:
    """D009 rare classes and D010 a dominant class, among the valid classes with boxes."""
    limits = ctx.quality
    rows = [row for row in split.get("classes", [])
            if row["boxes"] > 0 and _valid_class(row, ctx)]
    if len(rows) < 2:
        return []
    where = f"the {role} split" if role else "the records"
    counts = sorted(row["boxes"] for row in rows)
    median = counts[len(counts) // 2]
    total = sum(counts)
    findings = []
    for row in rows:
        boxes = row["boxes"]
        if (boxes < limits.min_boxes_per_class and boxes * limits.rare_factor <= median
                and median >= 2 * limits.rare_factor):  # a tiny dataset: every class is rare
            findings.append(D.RARE_CLASS.finding(
                f"class {_class_name(row)} has {boxes} box(es) in {where}, against a median of "
                f"{median} per class: too few to learn it (under {limits.min_boxes_per_class})",
                class_id=row.get("id"), name=row.get("name"), boxes=boxes, median=median))
        if boxes / total > limits.dominant_share:
            findings.append(D.DOMINANT_CLASS.finding(
                f"class {_class_name(row)} holds {boxes / total:.0%} of the {total} boxes in "
                f"{where}: the model learns mostly this class",
                class_id=row.get("id"), name=row.get("name"), boxes=boxes, share=boxes / total))
    return findings


#: D011 speaks only when a random split would have put at least this many of the class's
#: boxes into eval (then missing them all has a chance of about e^-3, 5%).
EXPECTED_EVAL_BOXES = 3.0


def _missing_from_split(splits: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """D011: a class with boxes in train and none in eval (eval cannot measure it), when a
    random split would hardly have left it out (a tiny eval misses classes by chance)."""
    if "train" not in splits or "eval" not in splits or not splits["eval"].get("boxes"):
        return []
    in_eval = {_key(row) for row in splits["eval"]["classes"] if row["boxes"] > 0}
    ratio = splits["eval"]["boxes"] / max(splits["train"].get("boxes", 0), 1)
    return [
        D.CLASS_MISSING_FROM_SPLIT.finding(
            f"class {_class_name(row)} has {row['boxes']} box(es) in train and none in eval "
            f"(a random split would give eval about {row['boxes'] * ratio:.0f}): eval never "
            "measures it (its AP is missing or meaningless)",
            class_id=row.get("id"), name=row.get("name"), train_boxes=row["boxes"])
        for row in splits["train"]["classes"]
        if row["boxes"] * ratio >= EXPECTED_EVAL_BOXES and _key(row) not in in_eval
    ]


def _key(row: Mapping[str, Any]) -> tuple:
    return (row.get("id"), row.get("name"))


# -- split skew ----------------------------------------------------------------------------


def linf(left: Mapping[Any, float], right: Mapping[Any, float]) -> float:
    """The L-infinity distance of two categorical distributions given as counts."""
    left_total, right_total = sum(left.values()), sum(right.values())
    if not left_total or not right_total:
        return 0.0
    return max(abs(left.get(k, 0) / left_total - right.get(k, 0) / right_total)
               for k in set(left) | set(right))


def jensen_shannon(left: Sequence[float], right: Sequence[float]) -> float:
    """The Jensen-Shannon divergence (base 2, 0 to 1) of two histograms given as counts."""
    left_total, right_total = sum(left), sum(right)
    if not left_total or not right_total:
        return 0.0
    p = [v / left_total for v in left]
    q = [v / right_total for v in right]
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]
    return (_kl(p, m) + _kl(q, m)) / 2


def _kl(p: Sequence[float], m: Sequence[float]) -> float:
    return sum(a * math.log2(a / b) for a, b in zip(p, m, strict=True) if a > 0)


def _noise_linf(n_left: int, n_right: int) -> float:
    """About the largest L-infinity distance two samples of one distribution show by chance
    (a share's difference at its widest, p = 1/2, at the 0.999 quantile)."""
    return Z_999 * 0.5 * math.sqrt(1 / n_left + 1 / n_right)


def _noise_js(bins: int, n_left: int, n_right: int) -> float:
    """About the largest Jensen-Shannon divergence two samples of one distribution show by
    chance: 8 ln 2 · JS / (1/n + 1/m) is about chi-squared with ``bins - 1`` degrees of
    freedom (the G-test of homogeneity); its 0.999 quantile by Wilson and Hilferty."""
    df = max(bins - 1, 1)
    quantile = df * (1 - 2 / (9 * df) + Z_999 * math.sqrt(2 / (9 * df))) ** 3
    return quantile / (8 * math.log(2)) * (1 / n_left + 1 / n_right)


def _categorical(split: Mapping[str, Any], feature: str) -> dict[Any, int]:
    if feature == "classes":
        return {_class_name(row): row["boxes"] for row in split.get("classes", [])}
    return dict(split.get(feature, {}))


def _histogram(split: Mapping[str, Any], feature: str) -> list[int]:
    if feature == "boxes_per_image":
        counts = {int(n): c for n, c in split.get(feature, {}).items()}
        top = max(counts, default=0)
        # Powers of two: 0, 1, 2-3, 4-7, ...: the shape, not every count.
        bins = [0] * (top.bit_length() + 1)
        for n, c in counts.items():
            bins[n.bit_length()] += c
        return bins
    return list(split.get(feature, {}).get("counts", []))


#: Feature -> (how its distance is measured, what it is, its sample unit).
SKEW_FEATURES = {
    "classes": ("linf", "class frequencies", "boxes"),
    "image_sizes": ("linf", "image sizes", "records"),
    "boxes_per_image": ("js", "boxes per image", "records"),
    "box_sizes": ("js", "box sizes", "boxes"),
    "box_aspect": ("js", "box aspect ratios", "boxes"),
}


def split_distances(train: Mapping[str, Any], other: Mapping[str, Any]
                    ) -> dict[str, dict[str, Any]]:
    """Per feature: the distance between two splits' distributions, how it is measured, and
    the sampling noise of splits of these sizes."""
    distances = {}
    for feature, (measure, _, unit) in SKEW_FEATURES.items():
        n_left, n_right = train.get(unit, 0), other.get(unit, 0)
        if not n_left or not n_right:
            continue
        if measure == "linf":
            value = linf(_categorical(train, feature), _categorical(other, feature))
            noise = _noise_linf(n_left, n_right)
        else:
            left, right = _histogram(train, feature), _histogram(other, feature)
            width = max(len(left), len(right))
            left, right = left + [0] * (width - len(left)), right + [0] * (width - len(right))
            value = jensen_shannon(left, right)
            bins = sum(1 for a, b in zip(left, right, strict=True) if a or b)
            noise = _noise_js(max(bins, 2), n_left, n_right)
        distances[feature] = {"measure": measure, "distance": round(value, 4),
                              "noise": round(noise, 4)}
    return distances


def _skew(splits: Mapping[str, Mapping[str, Any]], limits: QualityThresholds
          ) -> list[Finding]:
    """D008: eval (or any other split) drawn from another distribution than train."""
    if "train" not in splits:
        return []
    findings = []
    for role, split in sorted(splits.items()):
        if role == "train":
            continue
        for feature, found in split_distances(splits["train"], split).items():
            threshold = limits.skew_linf if found["measure"] == "linf" else limits.skew_js
            if found["distance"] <= max(threshold, found["noise"]):
                continue
            measure = ("L-infinity distance" if found["measure"] == "linf"
                       else "Jensen-Shannon divergence")
            findings.append(D.SPLIT_SKEW.finding(
                f"the {SKEW_FEATURES[feature][1]} of {role} differ from train's: "
                f"{measure} {found['distance']:.2f} (threshold {threshold}; by chance, splits of "
                f"these sizes differ by up to {found['noise']:.2f})",
                feature=feature, split=role, threshold=threshold, **found))
    return findings


# -- outliers ------------------------------------------------------------------------------


def _sizes(stats: Mapping[str, Any]) -> list[tuple[int, int, int]]:
    """``(width, height, records)`` of each image size."""
    found = []
    for size, count in stats.get("image_sizes", {}).items():
        width, _, height = size.partition("x")
        if width.isdigit() and height.isdigit():
            found.append((int(width), int(height), count))
    return found


def _weighted_median(values: list[tuple[float, int]]) -> float:
    ordered = sorted(values)
    half, seen = sum(c for _, c in ordered) / 2, 0
    for value, count in ordered:
        seen += count
        if seen >= half:
            return value
    return ordered[-1][0]


def _at(first: FirstPlaces, what: tuple) -> Location:
    """The location of the first record with an image size or box count (if known)."""
    place = first.get(what)
    if place is None:
        return Location()
    return Location(file=place[0], record=place[1], offset=place[2])


def _image_size_outliers(stats: Mapping[str, Any], limits: QualityThresholds,
                         first: FirstPlaces) -> list[Finding]:
    """D012: image sizes whose area is far from the dataset's usual one, one finding a size
    at the first record of that size."""
    sizes = [s for s in _sizes(stats) if s[0] > 0 and s[1] > 0]
    if len(sizes) < 2:
        return []
    median = _weighted_median([(w * h, c) for w, h, c in sizes])
    factor, usual = limits.outlier_factor, math.isqrt(int(median))
    return [
        D.IMAGE_SIZE_OUTLIER.finding(
            f"{count} image(s) of {w}x{h}, over {factor:g}x the area of the usual {usual}² "
            "pixels (this record is the first of them)",
            _at(first, ("size", f"{w}x{h}")), size=f"{w}x{h}", images=count,
            median_area=median)
        for w, h, count in sorted(sizes)
        if not median / factor <= w * h <= median * factor
    ]


def _crowded_images(stats: Mapping[str, Any], limits: QualityThresholds,
                    first: FirstPlaces) -> list[Finding]:
    """D013: images with far more boxes than the dataset's usual number, one finding a box
    count at the first record with it."""
    counts = [(int(n), c) for n, c in stats.get("boxes_per_image", {}).items() if int(n) > 0]
    if not counts:
        return []
    median = _weighted_median([(float(n), c) for n, c in counts])
    bound = max(limits.outlier_factor * median, limits.crowded_min_boxes)
    return [
        D.CROWDED_IMAGE.finding(
            f"{count} image(s) with {n} boxes, against a median of {median:g} (more than "
            f"{bound:g} is crowded; this record is the first of them)",
            _at(first, ("boxes", n)), boxes=n, images=count, median=median)
        for n, count in sorted(counts) if n > bound
    ]


# -- expectations --------------------------------------------------------------------------


def _expectations(stats: Mapping[str, Any], expect: Expectations) -> list[Finding]:
    """D014-D016: what the team's project file says the dataset must be."""
    findings = []
    splits = stats.get("by_split") or {"": stats}
    for role, split in sorted(splits.items()):
        present = {row.get("name") for row in split.get("classes", []) if row["boxes"] > 0}
        present |= {str(row.get("id")) for row in split.get("classes", []) if row["boxes"] > 0}
        where = f"the {role} split" if role else "the records"
        findings += [D.EXPECTED_CLASS_ABSENT.finding(
            f"class {name!r}, which the project file expects, has no box in {where}",
            name=name, split=role or None) for name in expect.classes if name not in present]
    outside = [(w, h, c) for w, h, c in _sizes(stats) if not expect.size_fits(w, h)]
    if outside:
        listed = ", ".join(f"{w}x{h} ({c})" for w, h, c in sorted(outside)[:8])
        findings.append(D.IMAGE_SIZE_UNEXPECTED.finding(
            f"{sum(c for *_, c in outside)} image(s) are outside the expected size range "
            f"{expect.describe_sizes()}: {listed}",
            sizes={f"{w}x{h}": c for w, h, c in outside}))
    if expect.max_boxes_per_image is not None:
        over = {int(n): c for n, c in stats.get("boxes_per_image", {}).items()
                if int(n) > expect.max_boxes_per_image}
        if over:
            findings.append(D.TOO_MANY_BOXES_EXPECTED.finding(
                f"{sum(over.values())} image(s) have more than the expected "
                f"{expect.max_boxes_per_image} boxes (up to {max(over)})",
                boxes_per_image={str(n): c for n, c in sorted(over.items())},
                limit=expect.max_boxes_per_image))
    return findings
