"""A: the model: what the model builder, the checkpoint restore, the anchors and the train loop
make of the config and the data.

Ids: A001-A019 the model builder and the train loop, A020-A029 the checkpoint, A030-A049 the
anchors, the matcher and what the model can learn from the boxes.
"""

from tfod_doctor.catalogue import Rule, define
from tfod_doctor.findings import Severity

BOXES_NEVER_MATCHED = define(Rule(
    id="A030",
    name="boxes-never-matched",
    severity=Severity.DATA_LOSS,
    summary="Boxes that no anchor matches: after the image_resizer, no anchor reaches the "
            "matcher's matched_threshold with them and nothing forces a match (or their only "
            "forced anchor goes to another box of the same image).",
    why="The matcher turns an anchor into a positive only when its IoU with a box reaches "
        "matched_threshold (or, with force_match_for_each_row, the box's single best anchor). "
        "A box no anchor matches is never a positive: the model gets no loss for it and its "
        "anchors are trained as background. This is the usual answer to 'why does my model "
        "not detect small objects'.",
    fix="Make the boxes and the anchors meet: a larger input size (image_resizer), smaller "
        "anchors (min_scale / scales / anchor_scale, or an FPN extractor with a lower level), "
        "other aspect_ratios for thin boxes, or force_match_for_each_row: true.",
    example="argmax_matcher { matched_threshold: 0.5 force_match_for_each_row: false } with "
            "10-pixel boxes in 1280x720 images resized to 300x300",
    defect="config_anchors_never_match",
))

BOXES_FORCE_MATCHED = define(Rule(
    id="A031",
    name="boxes-force-matched-poorly",
    severity=Severity.WARNING,
    summary="Boxes that only force_match_for_each_row matches: their best anchor's IoU is "
            "under matched_threshold after the image_resizer.",
    why="Such a box gets exactly one positive anchor, chosen by force, whose shape is far from "
        "the box: few positives and large regression targets, so the model learns these "
        "boxes slowly and detects them poorly.",
    fix="A larger input size (image_resizer), smaller anchors (min_scale / scales / "
        "anchor_scale, or an FPN extractor with a lower level), or aspect_ratios that fit "
        "the boxes.",
    example="ssd_anchor_generator { min_scale: 0.2 } with 12-pixel boxes in 300x300 inputs",
    defect="config_anchors_too_large",
))

BOXES_UNDER_STRIDE = define(Rule(
    id="A032",
    name="boxes-under-output-stride",
    severity=Severity.WARNING,
    summary="CenterNet: boxes under two cells of the output stride (8 pixels at stride 4) on "
            "a side after the image_resizer.",
    why="CenterNet predicts one centre per output cell (stride 4): boxes this small share a "
        "cell with their neighbours, their centre heatmap is a single cell and their size is "
        "regressed from a cell that sees little of them.",
    fix="A larger input size (image_resizer), or crop / tile large images so the objects keep "
        "more pixels.",
    example="keep_aspect_ratio_resizer { min_dimension: 512 max_dimension: 512 } with 10-pixel "
            "boxes in 4000x3000 images",
    defect="config_center_net_tiny_boxes",
))
