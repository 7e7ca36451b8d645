"""What the model can learn from the boxes: every box of the records, resized as training
resizes its image, against the anchors the model places and the matcher that picks positives
(A030, A031), or against CenterNet's output stride (A032).

Works on the boxes the scan gathered (:mod:`tfod_doctor.checks.box_sample`), all at once with
numpy, after the scan. A box's status:

- ``matched``: some anchor reaches ``matched_threshold`` with it;
- ``forced``: only ``force_match_for_each_row`` matches it, to its best anchor, with a lower IoU;
- ``never``: nothing matches it: no threshold reached and no forced match, or no anchor
  overlaps it at all, or its forced anchor is also the best anchor of an earlier box of the
  same image (the OD API gives each anchor to one box, the first; counted only when both
  boxes' best anchor is clear, not a tie that float32 rounding decides).

A box is judged alone: an anchor that reaches the threshold with two boxes goes to the one it
overlaps most, which is not modelled (it only matters for boxes that overlap each other).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tfod_doctor.catalogue import model as A
from tfod_doctor.checks.box_sample import BoxSample, sample_of
from tfod_doctor.config.pipeline import PipelineConfig
from tfod_doctor.findings import Finding, Severity
from tfod_doctor.model import feature_maps as maps
from tfod_doctor.model.anchors import AnchorError, Anchors, anchor_block, model_anchors
from tfod_doctor.model.matching import Matcher, best_iou, read_matcher
from tfod_doctor.model.resizer import KNOWN, Resizer, read_resizer

#: Size bands: the square root of a box's area in pixels of the network's input.
BANDS = (0.0, 8.0, 16.0, 32.0, 64.0, 128.0, math.inf)
BAND_NAMES = ("<8 px", "8-16 px", "16-32 px", "32-64 px", "64-128 px", ">=128 px")
#: CenterNet: boxes whose shorter side is under this many output cells are reported.
CENTER_NET_CELLS = 2
#: At most this many input sizes (canvases) are worked out; the boxes of others are skipped.
MAX_CANVASES = 64
#: A031 and A032 are warnings when at least this share of a class's boxes, and this many, are
#: concerned, else info (A030, boxes the model never learns from, is always data loss).
MIN_SHARE = 0.05
MIN_BOXES = 10
#: At most this many boxes go into the report's plot.
PLOT_POINTS = 2000


def anchor_analysis(config: PipelineConfig, states: dict[str, Any]
                    ) -> tuple[list[Finding], dict[str, Any]]:
    """The findings and the ``stats["model"]["anchors"]`` section for the scanned boxes."""
    sample = sample_of(states)
    if sample is None or not len(sample.classes):
        return [], {}
    resizer = read_resizer(config.arch_node)
    if resizer is None or resizer.kind not in KNOWN:
        what = resizer.kind if resizer else "no image_resizer"
        return [], _section({"skipped": f"{what} is not worked out"})
    if resizer.problem:
        return [], _section({"skipped": resizer.problem})
    boxes = _resized_boxes(sample, resizer)
    if not len(boxes.index):
        return [], _section({"skipped": "no box with a known image size and proper corners",
                             "skipped_boxes": boxes.unsized})
    if config.arch == "center_net":
        return _center_net(config, sample, resizer, boxes)
    matcher = read_matcher(config.arch, config.arch_node)
    if matcher is None or matcher.kind != "argmax_matcher":
        what = matcher.kind if matcher else "no matcher for anchors"
        return [], _section({"skipped": f"{config.arch}: {what} is not worked out"})
    try:
        return _anchor_based(config, sample, resizer, matcher, boxes)
    except AnchorError as exc:  # training's builder stops on it too
        return [], _section({"skipped": f"the anchors cannot be made: {exc}"})


def review_anchors(config: PipelineConfig, stats: dict[str, Any], states: dict[str, Any]
                   ) -> list[Finding]:
    """The after-scan step of ``check``: the anchor findings; ``stats["model"]["anchors"]``."""
    findings, section = anchor_analysis(config, states)
    if section:
        stats.setdefault("model", {}).update(section["model"])
    return findings


def _section(values: dict[str, Any]) -> dict[str, Any]:
    return {"model": {"anchors": values}}


class Resized:
    """The boxes that can be worked out, in pixels of the network's input."""

    def __init__(self, sample: BoxSample, resizer: Resizer) -> None:
        c = sample.columns
        sized = (c["width"] > 0) & (c["height"] > 0) if resizer.needs_image_size else True
        with np.errstate(invalid="ignore"):
            proper = np.isfinite(c["ymin"]) & np.isfinite(c["xmin"]) & np.isfinite(
                c["ymax"]) & np.isfinite(c["xmax"]) & (c["ymax"] > c["ymin"]) & (
                c["xmax"] > c["xmin"])
        # Training learns from the train split: only its boxes, when the records have one.
        self.split = 1 if np.any(c["train"] == 1) else None
        if self.split is not None:
            proper &= c["train"] == 1
        keep = np.flatnonzero(proper & sized)
        self.index = keep
        self.unsized = int(np.count_nonzero(proper & ~sized)) if resizer.needs_image_size else 0
        h, w, ch, cw = resizer.resize(c["width"][keep], c["height"][keep])
        self.canvas = np.stack([ch, cw], axis=1)
        self.corners = np.stack([c["ymin"][keep] * h, c["xmin"][keep] * w,
                                 c["ymax"][keep] * h, c["xmax"][keep] * w], axis=1)
        self.heights = self.corners[:, 2] - self.corners[:, 0]
        self.widths = self.corners[:, 3] - self.corners[:, 1]
        self.sizes = np.sqrt(self.heights * self.widths)
        self.classes = sample.classes[keep]
        self.record = c["record"][keep]


