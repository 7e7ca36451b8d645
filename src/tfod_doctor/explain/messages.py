"""The catalogue of messages ``explain`` knows, as data.

Each entry (:class:`Known`) is one message TensorFlow or the OD API prints, in all the wordings
users paste (``pattern`` and ``variants``), what selects it when the same words have several
causes (the traceback's frames, the function that raised it, the exception type), the causes,
the rules that find them in the user's files, and the command to run next. ``example`` is a
message the entry must explain: one test per entry walks the catalogue with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CHECK = "tfod-doctor check {config}"
#: Where a text-format parser stopped, as it says it: ``LINE:COLUMN : ['the line': ]``.
_AT = r"(?<!\d)(?P<line>\d{1,9}):(?P<column>\d{1,9}) : (?:'[^\n]{0,200}': )?"


@dataclass(frozen=True)
class Known:
    """A message TensorFlow or the OD API prints, what causes it and what finds the cause."""

    name: str
    pattern: str
    causes: tuple[str, ...]
    rules: tuple[str, ...]
    #: The command to run next; ``{config}``, ``{records}``, ``{label_map}`` and the pattern's
    #: named groups are filled in.
    next: str = CHECK
    #: Advice that uses the numbers and names pulled out of the message.
    advice: str = ""
    #: Higher wins when several messages match one log (a generic message gets 0).
    priority: int = 1
    #: A pattern that must also appear in the text for this entry to apply (context).
    context: str | None = None
    #: Other wordings of the same message (older or newer OD API / TensorFlow versions).
    variants: tuple[str, ...] = ()
    #: Selects this cause: a pattern that must match a frame (``file:function: code``) or a
    #: graph node (``node NAME``) of the traceback the message is in.
    frames: str | None = None
    #: Selects this cause: a pattern the innermost frame (where it was raised) must match.
    raised_in: str | None = None
    #: Selects this cause: the exception's class name must match this pattern.
    exc_type: str | None = None
    #: ``False`` for errors that are not about the config, label map or records (CUDA, memory,
    #: the installation): they are never blamed on the data.
    about_files: bool = True
    #: A warning worth reporting even when another error stopped the run.
    note: bool = False
    #: A message this entry explains (the catalogue's own test case).
    example: str = ""

    @property
    def patterns(self) -> tuple[str, ...]:
        """The pattern and its variants."""
        return (self.pattern, *self.variants)

    @property
    def selective(self) -> bool:
        """Whether the traceback must show something for this entry to apply."""
        return any((self.frames, self.raised_in, self.exc_type))


def _check_patterns(known: tuple[Known, ...]) -> None:
    for entry in known:
        for pattern in (*entry.patterns, entry.context, entry.frames, entry.raised_in,
                        entry.exc_type):
            if pattern is not None:
                re.compile(pattern)


KNOWN: tuple[Known, ...] = (
    Known("wrong-kind", r"Key: (?P<key>[\w/]+)\.\s+Data types don't match",
          ("A feature was written with the wrong list type: float labels, int64 boxes, a float "
           "image/height.",),
          ("F003",), "tfod-doctor check {config} --select F003",
          "The key is {key}; tfod-doctor names every record where it has the wrong kind.",
          example="Key: image/object/class/label.  Data types don't match. Expected type: "
                  'int64, Actual type: float'),
    Known("fixed-length", r"Key: (?P<key>[\w/]+)\.\s+Can't parse serialized Example",
          ("A key the decoder reads with a fixed length holds the wrong number of values "
           "(image/height or image/width lists, additional channels ≠ num_additional_channels).",),
          ("F004",), "tfod-doctor check {config} --select F004", "The key is {key}.",
          example="Key: image/height.  Can't parse serialized Example: Some bytes_list slice "
                  'was not parsed.'),
    Known("required-missing",
          r"Feature: (?P<key>[\w/]+) \(data type: (?P<dtype>\w+)\) is required but could not be "
          r"found",
          ("The config turns on an input option (load_context_features, num_additional_channels, "
           "...) whose keys the records do not have.",),
          ("F005",), "tfod-doctor check {config} --select F005,F006",
          "The missing key is {key} ({dtype}).",
          example='Feature: image/context_feature_length (data type: int64) is required but '
                  'could not be found.'),
    Known("not-a-tfrecord",
          r"corrupted record at 0\b(?!\.)",
          ("The file is not a TFRecord at all (an image, CSV, JSON or label map picked up by a "
           "glob, or a file the writer never finished), or it is GZIP/ZLIB-compressed.",
           "Less often: the first record itself is damaged."),
          ("R001", "R002", "R003"), "tfod-doctor scan {records}",
          "TensorFlow could not read even the first record's header: tfod-doctor scan says "
          "whether the file is a TFRecord at all, compressed, or damaged from its first byte.",
          priority=3,
          example='DataLossError: corrupted record at 0 (Is this even a TFRecord file?)'),
    Known("corrupted-record", r"corrupted record at (?P<offset>\d+)",
          ("A record's length or data fails its CRC: bit-rot, a partial copy, or a file that is "
           "not a TFRecord.",),
          ("R003", "R004"), "tfod-doctor scan {records}",
          "The damaged record starts at byte {offset} (a bad length CRC) or at byte {offset_12} "
          "(a bad data CRC: TensorFlow names the start + 12); tfod-doctor names the file and the "
          "record, and `tfod-doctor fix` keeps every intact record.", priority=2,
          example='DataLossError: corrupted record at 123456'),
    Known("truncated-record", r"truncated record at (?P<offset>\d+)",
          ("The file ends in the middle of a record: an incomplete copy or download, or a "
           "writer that was never closed.",),
          ("R005",), "tfod-doctor scan {records}",
          "The cut record starts at byte {offset}.", priority=2,
          example='DataLossError: truncated record at 9876'),
    Known("not-an-example", r"Could not parse example input",
          ("A record's bytes are not a serialized tf.train.Example (raw image bytes or a "
           "SequenceExample were written).",),
          ("R008",), "tfod-doctor scan {records}",
          example="InvalidArgumentError: Could not parse example input, value: '\\x89PNG'"),
    Known("empty-labels", r"indices\[(?P<index>\d+)\] = (?P<value>-?\d+) is not in \[0, 0\)",
          ("The records have boxes but no class labels the decoder reads: only "
           "image/object/class/text without label_map_path in the input reader, an empty "
           "label list, or class ids under another key (classes, labels, category_id).",),
          ("L006", "B002", "F009"), priority=3,
          example='InvalidArgumentError: indices[0] = 0 is not in [0, 0)'),
    Known("label-count",
          r"indices\[(?P<index>\d+)\] = (?P<value>-?\d+) is not in \[0, (?P<size>\d+)\)",
          ("A record has a different number of class labels than boxes.",),
          ("B002",), "tfod-doctor check {config} --select B002",
          "Box index {value} has no label: only {size} labels.",
          example='InvalidArgumentError: indices[2] = 2 is not in [0, 2)'),
    Known("coordinate-lists",
          r"ConcatOp ?: (?:Dimensions of inputs should match|Dimension \d+ in both shapes must "
          r"be equal)",
          ("The four box coordinate lists (xmin, ymin, xmax, ymax) have different lengths.",
           "Only some coordinate keys were renamed to the OD API's names (ymin and xmin, say, "
           "while ymax and xmax keep the old names): the lists left under other keys are read "
           "as empty."),
          ("B001", "F002", "F008"), "tfod-doctor check {config} --select B001,F002,F008",
          "tfod-doctor names the record, the list lengths and the keys that were not "
          "renamed.",
          example='ConcatOp : Dimensions of inputs should match: shape[0] = [1,3] vs. shape[2] '
                  '= [1,2]'),
    Known("pixel-coordinates",
          r"maximum box coordinate value is larger than (?P<limit>[\d.]+)",
          ("Box coordinates are in pixels instead of 0..1 (the most common cause).",
           "Boxes reach past the image edge.",
           "The image has an EXIF rotation that TensorFlow ignores, so width and height swap."),
          ("B005", "B004", "I005"), "tfod-doctor check {config} --select B005,B004,I005",
          "The limit is {limit}; it fires in Faster R-CNN training and in evaluation of every "
          "model, so the same records may seem to work with SSD.", priority=2,
          example='assertion failed: [maximum box coordinate value is larger than 1.100000: ] '
                  '[640]'),
    Known("inverted-box", r"assertion failed: \[\[[-+0-9.e ]+\]\] \[\[",
          ("A box has xmin > xmax or ymin > ymax (dragged backwards in an annotation tool, or "
           "columns swapped in a CSV).",),
          ("B006",), "tfod-doctor check {config} --select B006",
          example='InvalidArgumentError: assertion failed: [[0.5 0.6]] [[0.4 0.9]]'),
    Known("degenerate-boxes", r"max value is lower than 1\.01",
          ("Degenerate boxes (zero area, or outside the image) reach Faster R-CNN's coordinate "
           "conversion.",),
          ("B007", "B004"), "tfod-doctor check {config} --select B",
          example='assertion failed: [max value is lower than 1.01: ] [0]'),
    Known("undecodable-image",
          r"Unable to decode bytes as JPEG, PNG, GIF, or BMP|Unknown image file format",
          ("image/encoded holds bytes that are not a JPEG/PNG/BMP image (TIFF, raw pixels, a "
           "corrupt file), or the records use another key schema (TFDS).",),
          ("I001", "I007", "F001"), "tfod-doctor check {config} --select I,F001 --deep",
          variants=(r"Unable to decode bytes as JPEG, PNG,? or GIF|Expected image \(JPEG, PNG, or "
                    r"GIF\)",),
          example='assertion failed: [Unable to decode bytes as JPEG, PNG, GIF, or BMP]'),
    Known("empty-image", r"Input is empty",
          ("image/encoded is missing or empty (its default is an empty string): a misspelt key, "
           "or an exporter that stored no image.",),
          ("F001",), "tfod-doctor check {config} --select F001",
          example='InvalidArgumentError: Input is empty.'),
    Known("truncated-jpeg", r"jpeg::Uncompress failed|Invalid JPEG data",
          ("A JPEG in the records is truncated or corrupt.",),
          ("I003",), "tfod-doctor check {config} --select I --deep",
          example='Invalid JPEG data or crop window, data size 4096'),
    Known("animated-image", r"input must be 4-dimensional",
          ("A GIF or WebP image decodes as 4-D (frames), which the resizer cannot take.",),
          ("I002",), "tfod-doctor check {config} --select I002",
          example="ValueError: 'images' contains no shape. input must be 4-dimensional"),
    Known("nan-loss", r"LossTensor is inf or nan|Loss is inf or nan|Tensor had NaN values|"
          r"loss.{0,20}\bnan\b",
          ("Boxes outside the image, degenerate or NaN boxes.",
           "A learning rate that is too high (not a data problem)."),
          ("B003", "B004", "B007", "B005"), "tfod-doctor check {config} --select B",
          priority=0,
          example='LossTensor is inf or nan. : Tensor had NaN values'),
    Known("label-map-id-zero", r"Label map id 0 is reserved for the background label",
          ("A label map item has id 0, or no id at all (a missing id means 0).",),
          ("M003",), "tfod-doctor check {config} --select M", priority=2,
          variants=(r"Label map ids should be >= 1",),
          example='ValueError: Label map id 0 is reserved for the background label'),
    Known("label-map-negative", r"Label map ids should be >= 0",
          ("A label map item has a negative id.",), ("M004",),
          "tfod-doctor check {config} --select M", priority=2,
          example='ValueError: Label map ids should be >= 0.'),
    Known("label-map-syntax",
          r"a bytes-like object is required,\s*not 'str'|expected bytes, str found|"
          r"DecodeError: Error parsing message",
          ("A syntax error in label_map.pbtxt: load_labelmap catches the real ParseError and "
           "shows this instead (a missing brace or quote, typographic quotes, a typo in a field "
           "name).",),
          ("M001",), "tfod-doctor check {config} --select M", priority=2,
          context=r"label_map|labelmap|string_int_label_map|\.pbtxt",
          example='File "label_map_util.py", line 173, in load_labelmap\n    '
                  'label_map.ParseFromString(label_map_string)\nTypeError: a bytes-like object '
                  "is required, not 'str'"),
    Known("bytes-like-object",
          r"a bytes-like object is required, not 'str'",
          ("Most often a syntax error in label_map.pbtxt, hidden by load_labelmap's fallback "
           "(a missing brace or quote, typographic quotes, a typo in a field name).",),
          ("M001",), "tfod-doctor check {config} --select M", priority=0,
          example="TypeError: a bytes-like object is required, not 'str'"),
    Known("label-map-empty",
          r"Signature mismatch\. Keys must be dtype|key_dtype=DT_FLOAT|HashTableV2",
          ("The label map is empty or was not read (an unedited or wrong label map file).",),
          ("M002",), "tfod-doctor check {config} --select M", priority=2,
          example="TypeError: Signature mismatch. Keys must be dtype <dtype: 'float32'>, got "
                  "<dtype: 'string'>"),
    Known("label-map-no-items", r"max\(\) arg is an empty sequence",
          ("Evaluation found no classes: the label map is empty, or eval_input_reader has no "
           "label_map_path.",),
          ("M002", "C017"), priority=1, context=r"label_map|category|eval",
          example='File "label_map_util.py", in get_max_label_map_index\nValueError: max() arg '
                  'is an empty sequence'),
    Known("no-input-files",
          r"Did not find any input files matching the glob pattern \[(?P<pattern>[^\]]{0,2000})\]",
          ("input_path matches no file: a wrong path or pattern, or training started from "
           "another folder (relative paths are taken from the working directory).",),
          ("C018", "C019"), "tfod-doctor check {config} --select C018,C019",
          "The pattern(s): {pattern}.", priority=2,
          example='RuntimeError: Did not find any input files matching the glob pattern '
                  "['data/train.record']"),
    Known("no-input-files-tf1",
          r"num_readers has been reduced to 0|Tensor conversion requested dtype string for "
          r"Tensor with dtype float32",
          ("input_path matches no file (older OD API versions fail like this).",),
          ("C018", "C019"), "tfod-doctor check {config} --select C018,C019",
          example='WARNING: num_readers has been reduced to 0 to match input file shards.'),
    Known("too-many-boxes",
          r"Expected size\[0\] in \[0, (?P<limit>\d+)\], but got (?P<count>\d+)",
          ("An image has more boxes than max_number_of_boxes (older builds fail; newer ones drop "
           "the extra boxes without a word).",),
          ("B009",), "tfod-doctor check {config} --select B009",
          "An image has {count} boxes; the limit is {limit}: raise max_number_of_boxes in "
          "train_input_reader and eval_input_reader.",
          example='Expected size[0] in [0, 100], but got 109'),
    Known("fixed-record-keys",
          _AT + r"Message type \"object_detection\.protos"
          r"\.(?P<message>InputReader|TFRecordInputReader)\" has no field named \"(?P<field>\w*"
          r"(?:feature|key|field|map|column|decod)\w*)\"",
          ("The config tries to map record keys onto the OD API's (input_features / feature_map, "
           "as tutorials write it). The input reader has no such field: the decoder reads a "
           "fixed set of keys (image/encoded, image/object/bbox/ymin, .../xmin, .../ymax, "
           ".../xmax, image/object/class/label or /text) and nothing can rename them.",),
          ("C002", "F008", "F009"), "tfod-doctor check {config}",
          "Line {line}, column {column}: delete the {field} block and write the records with "
          "the OD API's keys. tfod-doctor check reads the block as your intent (which record key "
          "holds the boxes, which the classes) and names every record key to rename or split.",
          priority=4,
          example='ParseError: 9:3 : Message type "object_detection.protos.InputReader" has no '
                  'field named "feature_map".'),
    Known("learns-nothing",
          r"localization_loss['\"]?\s*[:=]\s*0\.0+\b|"
          r"\bloss (?:is|stays|was|=) (?:zero|0(?:\.0+)?\b)|"
          r"\blearns? nothing|\b(?:detects|predicts|finds) nothing|\bno (?:detections|boxes)\b",
          ("The records hold no boxes the OD API reads: one flat list under another key (boxes, "
           "bbox, objects/bbox), misspelled box keys, or annotations never joined to the images. "
           "Every image trains as one without objects: the localization loss is 0 and the "
           "model learns nothing, without a word.",
           "Class ids or names under another key (classes, labels, category_id).",),
          ("F008", "D007", "F002", "F009", "B013"),
          "tfod-doctor check {config} --select F,B013,D007", priority=0,
          example='my model learns nothing, the loss is zero after 1000 steps'),
    Known("unknown-field",
          _AT + r"Message type \"(?P<message>[\w.]+)\" "
          r"has no field named \"(?P<field>\w+)\"",
          ("A typo in a field name, a field in the wrong block, or a missing closing brace.",
           "A config newer than the installed OD API (for example fine_tune_checkpoint_version "
           "with a TF1-era install)."),
          ("C002", "C007"), "tfod-doctor check {config} --select C,M",
          "Line {line}, column {column}: {field} in {message}.", priority=3,
          example='ParseError: 12:5 : Message type '
                  '"object_detection.protos.TFRecordInputReader" has no field named '
                  '"input_paths".'),
    Known("bad-enum",
          _AT + r"Enum type \"(?P<enum>[\w.]+)\" has no "
          r"value named (?P<value>\S{1,200}?)\.",
          ("An enum field holds a value that does not exist.",), ("C003",),
          "tfod-doctor check {config} --select C", "Line {line}: {value} is not a {enum}.",
          priority=3,
          example='ParseError: 172:33 : Enum type "object_detection.protos.CheckpointVersion" '
                  'has no value named V3.'),
    Known("wrong-value",
          _AT + r"(?:Couldn't parse integer|Value out of "
          r"range|Expected string but found|Couldn't parse float|Expected \"true\" or \"false\")",
          ("A value of the wrong type: a fraction in a whole-number field, a negative count, an "
           "unquoted string, typographic quotes.",),
          ("C004", "C001", "M001"), "tfod-doctor check {config} --select C,M",
          "Line {line}, column {column}.", priority=3,
          example="ParseError: 135:15 : '  batch_size: 4.5': Couldn't parse integer: 4.5"),
    Known("syntax",
          _AT + r"(?:Expected \"[}:{\]]\"|Expected "
          r"identifier|String missing ending quote)",
          ("A syntax error in pipeline.config (or the label map): a missing brace, colon or "
           "quote.",),
          ("C001", "M001"), "tfod-doctor check {config} --select C,M",
          "Line {line}, column {column}.", priority=3,
          example='ParseError: 40:1 : Expected "}".'),
    Known("checkpoint-version", r"Checkpoint version should be V2",
          ("fine_tune_checkpoint_version is missing (it defaults to V1) or V1.",), ("C008",),
          "tfod-doctor check {config} --select C008", priority=2,
          example='ValueError: Checkpoint version should be V2'),
    Known("checkpoint-object-based", r"Checkpoint is expected to be an object-based checkpoint",
          ("fine_tune_checkpoint points at a file (.index / .data) instead of the prefix, at a "
           "path that does not exist, or at a TF1 checkpoint (model.ckpt).",),
          ("C010", "C009", "A023"), "tfod-doctor check {config} --select C009,C010,A023",
          priority=2,
          example='OSError: Checkpoint is expected to be an object-based checkpoint.'),
    Known("checkpoint-not-bound",
          r"Found (?P<objects>\d+) Python objects that were not bound to checkpointed values",
          ("fine_tune_checkpoint_type does not fit the checkpoint (the zoo's configs say "
           "classification; a model-zoo download's checkpoint/ckpt-0 needs detection).",
           "fine_tune_checkpoint is a checkpoint of another architecture or backbone than the "
           "config's model."),
          ("A020", "A021"), "tfod-doctor check {config} --select A020,A021", priority=2,
          example="AssertionError: Found 263 Python objects that were not bound to checkpointed "
                  "values, likely due to changes in the Python program."),
    Known("checkpoint-type-refused", r"Classification backbone not supported for",
          ("fine_tune_checkpoint_type is classification (or unset) for a CenterNet Hourglass "
           "model, which has no classification backbone.",), ("A022",),
          "tfod-doctor check {config} --select A022", priority=2,
          example="ValueError: Classification backbone not supported for Hourglass feature "
                  "extractor"),
    Known("checkpoint-type",
          r"Not supported fine_tune_checkpoint_type: (?P<kind>\S{0,100})|Unknown fine tune "
          r"checkpoint type (?P<kind2>\S{0,100})|\"fine_tune\" is no longer supported",
          ("fine_tune_checkpoint_type is not one the model supports (classification, detection, "
           "full).",), ("C011",), "tfod-doctor check {config} --select C011", priority=2,
          example='ValueError: Not supported fine_tune_checkpoint_type: fine_tune'),
    Known("bfloat16", r"DataType bfloat16 not in list of allowed values|has DataType bfloat16",
          ("use_bfloat16: true in train_config, trained by the TF1 scripts (model_main.py) on "
           "a GPU or CPU: bfloat16 works on TPUs only (TF2's model_main_tf2.py turns it off "
           "there instead).",),
          ("C012",), "tfod-doctor check {config} --select C012", priority=2,
          example="TypeError: Value passed to parameter 'image' has DataType bfloat16 not in "
                  'list of allowed values'),
    Known("tf2-unsupported",
          r"load_all_detection_checkpoint_vars unsupported in TF2|Unsupported input_reader_config|"
          r"At least one input path must be specified|In order to expand labels|"
          r"max_num_context_features must be specified|Unknown image resizer type|Expected the "
          r"number of input files to be the same as the number of dataset sample weights",
          ("A config setting TF2 training refuses.",), ("C025",),
          "tfod-doctor check {config} --select C", priority=2,
          example='ValueError: load_all_detection_checkpoint_vars unsupported in TF2'),
    Known("metric-not-found", r"Metric not found: (?P<metric>\S{1,200})",
          ("eval_config.metrics_set names a metric the OD API does not have.",), ("C021",),
          "tfod-doctor check {config} --select C021", "The unknown metric: {metric}.",
          priority=2,
          example='ValueError: Metric not found: coco_detection_metric'),
    Known("no-num-classes", r"does not have num_classes",
          ("The meta-architecture has no num_classes (experimental_model).",), ("C014",),
          priority=2,
          example='ValueError: experimental_model does not have num_classes.'),
    Known("duplicate-source-id",
          r"Ignoring ground truth with image id (?P<image_id>\S{1,200}) since it was previously "
          r"added|"
          r"Image with id (?P<image_id2>\S{1,200}) already added",
          ("Two eval records share image/source_id (or both have an empty one): the later image "
           "is left out of the metrics.",),
          ("D001", "D002"), "tfod-doctor check {config} --split eval --select D001,D002",
          example='W1103 coco_evaluation.py:87] Ignoring ground truth with image id 1234567 '
                  'since it was previously added'),
    Known("duplicate-keypoint", r"Duplicate keypoint ids are not allowed|Duplicated keypoint",
          ("A label map item lists a keypoint id or label twice.",), ("M010",),
          "tfod-doctor check {config} --select M010", priority=2,
          example='ValueError: Duplicate keypoint ids are not allowed'),
    Known("none-label",
          r"None has type NoneType, but expected one of: int",
          ("While writing records, the class-name-to-id function returned None for a class it "
           "does not know (a typo, a case difference, or a class missing from its list). Do not "
           "`return 0` instead: that makes background boxes.",),
          ("L001", "L004"), "tfod-doctor convert  (writes records with ids from your label map)",
          example='TypeError: None has type NoneType, but expected one of: int, long'),
    Known("class-missing-from-label-map", r"KeyError: '(?P<name>[^'\n]{1,200})'",
          ("A class name in the annotations is missing from label_map.pbtxt (a typo, a case "
           "difference, or a stale label map).",),
          ("L004",), "tfod-doctor check {config} --select L,M",
          "The missing name is {name!r}.", priority=1,
          context=r"label_map_dict|class_text_to_int|generate_tfrecord",
          example='File "generate_tfrecord.py", line 40, in class_text_to_int\n    return '
                  "label_map_dict[row_label]\nKeyError: 'Cat'"),
    Known("label-map-missing-file", r"(?:NotFoundError|No such file or directory).{0,200}\.pbtxt",
          ("label_map_path names a file that does not exist (relative paths are taken from the "
           "working directory).",), ("C016", "C019"),
          "tfod-doctor check {config} --select C016,C019", priority=1,
          example='tensorflow.python.framework.errors_impl.NotFoundError: '
                  'data/label_map.pbtxt; No such file or directory'),
    Known("is-a-directory", r"Is a directory",
          ("An input_path names a folder; TensorFlow reads files only.",), ("C020",),
          "tfod-doctor check {config} --select C020", priority=0,
          example='FailedPreconditionError: data/train; Is a directory'),
    Known("checkpoint-dir-same",
          r"Checkpoint dir \((?P<checkpoint_dir>[^)\n]{0,500})\) and model_dir "
          r"\((?P<model_dir>[^)\n]{0,500})\) "
          r"cannot be same",
          ("--model_dir is the folder of the fine-tune checkpoint; training would overwrite it.",),
          (), "model_main_tf2.py --model_dir NEW_FOLDER ...",
          "Use a new, empty --model_dir instead of {model_dir}.", priority=2,
          example='ValueError: Checkpoint dir (models/x) and model_dir (models/x) cannot be same.'),

    # -- the same message, several causes: the traceback or the log tells them apart ----------
    Known("empty-labels-masks", r"indices\[(?P<index>\d+)\] = (?P<value>-?\d+) is not in \[0, 0\)",
          ("A model that predicts instance masks (Mask R-CNN) trains on records without masks "
           "(image/object/mask), or with load_instance_masks off: the mask list is empty.",),
          ("A002", "F006"), "tfod-doctor check {config} --select A002,F006",
          "Write the masks into the records (create_coco_tf_record.py --include_masks, the pets "
          "tool without faces_only) and set load_instance_masks: true with mask_type: "
          "PNG_MASKS in both input readers.", priority=4,
          context=r"mask[-_ ]?r-?cnn|instance_mask|groundtruth_masks|image/object/mask",
          example="--pipeline_config_path=mask_rcnn_inception.config\n"
                  "InvalidArgumentError: indices[0] = 0 is not in [0, 0)"),
    Known("empty-labels-keypoints",
          r"indices\[(?P<index>\d+)\] = (?P<value>-?\d+) is not in \[0, 0\)",
          ("The config asks for keypoints (num_keypoints in an input reader, a CenterNet "
           "keypoint task) that the records do not have: the keypoint list is empty.",),
          ("A003", "F006"), "tfod-doctor check {config} --select A003,F006",
          "A box-only CenterNet config from the model zoo may still carry num_keypoints: delete "
          "it from both input readers, or write the keypoints into the records.", priority=4,
          context=r"keypoint|center_?net",
          example="centernet_mobilenetv2 model\nindices[0] = 0 is not in [0, 0)"),
    Known("assert-equal-masks",
          r"BoxClassifierLoss/assert_equal(?:_\d+)?/|Condition x == y did not hold element-wise",
          ("Mask R-CNN trains on records without instance masks: the number of masks (0) does "
           "not equal the number of boxes.",),
          ("A002", "F006"), "tfod-doctor check {config} --select A002,F006",
          "Write the records again with masks (--include_masks) and set load_instance_masks: "
          "true in the input readers.", priority=3, context=r"mask",
          example="Caused by op 'Loss/BoxClassifierLoss/assert_equal_2/Assert/Assert'\n"
                  "  File \"faster_rcnn_meta_arch.py\", line 1580, in loss\n"
                  "    groundtruth_masks_list,"),
    Known("masks-not-provided", r"Groundtruth instance masks not provided",
          ("The model predicts masks but the input reader gives none: load_instance_masks is "
           "off, or the records have no image/object/mask.",),
          ("A002", "F006"), "tfod-doctor check {config} --select A002,F006", priority=3,
          example="ValueError: Groundtruth instance masks not provided. Please configure input "
                  "reader"),
    Known("bytes-like-old-label-map-util", r"a bytes-like object is required,\s*not 'str'",
          ("An old copy of label_map_util (vendored in a tutorial repository) reads the label map "
           "as bytes and hands them to text_format.Merge, which cannot split bytes on Python 3. "
           "The label map itself may be fine.",),
          (), "python -c \"import object_detection.utils.label_map_util as m; print(m.__file__)\"",
          "Use the label_map_util of the installed object_detection package (or read the file "
          "in text mode); this is not a problem in your label map.", priority=5,
          raised_in=r"text_format\.py:\w*(?:Merge|Parse)\w*: .*split", about_files=False,
          example="  File \"label_map_util.py\", line 120, in load_labelmap\n"
                  "    text_format.Merge(label_map_string, label_map)\n"
                  "  File \"google/protobuf/text_format.py\", line 472, in Merge\n"
                  "    text.split('\\n'),\nTypeError: a bytes-like object is required, not 'str'"),
    Known("label-map-parse-error",
          _AT + r"[^\n]{0,200}?object_detection\.protos"
          r"\.StringIntLabelMap(?:Item)?",
          ("The label map file does not parse: the error names the label map's own message "
           "(StringIntLabelMap), so it is in label_map.pbtxt, not pipeline.config. A field it "
           "does not know (node, layer, ...) means the file is not a label map at all.",),
          ("M001",), "tfod-doctor check {config} --select M",
          "Line {line}, column {column} of the label map.", priority=5,
          example="google.protobuf.text_format.ParseError: 1:1 : Message type "
                  "\"object_detection.protos.StringIntLabelMap\" has no field named \"node\"."),
    Known("label-map-parse-error-frames",
          r"ParseError: (?<!\d)(?P<line>\d{1,9}):(?P<column>\d{1,9}) :",
          ("A syntax error in the label map: the traceback shows the label map being read "
           "(label_map_util), not pipeline.config.",),
          ("M001",), "tfod-doctor check {config} --select M",
          "Line {line}, column {column} of the label map.", priority=4,
          frames=r"label_map_util\.py:(?:load_labelmap|get_label_map_dict)",
          example="  File \"object_detection/utils/label_map_util.py\", line 132, in "
                  "load_labelmap\n    text_format.Merge(label_map_string, label_map)\n"
                  "google.protobuf.text_format.ParseError: 3:9 : Couldn't parse integer: '1'"),
    # -- wordings of other OD API / TensorFlow versions ----------------------------------------
    Known("paddings-negative", r"Paddings must be non-negative",
          ("An image has more boxes than the input pads to (max_number_of_boxes): older OD API "
           "versions fail with this; newer ones drop the extra boxes without a word.",),
          ("B009",), "tfod-doctor check {config} --select B009",
          "Raise max_number_of_boxes in train_config and both input readers above the largest "
          "box count tfod-doctor reports.", priority=2,
          example="InvalidArgumentError: Paddings must be non-negative: 0 -16"),
    Known("queue-closed",
          r"FIFOQueue '[^'\n]{0,200}' is closed and has insufficient elements",
          ("The input pipeline produced no examples: input_path matches no file or the wrong "
           "files (TF1-era training stops like this instead of naming the path).",
           "Every record failed to decode (an earlier error in the log says why)."),
          ("C018", "C019", "D006"), "tfod-doctor check {config} --select C018,C019,D006",
          priority=0,
          example="OutOfRangeError (see above for traceback): FIFOQueue '_2_prefetch_queue' is "
                  "closed and has insufficient elements (requested 1, current size 0)"),
    Known("placeholder-path", r"PATH_TO_BE_CONFIGURED",
          ("A path in the config still holds the model zoo's placeholder PATH_TO_BE_CONFIGURED "
           "(often: training read another copy of the config than the one edited).",),
          ("C026",), "tfod-doctor check {config} --select C026", priority=3,
          example="NotFoundError: PATH_TO_BE_CONFIGURED/label_map.txt; No such file or "
                  "directory"),
    Known("config-not-found",
          r"(?:NotFoundError|failed to Create/Open):?[^\n]{0,300}?\.config\b[^\n]{0,40}"
          r"(?:No such file or directory|cannot find the path|\n; No such process)",
          ("The pipeline config named on the command line does not exist from the folder "
           "training runs in: a typo, backslashes, a space around =, or another working "
           "directory.",),
          (), "python model_main_tf2.py --pipeline_config_path=PATH/TO/pipeline.config ...",
          "Check --pipeline_config_path from the folder you start training in (forward "
          "slashes, no spaces around =).", priority=2, about_files=False,
          example="NotFoundError: training/ssd_mobilenet_v1_pets.config; No such file or "
                  "directory"),
    Known("records-not-found",
          r"(?:NotFoundError|No such file or directory)[^\n]{0,300}?\.(?:tfrecords?|records?|tfrec)"
          r"\b",
          ("input_path names a record file that does not exist (relative paths are taken from "
           "the working directory training starts in).",),
          ("C018", "C019"), "tfod-doctor check {config} --select C018,C019", priority=1,
          example="NotFoundError: data/train.record; No such file or directory"),
    Known("image-not-found",
          r"(?:NotFoundError|No such file or directory)[^\n]{0,300}?\.(?:jpe?g|png|bmp|gif)\b",
          ("While writing records, the annotations (CSV, XML, JSON) name an image that is not in "
           "the image folder: a wrong --image_dir, renamed or deleted images, or another "
           "extension.",),
          (), "tfod-doctor convert csv ANNOTATIONS.csv --out records/  (or voc, coco, yolo: "
          "it names every image it cannot find)",
          priority=1,
          example="NotFoundError: images/train/IMG_0042.jpg; No such file or directory"),
    # -- model building and restoring -----------------------------------------------------------
    Known("extractor-not-supported",
          r"(?<!\S)(?P<extractor>\S{0,100}) is not supported(?: for tf version (?P<tf>\d))?\. See "
          r"`?model_builder\.py`?",
          ("The feature extractor is not in this TensorFlow generation's model builder: a TF1 "
           "config (ssd_mobilenet_v2, faster_rcnn_inception_v2, ...) under TF2, whose builder has "
           "the *_keras extractors, or the reverse; an empty name means the config has no "
           "feature_extractor type.",),
          ("A001",), "tfod-doctor check {config} --select A001",
          "Take the config of the same model from the TF2 model zoo (configs/tf2), or train "
          "the TF1 model with TensorFlow 1.15.", priority=3,
          example="ValueError: ssd_mobilenet_v2 is not supported. See `model_builder.py` for "
                  "features extractors compatible with different versions of Tensorflow"),
    Known("unknown-feature-extractor",
          r"Unknown (?:ssd |faster_rcnn |center_?net )?feature_extractor: (?P<extractor>\S{1,200})",
          ("The feature extractor is not in this TensorFlow generation's model builder: a TF2 "
           "(*_keras) config under TF1's model_main.py, or a TF1 one under TF2.",),
          ("A001",), "tfod-doctor check {config} --select A001", priority=3,
          example="ValueError: Unknown ssd feature_extractor: ssd_mobilenet_v2_fpn_keras"),
    Known("centernet-checkpoint-type",
          r"'(?P<extractor>CenterNet\w*FeatureExtractor)' object has no",
          ("fine_tune_checkpoint_type does not fit the model: this CenterNet restores its "
           "checkpoint as fine_tune (or classification), not detection.",),
          ("A020", "C011"), "tfod-doctor check {config} --select A020,C011", priority=3,
          frames=r"restore_from_objects",
          example="  File \"center_net_meta_arch.py\", line 2769, in restore_from_objects\n"
                  "    return {'feature_extractor': self._feature_extractor.get_model()}\n"
                  "AttributeError: 'CenterNetResnetV1FpnFeatureExtractor' object has no "
                  "attribute 'get_model'"),
    Known("checkpoint-shapes",
          r"Received incompatible tensor with shape|doesn't match with shape of tensor|Assign "
          r"requires shapes of both tensors to match",
          ("fine_tune_checkpoint is a checkpoint of another architecture (or another backbone "
           "size) than the model the config builds.",
           "fine_tune_checkpoint_type: full restores the box predictor of a checkpoint made for "
           "another number of classes (a zoo checkpoint has 90)."),
          ("A021", "A024", "A020"), "tfod-doctor check {config} --select A021,A024,A020",
          priority=2,
          example="ValueError: Received incompatible tensor with shape (1, 1, 256, 546) when "
                  "attempting to restore variable with shape (1, 1, 256, 12)"),
    Known("checkpoint-partly-restored",
          r"Unresolved object in checkpoint|but not all checkpointed values were used|Value in "
          r"checkpoint could not be found in the restored object",
          ("Part of the fine-tune checkpoint was not restored: fine_tune_checkpoint_type does "
           "not fit the checkpoint (classification for a detection checkpoint or the reverse), "
           "or the checkpoint is of another model. Many such lines mean training starts from "
           "scratch.",),
          ("A020", "A021", "C011"), "tfod-doctor check {config} --select A020,A021,C011",
          priority=0, note=True,
          example="WARNING:tensorflow:Unresolved object in checkpoint: "
                  "(root).model._box_predictor._base_tower_layers_for_heads"),
    Known("inf-nan-gradients", r"Found Inf or NaN global norm",
          ("The gradients became Inf or NaN: boxes outside the image, degenerate or NaN boxes, "
           "or a learning rate that is too high.",),
          ("B003", "B004", "B007", "B005"), "tfod-doctor check {config} --select B",
          priority=0, note=True,
          example="W0312 utils.py:80] Found Inf or NaN global norm."),
    # -- not about the data: the installation, the GPU, memory ----------------------------------
    Known("od-api-not-installed",
          r"No module named '?(?P<module>(?:object_detection|official|nets|slim|tf_slim|deployment"
          r"|lvis|pycocotools)\b[\w.]*)",
          ("The OD API (or a package it needs) is not installed in the Python that runs "
           "training, or models/research is not on PYTHONPATH.",),
          (), "cd models/research && protoc object_detection/protos/*.proto --python_out=. && "
          "cp object_detection/packages/tf2/setup.py . && python -m pip install .",
          "Install the OD API into the environment that runs training (the missing module is "
          "{module}); in Colab, again after every runtime restart.", priority=2,
          about_files=False,
          example="ModuleNotFoundError: No module named 'object_detection'"),
    Known("protos-not-compiled",
          r"cannot import name '?(?P<proto>\w+_pb2)'?|No module named '?object_detection\.protos"
          r"\.(?P<proto2>\w+_pb2)",
          ("The OD API's .proto files were not compiled to *_pb2.py (the protoc step of the "
           "installation), or an old protoc compiled them.",),
          (), "cd models/research && protoc object_detection/protos/*.proto --python_out=.",
          priority=3, about_files=False,
          example="ImportError: cannot import name 'string_int_label_map_pb2'"),
    Known("tf1-code-on-tf2",
          r"module 'tensorflow(?:\._api\.v2\.compat\.v1)?' has no attribute '(?P<attr>contrib|"
          r"gfile|app|flags|Session|ConfigProto|GraphDef|placeholder|to_float)'|No module named "
          r"'?tensorflow\.contrib",
          ("TF1-era code (train.py, an old object_detection package or tutorial script) runs "
           "under TensorFlow 2, which has no tf.{attr}.",),
          (), "python -m pip install . (from models/research, with the TF2 setup.py)",
          "Use the TF2 OD API (model_main_tf2.py and the package built from "
          "object_detection/packages/tf2), or TensorFlow 1.15 for TF1 code.", priority=2,
          about_files=False,
          example="AttributeError: module 'tensorflow' has no attribute 'contrib'"),
    Known("protobuf-version",
          r"Descriptors cannot (?:not )?be created directly|Descriptors should not be created "
          r"directly|cannot import name 'builder' from 'google\.protobuf\.internal'",
          ("The installed protobuf package does not match the *_pb2.py files (compiled with "
           "another protoc).",),
          (), "python -m pip install 'protobuf<=3.20.3'  (or recompile the protos with a new "
          "protoc)", priority=3, about_files=False,
          example="TypeError: Descriptors cannot not be created directly."),
    Known("cudnn",
          r"cuDNN failed to initialize|Failed to get convolution algorithm|DNN library is not "
          r"found|Could not create cudnn handle|CUDNN_STATUS_\w+",
          ("cuDNN could not start on the GPU: a CUDA/cuDNN version TensorFlow was not built "
           "for, or the GPU memory is already taken.",),
          (), "python -c \"import tensorflow as tf; print(tf.sysconfig.get_build_info())\"",
          "Install the CUDA and cuDNN versions of your TensorFlow's build info; with enough "
          "versions right, let TensorFlow grow GPU memory (TF_FORCE_GPU_ALLOW_GROWTH=true).",
          priority=2, about_files=False,
          example="UnknownError: Failed to get convolution algorithm. This is probably because "
                  "cuDNN failed to initialize"),
    Known("out-of-memory",
          r"OOM when allocating tensor|ResourceExhaustedError|Resource exhausted|"
          r"CUDA_ERROR_OUT_OF_MEMORY|CUDA out of memory",
          ("The GPU (or host) ran out of memory.",),
          (), "tfod-doctor check {config}   (shows batch_size and the image resizer)",
          "Lower train_config.batch_size (and the image_resizer size); images far larger than "
          "the resizer's output only cost memory.", priority=2, about_files=False,
          example="ResourceExhaustedError: OOM when allocating tensor with shape[32,960,10,10]"),
    Known("cuda-library",
          r"Could not load dynamic library '?(?P<library>(?:lib)?(?:cudart|cudnn|cublas|cublasLt"
          r"|cufft|curand|cusolver|cusparse|nvinfer)[\w.]*)|(?P<library2>cudart64_\d+\.dll) not "
          r"found",
          ("The CUDA libraries of TensorFlow's build are not installed (or not on the library "
           "path): TensorFlow runs on the CPU. On a machine without a GPU this warning is "
           "harmless.",),
          (), "python -c \"import tensorflow as tf; "
          "print(tf.config.list_physical_devices('GPU'))\"",
          priority=0, about_files=False,
          example="W dso_loader.cc:64] Could not load dynamic library 'cudart64_110.dll'; "
                  "dlerror: cudart64_110.dll not found"),
    Known("unknown-field-unplaced",
          r"Message type \"(?P<message>[\w.]+)\" has no field named \"(?P<field>\w+)\"",
          ("A field the installed OD API does not know: a config newer than the install (a TF2 "
           "config on a TF1-era object_detection), a typo, or a field in the wrong block.",),
          ("C002", "C007"), "tfod-doctor check {config} --select C", priority=1,
          example="Training fails with Message type \"object_detection.protos.TrainConfig\" has "
                  "no field named \"fine_tune_checkpoint_version\""),
)



_check_patterns(KNOWN)
