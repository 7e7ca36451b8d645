"""M: label_map.pbtxt: its text, and the ids and names the decoder and evaluator build from it."""

from tfod_doctor.catalogue import Rule, define
from tfod_doctor.findings import Severity

UNPARSEABLE = define(Rule(
    id="M001",
    name="label-map-syntax-error",
    severity=Severity.ERROR,
    summary="The label map is not valid text format (a missing brace, colon or quote, "
            "typographic quotes, an unknown field, an item nested in another).",
    why="`load_labelmap` catches the real ParseError and retries the text as binary, so "
        "TensorFlow shows `TypeError: a bytes-like object is required, not 'str'` and hides the "
        "line and column (#4200, #9512, #8582).",
    fix="Fix the text at the line and column shown; every item is `item { id: N name: 'x' }` "
        "with straight quotes and its own closing brace.",
    example="item { id: 1 name: ‘cat’ }",
    defect="label_map_smart_quotes",
    tf_message="TypeError: a bytes-like object is required, not 'str'",
))

EMPTY = define(Rule(
    id="M002",
    name="label-map-empty",
    severity=Severity.ERROR,
    summary="The label map has no items.",
    why="It parses, but the decoder's name table gets the wrong key type: `TypeError: Signature "
        "mismatch. Keys must be dtype float32, got string` (#7314, #8004); eval fails with "
        "`max() arg is an empty sequence`.",
    fix="Add one `item { id: N name: '...' }` per class, ids from 1.",
    example="(an empty label_map.pbtxt)",
    defect="label_map_empty",
    tf_message="TypeError: Signature mismatch. Keys must be dtype <dtype: 'float32'>, got "
               "<dtype: 'string'>",
))

ID_ZERO = define(Rule(
    id="M003",
    name="id-zero-not-background",
    severity=Severity.ERROR,
    summary="An item has id 0 (or no id, which means 0) and is not named `background`.",
    why="Id 0 is reserved for the implicit background class: `load_labelmap` stops with "
        "`ValueError: Label map id 0 is reserved for the background label`.",
    fix="Number the classes from 1; give every item an `id:`.",
    example="item { name: 'cat' }",
    defect="label_map_missing_id",
    tf_message="ValueError: Label map id 0 is reserved for the background label",
))

NEGATIVE_ID = define(Rule(
    id="M004",
    name="negative-id",
    severity=Severity.ERROR,
    summary="An item has a negative id.",
    why="`load_labelmap` stops with `ValueError: Label map ids should be >= 0.`",
    fix="Number the classes from 1.",
    example="item { id: -1 name: 'ignore' }",
    defect="label_map_negative_id",
    tf_message="ValueError: Label map ids should be >= 0.",
))

DUPLICATE_ID = define(Rule(
    id="M005",
    name="duplicate-id",
    severity=Severity.DATA_LOSS,
    summary="Two items share one id.",
    why="Both names map to that id, so training learns the two classes as one, and evaluation "
        "reports it under the first name only. No error.",
    fix="Give every class its own id (1, 2, 3, ...).",
    example="item { id: 1 name: 'cat' } item { id: 1 name: 'dog' }",
    defect="label_map_duplicate_id",
))

DUPLICATE_NAME = define(Rule(
    id="M006",
    name="duplicate-name",
    severity=Severity.DATA_LOSS,
    summary="Two items share one name.",
    why="The decoder's name table keeps the last id, so every box with that class/text gets the "
        "last item's id and the other id never gets data. No error. When each item has a "
        "display_name of its own (COCO's official map names 68 items 'NA'), records that write "
        "the display names are read right: information.",
    fix="Keep one item per name.",
    example="item { id: 1 name: 'cat' } item { id: 2 name: 'cat' }",
    defect="label_map_duplicate_name",
))

DUPLICATE_DISPLAY_NAME = define(Rule(
    id="M007",
    name="duplicate-display-name",
    severity=Severity.WARNING,
    summary="Two items share one display_name.",
    why="The decoder also matches class/text against display names (the larger id wins), and "
        "evaluation shows both classes under the same name.",
    fix="Give every item its own display_name.",
    example="item { id: 1 name: 'n01' display_name: 'dog' } item { id: 2 name: 'n02' "
            "display_name: 'dog' }",
    defect="label_map_duplicate_display_name",
))

ID_GAP = define(Rule(
    id="M008",
    name="id-gap",
    severity=Severity.WARNING,
    summary="The ids skip numbers (1, 2, 4).",
    why="Every missing id is a class with no name: num_classes must still cover the largest id, "
        "and the model has an output that never gets data. Often a sign the label map and the "
        "records were made with different class lists. The OD API's official maps have gaps on "
        "purpose (COCO's 1..90 is how the COCO checkpoints were trained): information.",
    fix="Number the classes 1..N without gaps (and write the records with the same ids); never "
        "renumber an official map.",
    example="item { id: 1 name: 'cat' } item { id: 3 name: 'dog' }",
    defect="label_map_id_gap",
))

ID_ABOVE_NUM_CLASSES = define(Rule(
    id="M009",
    name="id-above-num-classes",
    severity=Severity.DATA_LOSS,
    summary="A label map id is larger than the model's num_classes.",
    why="Boxes of that class become background in training (one-hot of an out-of-range id is all "
        "zeros), and evaluation lists a class the model cannot predict. No error.",
    fix="Raise num_classes to the largest id, or remove the item.",
    example="num_classes: 3   # the label map has ids 1..4",
    defect="label_map_id_above_num_classes",
))

KEYPOINT_DUPLICATE = define(Rule(
    id="M010",
    name="duplicate-keypoint",
    severity=Severity.ERROR,
    summary="An item lists the same keypoint id or label twice.",
    why="CenterNet's keypoint setup stops with `Duplicate keypoint ids are not allowed` / "
        "`Duplicated keypoint label`.",
    fix="Give every keypoint of an item its own id and label.",
    example="item { name: 'person' id: 1 keypoints { id: 0 label: 'nose' } keypoints { id: 0 "
            "label: 'eye' } }",
    defect="label_map_duplicate_keypoint",
    tf_message="ValueError: Duplicate keypoint ids are not allowed. Found 0 more than once",
))

FIELD_TWICE = define(Rule(
    id="M011",
    name="label-map-field-twice",
    severity=Severity.WARNING,
    summary="An item sets the same field twice (two `name:` or two `id:` lines).",
    why="`text_format.Merge` keeps the last one without a word.",
    fix="Delete one of the two lines; often a closing brace and `item {` are missing between "
        "two items.",
    example="item { id: 1 name: 'cat' id: 2 name: 'dog' }",
    defect="label_map_field_twice",
))
