"""B: boxes as the OD API assembles, filters and asserts them (spec §3)."""

from tfod_doctor.catalogue import Rule, define
from tfod_doctor.findings import Severity

LISTS_DIFFER = define(Rule(
    id="B001",
    name="coordinate-lists-differ",
    severity=Severity.ERROR,
    summary="The four box lists (ymin, xmin, ymax, xmax) have different lengths.",
    why="The decoder stacks the four lists into [N, 4] boxes; lists of different lengths stop "
        "the input pipeline: `ConcatOp : Dimension 1 in both shapes must be equal: shape[0] = "
        "[1,3] vs. shape[2] = [1,2]` (older TF: `Dimensions of inputs should match`). Usually a "
        "script appended to some lists under a condition.",
    fix="Append all four coordinates of a box together, or none of them.",
    example="xmin=[0.1, 0.5, 0.2], ymin=[0.1, 0.4, 0.3], xmax=[0.4, 0.9], ymax=[0.6, 0.8, 0.7]",
    defect="box_lists_differ",
    tf_message="ConcatOp : Dimension 1 in both shapes must be equal: shape[0] = [1,N] vs. "
               "shape[k] = [1,M]",
))

LABEL_COUNT = define(Rule(
    id="B002",
    name="label-count-mismatch",
    severity=Severity.ERROR,
    summary="The number of class labels (or names) is not the number of boxes.",
    why="Labels are gathered with box indices. Fewer labels than boxes stops training: "
        "`indices[2] = 2 is not in [0, 2)`. More labels than boxes is silent: the extra labels "
        "are dropped, and if one label was missing in the middle every label after it belongs "
        "to the wrong box (data loss).",
    fix="Write exactly one class per box, in box order.",
    example="3 boxes, image/object/class/label=[1, 2]",
    defect="fewer_labels_than_boxes",
    tf_message="InvalidArgumentError: indices[k] = k is not in [0, k)",
))

NAN_BOX = define(Rule(
    id="B003",
    name="nan-box",
    severity=Severity.DATA_LOSS,
    summary="A box has a NaN coordinate.",
    why="The OD API removes boxes with NaN coordinates (`filter_groundtruth_with_nan_box_"
        "coordinates`) without any message: the object is silently not learned. NaN usually "
        "comes from 0/0 when normalizing with a missing image size.",
    fix="Compute the coordinates again from the source annotation; check the image size used "
        "to normalize them.",
    example="image/object/bbox/xmin=[nan]",
    defect="nan_box",
    fixable=True,
))

OUTSIDE = define(Rule(
    id="B004",
    name="box-outside-image",
    severity=Severity.WARNING,
    summary="A box reaches slightly outside the image: a coordinate below 0 or above 1 (but not "
            "above 1.1).",
    why="Nothing clips ground truth in plain training: the box trains as written, with targets "
        "outside the image. Values up to 1.1 pass the 1.1 assertion; negative values always do. "
        "Boxes outside the image are a known cause of NaN losses (#1881).",
    fix="Clip coordinates to [0, 1] when writing records: `min(max(v, 0.0), 1.0)`.",
    example="image/object/bbox/xmax=[1.04]",
    defect="box_slightly_outside",
    fixable=True,
))

PIXEL_COORDINATES = define(Rule(
    id="B005",
    name="pixel-coordinates",
    severity=Severity.ERROR,
    summary="Box coordinates above 1.1: they are pixels (or the image was rotated), not "
            "normalized to [0, 1].",
    why="Eval (every architecture) and Faster R-CNN / Mask R-CNN training convert boxes with "
        "`to_absolute_coordinates(check_range=True)`, which stops on `maximum box coordinate "
        "value is larger than 1.100000`. SSD and CenterNet train without a word but learn "
        "nothing from those boxes. The most reported OD API data error.",
    fix="Divide x by the image width and y by the image height (the finding shows the "
        "normalized box). If the values fit the image with width and height swapped, the image "
        "has an EXIF rotation (I005).",
    example="640×480 image, image/object/bbox/xmax=[320.0]",
    defect="pixel_boxes",
    tf_message="InvalidArgumentError: assertion failed: [maximum box coordinate value is larger "
               "than 1.100000: ] [<max>]",
    fixable=True,
))

INVERTED = define(Rule(
    id="B006",
    name="inverted-box",
    severity=Severity.ERROR,
    summary="A box has ymin > ymax or xmin > xmax.",
    why="`assert_or_prune_invalid_boxes` asserts `ymax >= ymin` and `xmax >= xmin` after "
        "preprocessing and stops training: `assertion failed: [[ymin...]] [[ymax...]]`. On TPU "
        "the box is pruned instead and labels can shift. Usually a box dragged backwards in an "
        "annotator, or swapped columns in a CSV.",
    fix="Swap the two values of the inverted side (min of the pair first).",
    example="image/object/bbox/xmin=[0.8], image/object/bbox/xmax=[0.2]",
    defect="inverted_box",
    tf_message="InvalidArgumentError: assertion failed: [[ymin...]] [[ymax...]]",
    fixable=True,
))

ZERO_AREA = define(Rule(
    id="B007",
    name="zero-area-box",
    severity=Severity.WARNING,
    summary="A box has zero width or height (min == max).",
    why="It passes every check, but its regression targets are extreme (log of ~0), which "
        "destabilizes training; it can never match an anchor well. Usually a click instead of "
        "a drag in the annotator, or rounding to whole pixels.",
    fix="Remove the box, or fix its extent in the source annotation.",
    example="image/object/bbox/ymin=[0.5], image/object/bbox/ymax=[0.5]",
    defect="zero_area_box",
    fixable=True,
))

