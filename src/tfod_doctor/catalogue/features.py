"""F: the features of a record against the keys the OD API decoder parses (spec §1)."""

from tfod_doctor.catalogue import Rule, define
from tfod_doctor.findings import Severity

MISSING_IMAGE = define(Rule(
    id="F001",
    name="missing-image-data",
    severity=Severity.ERROR,
    summary="The record has no image: `image/encoded` is missing or empty.",
    why="The decoder reads `image/encoded` with a default of '' (an empty string), so a missing "
        "or misspelled key only shows when the image is decoded: `Input is empty.`, with no "
        "file or record named. Some exporters write annotations without images (CVAT's old "
        "TFRecord dump); TFDS records use other keys (`image`).",
    fix="Write the encoded JPEG/PNG bytes under `image/encoded` (exactly that key), for example "
        "`'image/encoded': bytes_feature(open(path, 'rb').read())`.",
    example="{'image/encoded_jpeg': <bytes>, 'image/object/bbox/xmin': [...], ...}",
    defect="missing_image",
    tf_message="InvalidArgumentError: Input is empty.",
))

UNKNOWN_KEY = define(Rule(
    id="F002",
    name="unknown-key",
    severity=Severity.DATA_LOSS,
    summary="A feature key the OD API never reads; often a misspelling or another tool's name "
            "for one of its keys (boxes, xmins, labels, category_id, ...).",
    why="The decoder ignores every key it does not know, without a word. When the key was meant "
        "to be an OD API key that the record lacks (`image/object/bbox/xmins`, `labels`), the "
        "data under it is silently lost: boxes vanish and images train as negatives, or labels "
        "go missing. It is data loss only on evidence: the key holds what a key the record lacks "
        "should hold (the same kind, one value per box, values that fit); a close name whose "
        "values do not fit, a duplicate of data already present, and the extras known writers "
        "add on purpose (the OD API's KITTI tool: `image/object/alpha`, `3d_bbox/*`; TFDS and "
        "Model Garden keys) are information.",
    fix="Rename the key to the one suggested (the OD API names are exact and case-sensitive), "
        "or drop it if the data is not needed.",
    example="{'image/object/bbox/xmins': [0.1, 0.5], ...}   # the OD API reads .../xmin",
    defect="misspelled_box_keys",
    tf_message=None,
    fixable=True,
))

WRONG_KIND = define(Rule(
    id="F003",
    name="wrong-kind",
    severity=Severity.ERROR,
    summary="A key holds the wrong kind of list: int64 where the OD API reads float, float "
            "labels, float height/width, numbers where it reads bytes.",
    why="`parse_single_example` checks every kind and stops the input pipeline on the first "
        "mismatch: `Key: image/object/class/label.  Data types don't match. Expected type: "
        "int64, Actual type: float`. TensorFlow never says which file or record.",
    fix="Write boxes, area and weights with `float_list`, class ids, height, width and flags "
        "with `int64_list`, and image bytes, format, names and ids with `bytes_list`.",
    example="'image/object/class/label': tf.train.Feature(float_list=tf.train.FloatList("
            "value=[1.0]))",
    defect="float_labels",
    tf_message="Key: <key>.  Data types don't match. Expected type: int64, Actual type: float",
    fixable=True,
))

FIXED_LENGTH = define(Rule(
    id="F004",
    name="fixed-length-count",
    severity=Severity.ERROR,
    summary="A key the decoder parses as exactly N values (height, width, format, filename, "
            "source_id, encoded image, additional channels) has another count.",
    why="FixedLen features must hold exactly their count; an empty list or a second value "
        "stops parsing: `Key: image/height.  Can't parse serialized Example: Some int64_list "
        "slice was not parsed.`",
    fix="Write one value for each scalar key (`[height]`, not `[height, height]` or `[]`), and "
        "exactly `num_additional_channels` images under `image/additional_channels/encoded`.",
    example="'image/height': int64_list(value=[480, 480])",
    defect="two_heights",
    tf_message="Key: <key>.  Can't parse serialized Example: Some int64_list slice was not "
               "parsed.",
    fixable=True,
))

