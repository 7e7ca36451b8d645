"""Defects of what the model makes of the boxes: anchors too large for them, a matcher that
never matches them, boxes under CenterNet's output stride (A030-A032)."""

from __future__ import annotations

import re

from tfod_doctor.testing.builder import Builder, Stage, defect
from tfod_doctor.testing.configs import MODELS
from tfod_doctor.testing.defects.config import CONFIG, _replace


def _huge_anchors(b: Builder) -> int:
    """SSD anchors 16 strides wide (128 to 2048 px at 320x320): the boxes are far smaller."""
    _replace(b, "anchor_scale: 4.0", "anchor_scale: 16.0")
    return b.config_line("multiscale_anchor_generator {")


@defect("config_anchors_too_large", Stage.CONFIG)
def config_anchors_too_large(b: Builder) -> None:
    """anchor_scale: 16 in the SSD's multiscale_anchor_generator: every box is only
    force-matched, to an anchor with a poor IoU."""
    b.plant("config_anchors_too_large", file=CONFIG, line=_huge_anchors(b))


@defect("config_anchors_never_match", Stage.CONFIG)
def config_anchors_never_match(b: Builder) -> None:
    """anchor_scale: 16 and force_match_for_each_row: false: no box is ever matched."""
    _huge_anchors(b)
    line = _replace(b, "force_match_for_each_row: true", "force_match_for_each_row: false")
    b.plant("config_anchors_never_match", file=CONFIG, line=line)


@defect("config_center_net_tiny_boxes", Stage.CONFIG)
def config_center_net_tiny_boxes(b: Builder) -> None:
    """A CenterNet model whose resizer shrinks the images to 32x32: every box is under two
    cells of the output stride."""
    num_classes = int(re.search(r"num_classes: (\d+)", b.config_text).group(1))
    start = b.config_text.index("model {")
    end = b.config_text.index("train_config {")
    model = MODELS["center_net"] % {"num_classes": num_classes}
    b.config_text = b.config_text[:start] + model + b.config_text[end:]
    _replace(b, "min_dimension: 512", "min_dimension: 32")
    _replace(b, "max_dimension: 512", "max_dimension: 32")
    b.plant("config_center_net_tiny_boxes", file=CONFIG,
            line=b.config_line("keep_aspect_ratio_resizer {"))