def _resized_boxes(sample: BoxSample, resizer: Resizer) -> Resized:
    return Resized(sample, resizer)


# -- anchors -----------------------------------------------------------------------------------


def _anchor_based(config: PipelineConfig, sample: BoxSample, resizer: Resizer,
                  matcher: Matcher, boxes: Resized) -> tuple[list[Finding], dict[str, Any]]:
    n = len(boxes.index)
    iou, runner_up = np.zeros(n), np.zeros(n)
    anchor = np.full(n, -1, dtype=np.int64)
    group = np.full(n, -1, dtype=np.int64)
    # Canvases are whole pixels: one number each (``np.unique`` along an axis is slow).
    keys, inverse, counts = np.unique(boxes.canvas[:, 0] * 2.0**32 + boxes.canvas[:, 1],
                                      return_inverse=True, return_counts=True)
    canvases = np.stack([np.floor(keys / 2.0**32), keys % 2.0**32], axis=1)
    worked: list[Anchors] = []
    for rank, g in enumerate(np.argsort(-counts, kind="stable")[:MAX_CANVASES]):
        canvas = (int(canvases[g][0]), int(canvases[g][1]))
        anchors = model_anchors(config.arch, config.arch_node, canvas)
        if isinstance(anchors, str):
            return [], _section({"skipped": anchors})
        members = np.flatnonzero(inverse == g)
        iou[members], anchor[members], runner_up[members] = best_iou(
            boxes.corners[members], anchors)
        group[members] = rank
        worked.append(anchors)
    analysed = group >= 0
    status = match_status(iou, anchor, group, boxes.record, matcher, runner_up)
    status[~analysed] = -1
    findings = _anchor_findings(config, sample, boxes, matcher, worked[0], status, iou,
                                resizer)
    stats = _stats(sample, boxes, status, iou, resizer)
    stats.update(matcher=matcher.describe(), matched_threshold=matcher.matched,
                 generator=worked[0].generator,
                 anchors=_anchor_stats(worked[0]), skipped_boxes=int(np.count_nonzero(
                     ~analysed)) + boxes.unsized)
    return findings, _section(stats)