KEYS_NEED_FLAG = define(Rule(
    id="F005",
    name="keys-need-config-flag",
    severity=Severity.WARNING,
    summary="The records carry masks, keypoints, additional channels, context features, "
            "DensePose or track ids, but the input reader does not set the flag that reads them.",
    why="The decoder reads these keys only when the InputReader asks for them "
        "(`load_instance_masks`, `num_keypoints`, ...). Without the flag they are ignored, "
        "silently: a Mask R-CNN trains without masks. Without a pipeline.config the flags are "
        "unknown, and this is only a reminder (info).",
    fix="Set the flag in train_input_reader and eval_input_reader (for example "
        "`load_instance_masks: true` with `mask_type: PNG_MASKS`), or drop the keys if the model "
        "does not use them.",
    example="train_input_reader { tf_record_input_reader { ... } }   # records hold "
            "image/object/mask, no load_instance_masks",
    defect="masks_without_flag",
))

FLAG_WITHOUT_KEYS = define(Rule(
    id="F006",
    name="config-flag-without-keys",
    severity=Severity.ERROR,
    summary="The input reader asks for masks, keypoints, additional channels or context "
            "features that the records do not have.",
    why="Required keys (`image/additional_channels/encoded`, `image/context_feature_length`) "
        "stop parsing: `Feature: ... is required but could not be found.` Masks and keypoints "
        "are gathered box by box, so a record with boxes but without them fails with "
        "`indices[0] = 0 is not in [0, 0)`. Other flags (multiclass scores, keypoint depth, "
        "DensePose, track ids) fall back to defaults silently.",
    fix="Write the keys into every record, or remove the flag from the input reader.",
    example="train_input_reader { num_additional_channels: 1 ... }   # records have no "
            "image/additional_channels/encoded",
    defect="flag_without_keys",
    tf_message="Feature: <key> (data type: <type>) is required but could not be found.",
))

SCHEMA_DRIFT = define(Rule(
    id="F007",
    name="schema-drift",
    severity=Severity.WARNING,
    summary="Records do not all carry the same keys and kinds: some shards or records were "
            "written differently.",
    why="Mixed schemas usually mean two creation scripts or versions fed one dataset, and the "
        "minority is read differently: a shard with only `class/text` needs a label map, one "
        "with int64 boxes stops training, one without `image/source_id` breaks eval ids. "
        "Negatives without box keys do not count as drift.",
    fix="Re-create the odd records with the same script as the rest; the finding names the "
        "first record of each variant and how many there are.",
    example="train-00000 has image/object/class/label; train-00001 has only "
            "image/object/class/text",
    defect="schema_drift",
))

FLAT_BOX_LIST = define(Rule(
    id="F008",
    name="flat-box-list",
    severity=Severity.DATA_LOSS,
    summary="The boxes are one flat list of 4 values per box under a key of their own (`boxes`, "
            "`bbox`, `bboxes`, `image/object/bbox`, `objects/bbox`, ...), not the OD API's four "
            "coordinate lists.",
    why="The decoder reads boxes only from `image/object/bbox/ymin`, `.../xmin`, `.../ymax` and "
        "`.../xmax`, four separate float lists, and ignores every other key without a word. "
        "Every box of such a record is lost: the image trains as one without objects, the "
        "localization loss is 0 and the model learns nothing. Many tutorials and home-made "
        "scripts write records this way.",
    fix="Split the list into the four coordinate lists, normalised to [0, 1] in "
        "(ymin, xmin, ymax, xmax) order; B013 tells which layout (yxyx, xyxy, xywh, cxcywh, "
        "normalised or pixels) the values are in. `tfod-doctor fix` does it.",
    example="'boxes': float_feature([ymin0, xmin0, ymax0, xmax0, ymin1, ...])",
    defect="flat_box_list",
    fixable=True,
))

FOREIGN_CLASS_KEY = define(Rule(
    id="F009",
    name="foreign-class-key",
    severity=Severity.DATA_LOSS,
    summary="Class ids or names are under a key of their own (`classes`, `labels`, "
            "`category_id`, `class`, `label_name`, ...), and the record has none under "
            "`image/object/class/label` or `image/object/class/text`.",
    why="The decoder reads classes only from `image/object/class/label` (int64 ids) and "
        "`image/object/class/text` (names, through the label map). Under any other key they "
        "are ignored without a word: boxes without classes stop training "
        "(`indices[0] = 0 is not in [0, 0)`), and without boxes the record trains as "
        "an image without objects.",
    fix="Write class ids under `image/object/class/label` (int64, 1-based, from the label map) "
        "and names under `image/object/class/text`. `tfod-doctor fix` renames the key.",
    example="'classes': int64_feature([1, 3])",
    defect="foreign_class_key",
    fixable=True,
))