TINY = define(Rule(
    id="B008",
    name="tiny-box",
    severity=Severity.WARNING,
    summary="A box is under 2 pixels wide or high in its image (under 0.2% of the side when the "
            "image size is unknown).",
    why="After resizing to the model input such boxes are sub-pixel: no anchor matches them and "
        "they add only noise. Often a unit mistake (pixels divided twice).",
    fix="Check how the coordinates were normalized; remove boxes that are really this small.",
    example="640×480 image, xmin=0.5, xmax=0.5015 (1 pixel wide)",
    defect="tiny_box",
))

TOO_MANY = define(Rule(
    id="B009",
    name="too-many-boxes",
    severity=Severity.DATA_LOSS,
    summary="An image has more boxes than the input reader's `max_number_of_boxes` (default "
            "100).",
    why="Ground truth is padded or clipped to `max_number_of_boxes`, keeping the first boxes in "
        "record order: the rest are dropped without a word. (`train_config."
        "max_number_of_boxes` is deprecated and not read.) Older builds failed with `Expected "
        "size[0] in [0, 100], but got 109`.",
    fix="Raise `max_number_of_boxes` in train_input_reader and eval_input_reader above the "
        "largest count (the finding gives it), or split crowded images.",
    example="an image with 150 boxes, max_number_of_boxes not set (100)",
    defect="too_many_boxes",
    fixable=True,
))

PER_BOX_LENGTH = define(Rule(
    id="B010",
    name="per-box-list-length",
    severity=Severity.ERROR,
    summary="A per-box list (area, is_crowd, difficult, group_of, weight) has neither 0 values "
            "nor one per box.",
    why="area, is_crowd and difficult are reshaped to [boxes, -1]: a length that is not a "
        "multiple of the box count stops training (`Input to reshape is a tensor with 3 values, "
        "but the requested shape requires a multiple of 2`); a multiple silently gives each box "
        "several values. group_of and weight are padded on their own, so they silently stop "
        "lining up with the boxes (boxes past a short weight list get weight 0).",
    fix="Write one value per box, or leave the list empty (the OD API then uses defaults).",
    example="2 boxes, image/object/is_crowd=[0, 0, 0]",
    defect="is_crowd_length",
    tf_message="InvalidArgumentError: Input to reshape is a tensor with L values, but the "
               "requested shape requires a multiple of N",
))

KEYPOINT_MASK_COUNT = define(Rule(
    id="B011",
    name="keypoint-or-mask-count",
    severity=Severity.ERROR,
    summary="Masks, keypoints, DensePose points, track ids or multiclass scores do not match "
            "the number of boxes.",
    why="Numerical masks are reshaped to [-1, image/height, image/width] with the *stored* "
        "size, keypoints to [-1, num_keypoints, 2], and both are then gathered per box: a wrong "
        "count stops training with a reshape or `indices ... not in [0, n)` error, or leaves "
        "boxes without their mask.",
    fix="Write one mask (H×W floats or one PNG) per box, num_keypoints x/y values per box, one "
        "track id per box, num_classes scores per box.",
    example="3 boxes, 2 PNG masks under image/object/mask",
    defect="mask_count",
    tf_message="InvalidArgumentError: Input to reshape is a tensor with ... values / "
               "indices[k] = k is not in [0, k)",
))

INFINITE = define(Rule(
    id="B012",
    name="infinite-box",
    severity=Severity.ERROR,
    summary="A box has an infinite coordinate.",
    why="Unlike NaN, infinity is not filtered: the box is kept, eval and Faster R-CNN stop on "
        "the 1.1 assertion, and other models get infinite regression targets and NaN losses.",
    fix="Compute the coordinates again; an infinity is usually a division by a zero image "
        "size.",
    example="image/object/bbox/xmax=[inf]",
    defect="inf_box",
    fixable=True,
    tf_message="InvalidArgumentError: assertion failed: [maximum box coordinate value is larger "
               "than 1.100000: ] [inf]",
))

BOX_LAYOUT = define(Rule(
    id="B013",
    name="box-layout",
    severity=Severity.WARNING,
    summary="Which layouts (yxyx, xyxy, xywh, cxcywh; normalised or pixels) fit the flat box "
            "lists of the records, and how many boxes each other layout would make invalid.",
    why="A flat list of 4 values per box does not say what the values are. Read in the wrong "
        "layout, boxes come out shifted, swapped, inverted or outside the image. tfod-doctor "
        "reads every layout over every box (with the image size from the image header) and "
        "counts the boxes it would make invalid. When exactly one layout fits every box, the "
        "data says which it is (info); when several fit (yxyx and xyxy on normalised boxes "
        "always do), the values cannot tell them apart and only the writer of the records "
        "knows (warning).",
    fix="Convert with the layout that fits: `tfod-doctor fix` uses the one that fits, and asks "
        "for `--box-layout yxyx|xyxy|xywh|cxcywh` and `--box-units normalized|pixels` when "
        "several do.",
    example="'bbox': [x, y, w, h] in pixels (COCO)   # only xywh/pixels fits every box",
    defect="flat_box_list_xywh_pixels",
    fixable=True,
))
