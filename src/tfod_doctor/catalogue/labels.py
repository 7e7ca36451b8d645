"""L: class ids and names as the decoder resolves them against the label map (spec §2)."""

from tfod_doctor.catalogue import Rule, define
from tfod_doctor.findings import Severity

BELOW_ONE = define(Rule(
    id="L001",
    name="label-below-one",
    severity=Severity.DATA_LOSS,
    summary="A class id is 0 or negative; OD API ids start at 1 (0 is the implicit background).",
    why="Classes are one-hot encoded as `one_hot(label - 1, num_classes)`: label 0 gives an "
        "all-zero row, so the box trains as background, silently. Eval rebuilds classes as "
        "argmax + 1 and scores it as class 1. Label -1 in class/label drops the box. Usually "
        "0-based ids from another framework, or a `return 0` for unknown names.",
    fix="Shift 0-based ids by one (`label + 1`) and make the label map ids start at 1.",
    example="image/object/class/label=[0, 1, 2]   # 0-based",
    defect="label_zero",
    tf_message=None,
    fixable=True,
))

ABOVE_NUM_CLASSES = define(Rule(
    id="L002",
    name="label-above-num-classes",
    severity=Severity.DATA_LOSS,
    summary="A class id is larger than the model's `num_classes`.",
    why="`one_hot(label - 1, num_classes)` gives an all-zero row for ids past num_classes: the "
        "box trains as background without a word, and eval counts it as class 1 (#9927).",
    fix="Raise `num_classes` to the largest id in the label map, or remap the ids to "
        "1..num_classes.",
    example="num_classes: 3, image/object/class/label=[4]",
    defect="label_above_num_classes",
    fixable=True,
    tf_message=None,
))

LABEL_NOT_IN_MAP = define(Rule(
    id="L003",
    name="label-not-in-label-map",
    severity=Severity.WARNING,
    summary="A class id (read from image/object/class/label) is not an id of the label map.",
    why="The box trains under that id, but eval's categories come from the label map, so the "
        "class has no name in the metrics and its detections are not scored as anything you "
        "defined. Usually the label map and the record script's id table have drifted apart.",
    fix="Add the id to the label map, or write the ids the label map uses.",
    example="label map ids 1, 2, 3; image/object/class/label=[5]",
    defect="label_not_in_label_map",
))

TEXT_NOT_IN_MAP = define(Rule(
    id="L004",
    name="text-not-in-label-map",
    severity=Severity.DATA_LOSS,
    summary="A class name (image/object/class/text or image/class/text) is not in the label map.",
    why="With `label_map_path` set the decoder maps names through the label map, exactly (case "
        "and spaces count), and an unknown name becomes -1. Boxes with -1 are removed "
        "(`filter_unrecognized_classes`) without any message: the object is never learned.",
    fix="Use the label map's spelling (the finding suggests the near miss: case, spaces, "
        "plural), or add the class to the label map.",
    example="label map name 'cat'; image/object/class/text=['Cat']",
    defect="text_not_in_label_map",
    fixable=True,
))

TEXT_LABEL_DISAGREE = define(Rule(
    id="L005",
    name="text-label-disagree",
    severity=Severity.WARNING,
    summary="class/text and class/label say different things (other classes, or other counts).",
    why="With `label_map_path` set, text wins and the labels are ignored without a word; "
        "without it, the labels win and the text is ignored. Either way one of the two was "
        "wrong, and the model trains on whichever the config happens to pick.",
    fix="Make the label of each box the label-map id of its text, or write only one of the two.",
    example="class/text=['dog'], class/label=[1]; label map: cat=1, dog=2",
    defect="text_label_disagree",
))

TEXT_ONLY = define(Rule(
    id="L006",
    name="text-only-without-label-map",
    severity=Severity.ERROR,
    summary="Records name their classes only with class/text, and the input reader has no "
            "`label_map_path` to map them.",
    why="Without a label map the decoder reads only class/label, finds none, and training stops "
        "when the labels are gathered per box: `indices[0] = 0 is not in [0, 0)`. "
        "`create_coco_tf_record.py` writes only class/text. Without a pipeline.config this is a "
        "warning: the reader may set `label_map_path`.",
    fix="Set `label_map_path` in train_input_reader and eval_input_reader, or also write "
        "image/object/class/label.",
    example="{'image/object/class/text': [b'cat']}, no image/object/class/label, no "
            "label_map_path",
    defect="text_only_records",
    tf_message="InvalidArgumentError: indices[0] = 0 is not in [0, 0)",
    fixable=True,
))

IMAGE_LABEL_RANGE = define(Rule(
    id="L007",
    name="image-level-label-out-of-range",
    severity=Severity.ERROR,
    summary="An image-level class id (image/class/label, image/neg_category_ids, "
            "image/not_exhaustive_category_ids) is below 1 or above num_classes.",
    why="Image-level classes are k-hot encoded with `sparse_to_dense(label - 1, "
        "[num_classes])`, which stops on an index outside the range: `Indices are not valid "
        "(out of bounds).` (Id -1 is removed first, silently.)",
    fix="Write image-level ids in 1..num_classes, as the label map numbers them.",
    example="num_classes: 3, image/class/label=[0]",
    defect="image_label_out_of_range",
    tf_message="InvalidArgumentError: Indices are not valid (out of bounds).  Shape: "
               "[num_classes]",
))