def _median(values: np.ndarray) -> float:
    """The median of values (at least one), as ``np.median`` gives it; ``np.median`` and
    ``np.quantile`` import ``numpy.ma`` (25 ms, at the first call of every run)."""
    n = len(values)
    middle = np.partition(values, [(n - 1) // 2, n // 2])
    return float((middle[(n - 1) // 2] + middle[n // 2]) / 2)


MATCHED, FORCED, NEVER = 0, 1, 2
#: Two IoUs this close (relatively) are a tie: float32 rounding decides between them.
_TIE = 1e-4


def match_status(iou: np.ndarray, anchor: np.ndarray, group: np.ndarray, record: np.ndarray,
                 matcher: Matcher, runner_up: np.ndarray | None = None) -> np.ndarray:
    """``MATCHED``, ``FORCED`` or ``NEVER`` per box (see the module's docstring).

    A forced anchor is lost to an earlier box only when it is certain: both boxes' best
    anchor is that one by more than rounding (``runner_up``, the best IoU with another anchor,
    is clearly lower). When anchors tie, the OD API's ``argmax`` takes one by float32 rounding,
    which is not predicted, so such boxes are counted as force-matched.
    """
    status = np.full(len(iou), NEVER, dtype=np.int64)
    status[(iou > 0) & matcher.force] = FORCED
    status[(iou > 0) & (iou >= matcher.matched)] = MATCHED
    if matcher.force and len(iou):
        unique = (np.flatnonzero(iou > runner_up * (1 + _TIE) + 1e-12) if runner_up is not None
                  else np.arange(len(iou)))
        # Each anchor is forced onto one box: the first box of the image that picks it.
        r, g, a = record[unique], group[unique], anchor[unique]
        order = np.lexsort((unique, a, g, r))
        same = np.r_[False, (r[order][1:] == r[order][:-1]) & (g[order][1:] == g[order][:-1])
                     & (a[order][1:] == a[order][:-1])]
        lost = np.zeros(len(iou), dtype=bool)
        lost[unique[order]] = same
        status[lost & (status == FORCED)] = NEVER
    return status


def _anchor_findings(config: PipelineConfig, sample: BoxSample, boxes: Resized,
                     matcher: Matcher, anchors: Anchors, status: np.ndarray, iou: np.ndarray,
                     resizer: Resizer) -> list[Finding]:
    found = anchor_block(config.arch, config.arch_node)
    generator_pos = found[1].pos if found else config.arch_node.pos
    poor = (status == FORCED) & (iou < matcher.unmatched)
    findings = []
    for label in _ordered(boxes.classes):
        mine = boxes.classes == label
        never, weak = mine & (status == NEVER), mine & poor
        for rule, chosen, pos, what, why in (
                (A.BOXES_NEVER_MATCHED, never, matcher.where,
                 "are never matched to an anchor", _never_why(matcher, iou, never)),
                (A.BOXES_FORCE_MATCHED, weak, generator_pos,
                 "are matched only by force_match_for_each_row, to an anchor with a poor IoU",
                 f"their best anchor's IoU is under unmatched_threshold "
                 f"{matcher.unmatched:g} (median "
                 f"{_median(iou[weak]) if weak.any() else 0:.2f})")):
            if not chosen.any():
                continue
            findings.append(_class_finding(
                config, rule, pos, sample, boxes, label, mine, chosen, what,
                f"after {resizer.describe()}, {why} ({matcher.describe()})",
                _advice(resizer, anchors, boxes, chosen)))
    return findings


def _never_why(matcher: Matcher, iou: np.ndarray, never: np.ndarray) -> str:
    """Why these boxes are never matched, with how many for each reason."""
    if not matcher.force:
        return (f"no anchor reaches matched_threshold {matcher.matched:g} with them and "
                "force_match_for_each_row is off")
    apart = int(np.count_nonzero(never & (iou <= 0)))
    taken = int(np.count_nonzero(never)) - apart
    reasons = []
    if apart:
        reasons.append(f"{apart} overlap no anchor at all")
    if taken:
        reasons.append(f"{taken} lose the one anchor force_match_for_each_row would give them "
                       "to an earlier box of the same image that has the same best anchor")
    return " and ".join(reasons)


def _class_finding(config: PipelineConfig, rule, pos, sample: BoxSample, boxes: Resized,
                   label: str, mine: np.ndarray, chosen: np.ndarray, what: str, why: str,
                   hint: str) -> Finding:
    scale = _scale(sample, boxes, label, int(np.count_nonzero(mine)))
    count = _scaled(np.count_nonzero(chosen), scale)
    total = _scaled(np.count_nonzero(mine), scale)
    bands = {name: _scaled(np.count_nonzero(chosen & in_band), scale)
             for name, in_band in _bands(boxes.sizes)}
    bands = {name: value for name, value in bands.items() if value}
    smallest = int(np.argmin(np.where(chosen, boxes.sizes, np.inf)))
    small = (round(float(boxes.heights[smallest]), 1), round(float(boxes.widths[smallest]), 1))
    share = f"{100 * count / total:.0f}%" if total else "0%"
    about = "about " if scale != 1.0 else ""
    by_band = ", ".join(f"{name}: {value}" for name, value in bands.items())
    message = (f"class {label}: {about}{count} of {total} boxes ({share}) {what}: {why} "
               f"(by size after the resize: {by_band}; the smallest is {small[0]:g}x"
               f"{small[1]:g} px)")
    loud = count >= MIN_SHARE * total and count >= MIN_BOXES
    severity = None if rule is A.BOXES_NEVER_MATCHED or loud else Severity.INFO
    return config.finding(rule, message, pos, hint, severity, **{
        "class": label, "boxes": total, "count": count, "bands": bands,
        "smallest_px": list(small), "sampled": scale != 1.0})


def _advice(resizer: Resizer, anchors: Anchors, boxes: Resized, chosen: np.ndarray) -> str:
    """What to change, worked out from the boxes, the smallest anchors and their spacing (a
    box much smaller than the finest stride falls between anchor centres, whatever their
    size)."""
    typical = _median(boxes.sizes[chosen])
    finest = min(anchors.layers, key=lambda layer: float(
        np.sqrt(layer.heights * layer.widths).min()))
    smallest = float(np.sqrt(finest.heights * finest.widths).min())
    spacing = min(finest.stride)
    factor = max(smallest, spacing) / max(typical, 1e-6)
    tips = [f"these boxes are about {typical:.0f} px after the resize; the smallest anchors "
            f"are {smallest:.0f} px, {spacing:.0f} px apart"]
    if factor > 1.2:
        tips.append(f"an input about {factor:.1f}x larger ({_larger(resizer, factor)})")
        if factor > 4:
            tips.append("or images cut into tiles, so the objects keep their pixels")
        if smallest / max(typical, 1e-6) > 1.2:
            tips.append(_smaller_anchors(anchors, smallest / max(typical, 1e-6)))
    ratios = boxes.widths[chosen] / boxes.heights[chosen]
    aspect = float(np.exp(_median(np.log(ratios))))
    if aspect > 2.5 or aspect < 0.4:
        tips.append(f"aspect_ratios that include about {aspect:.2g} (width / height)")
    return "; ".join(tips)


def _larger(resizer: Resizer, factor: float) -> str:
    def up(value: int) -> int:
        return int(math.ceil(value * factor / 32) * 32)

    if resizer.kind == "fixed_shape_resizer":
        return f"fixed_shape_resizer {up(resizer.height)}x{up(resizer.width)}"
    if resizer.kind == "keep_aspect_ratio_resizer":
        return (f"min_dimension {up(resizer.min_dimension)}, max_dimension "
                f"{up(resizer.max_dimension)}")
    return "larger images"


def _smaller_anchors(anchors: Anchors, factor: float) -> str:
    if anchors.generator == "ssd_anchor_generator":
        return (f"smaller anchors (reduce_boxes_in_lowest_layer: false and min_scale about "
                f"{0.1 / factor:.2g}: the lowest layer otherwise keeps a scale of 0.1; or an "
                "FPN extractor with multiscale_anchor_generator from min_level 3)")
    if anchors.generator == "multiscale_anchor_generator":
        return (f"smaller anchors (anchor_scale about {4.0 / factor:.2g}, or a lower min_level "
                "with an extractor that has it)")
    return f"smaller anchors (scales or base sizes about {1 / factor:.2g}x as large)"


def _anchor_stats(anchors: Anchors) -> list[dict[str, Any]]:
    return [{"grid": list(layer.grid), "stride": [round(s, 3) for s in layer.stride],
             "shapes_px": [[round(float(h), 1), round(float(w), 1)]
                           for h, w in zip(layer.heights, layer.widths, strict=True)],
             "count": layer.count} for layer in anchors.layers]


# -- CenterNet ---------------------------------------------------------------------------------


def _center_net(config: PipelineConfig, sample: BoxSample, resizer: Resizer,
                boxes: Resized) -> tuple[list[Finding], dict[str, Any]]:
    limit = CENTER_NET_CELLS * maps.CENTER_NET_STRIDE
    under = np.minimum(boxes.heights, boxes.widths) < limit
    status = np.where(under, NEVER, MATCHED)
    findings = []
    for label in _ordered(boxes.classes):
        mine = boxes.classes == label
        chosen = mine & under
        if chosen.any():
            side = _median(np.minimum(boxes.heights[chosen], boxes.widths[chosen]))
            findings.append(_class_finding(
                config, A.BOXES_UNDER_STRIDE, resizer.node.pos, sample, boxes, label, mine,
                chosen, f"are under {CENTER_NET_CELLS} output cells on a side",
                f"after {resizer.describe()}, a side is under {limit} px (CenterNet's output "
                f"stride is {maps.CENTER_NET_STRIDE})",
                f"a larger input ({_larger(resizer, limit / max(side, 1e-6))}), or images "
                "tiled or cropped so the objects keep more pixels"))
    stats = _stats(sample, boxes, status, None, resizer)
    stats.update(output_stride=maps.CENTER_NET_STRIDE, min_side_px=limit,
                 skipped_boxes=boxes.unsized)
    return findings, _section(stats)


# -- shared ------------------------------------------------------------------------------------


def _ordered(classes: np.ndarray) -> list[str]:
    return sorted(set(classes.tolist()))


def _bands(sizes: np.ndarray):
    for low, high, name in zip(BANDS[:-1], BANDS[1:], BAND_NAMES, strict=True):
        yield name, (sizes >= low) & (sizes < high)


def _scale(sample: BoxSample, boxes: Resized, label: str, in_sample: int) -> float:
    if boxes.split is None:
        total = sum(n for (_, name), n in sample.class_totals.items() if name == label)
    else:
        total = sample.class_totals.get((boxes.split, label), in_sample)
    return total / in_sample if in_sample and sample.sampled else 1.0


def _scaled(count, scale: float) -> int:
    return round(int(count) * scale)


def _stats(sample: BoxSample, boxes: Resized, status: np.ndarray, iou: np.ndarray | None,
           resizer: Resizer) -> dict[str, Any]:
    classes = []
    for label in _ordered(boxes.classes):
        mine = boxes.classes == label
        scale = _scale(sample, boxes, label, int(np.count_nonzero(mine)))
        bands = {}
        for name, in_band in _bands(boxes.sizes):
            sel = mine & in_band
            if sel.any():
                bands[name] = {"boxes": _scaled(np.count_nonzero(sel), scale),
                               "never": _scaled(np.count_nonzero(sel & (status == NEVER)), scale),
                               "forced": _scaled(np.count_nonzero(sel & (status == FORCED)),
                                                 scale)}
        classes.append({"class": label, "boxes": _scaled(np.count_nonzero(mine), scale),
                        "never": sum(b["never"] for b in bands.values()),
                        "forced": sum(b["forced"] for b in bands.values()),
                        "smallest_px": round(float(boxes.sizes[mine].min()), 1),
                        "bands": bands})
    # The sample is in the order of its records' hashes: evenly spaced boxes are a random pick.
    picks = np.linspace(0, len(boxes.sizes) - 1, min(PLOT_POINTS, len(boxes.sizes))).astype(
        np.int64)  # at least one apart: distinct
    plot = {"height_px": np.round(boxes.heights[picks], 2).tolist(),
            "width_px": np.round(boxes.widths[picks], 2).tolist()}
    if iou is not None:
        plot["best_iou"] = np.round(iou[picks], 3).tolist()
    return {"resizer": resizer.describe(), "boxes": len(boxes.sizes),
            "sampled": sample.sampled, "dataset_boxes": sample.boxes,
            "never": sum(c["never"] for c in classes),
            "forced": sum(c["forced"] for c in classes), "classes": classes, "plot": plot}
