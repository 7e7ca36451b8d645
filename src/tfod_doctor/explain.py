"""``explain``: from a TensorFlow / OD API error message (or a whole pasted traceback or log) to
its likely root causes, the rules that find them, and the command to run next.

The known messages are data (:data:`KNOWN`): a pattern, the causes, the rule ids, the next command.
Numbers, keys, paths and positions in the message are pulled out of it and put into the advice.
In a traceback or log the most specific message wins; among equals, the last one (the error that
stopped the run comes last).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tfod_doctor import catalogue

CHECK = "tfod-doctor check {config}"
# Each starts where a word of path characters starts (the look-behind), so that a long run of
# them is scanned once, not once from every character of it.
_CONFIG = re.compile(r"(?<![^\s'\"()=])([^\s'\"()=]+\.config)\b")
_RECORDS = re.compile(
    r"(?<![^\s'\"\[\](),])([^\s'\"\[\](),]+\.(?:tfrecords?|records?|tfrec)(?:-\d+-of-\d+)?)\b")
_LABEL_MAP = re.compile(r"(?<![^\s'\"\[\](),])([^\s'\"\[\](),]+\.pbtxt)\b")


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


KNOWN: tuple[Known, ...] = (
    Known("wrong-kind", r"Key: (?P<key>[\w/]+)\.\s+Data types don't match",
          ("A feature was written with the wrong list type: float labels, int64 boxes, a float "
           "image/height.",),
          ("F003",), "tfod-doctor check {config} --select F003",
          "The key is {key}; tfod-doctor names every record where it has the wrong kind."),
    Known("fixed-length", r"Key: (?P<key>[\w/]+)\.\s+Can't parse serialized Example",
          ("A key the decoder reads with a fixed length holds the wrong number of values "
           "(image/height or image/width lists, additional channels ≠ num_additional_channels).",),
          ("F004",), "tfod-doctor check {config} --select F004", "The key is {key}."),
    Known("required-missing",
          r"Feature: (?P<key>[\w/]+) \(data type: (?P<dtype>\w+)\) is required but could not be "
          r"found",
          ("The config turns on an input option (load_context_features, num_additional_channels, "
           "...) whose keys the records do not have.",),
          ("F005",), "tfod-doctor check {config} --select F005,F006",
          "The missing key is {key} ({dtype})."),
    Known("not-a-tfrecord",
          r"corrupted record at 0\b.{0,40}Is this even a TFRecord",
          ("The file is not a TFRecord at all (an image, CSV, JSON or label map picked up by a "
           "glob), or it is GZIP/ZLIB-compressed.",),
          ("R001", "R002"), "tfod-doctor scan {records}", priority=3),
    Known("corrupted-record", r"corrupted record at (?P<offset>\d+)",
          ("A record's length or data fails its CRC: bit-rot, a partial copy, or a file that is "
           "not a TFRecord.",),
          ("R003", "R004"), "tfod-doctor scan {records}",
          "The damaged record starts at byte {offset} (a bad length CRC) or at byte {offset_12} "
          "(a bad data CRC: TensorFlow names the start + 12); tfod-doctor names the file and the "
          "record, and `tfod-doctor fix` keeps every intact record.", priority=2),
    Known("truncated-record", r"truncated record at (?P<offset>\d+)",
          ("The file ends in the middle of a record: an incomplete copy or download, or a "
           "writer that was never closed.",),
          ("R005",), "tfod-doctor scan {records}",
          "The cut record starts at byte {offset}.", priority=2),
    Known("not-an-example", r"Could not parse example input",
          ("A record's bytes are not a serialized tf.train.Example (raw image bytes or a "
           "SequenceExample were written).",),
          ("R008",), "tfod-doctor scan {records}"),
    Known("empty-labels", r"indices\[(?P<index>\d+)\] = (?P<value>-?\d+) is not in \[0, 0\)",
          ("The records have boxes but no class labels the decoder reads: only "
           "image/object/class/text without label_map_path in the input reader, an empty "
           "label list, or class ids under another key (classes, labels, category_id).",),
          ("L006", "B002", "F009"), priority=3),
    Known("label-count",
          r"indices\[(?P<index>\d+)\] = (?P<value>-?\d+) is not in \[0, (?P<size>\d+)\)",
          ("A record has a different number of class labels than boxes.",),
          ("B002",), "tfod-doctor check {config} --select B002",
          "Box index {value} has no label: only {size} labels."),
    Known("coordinate-lists",
          r"ConcatOp ?: (?:Dimensions of inputs should match|Dimension \d+ in both shapes must "
          r"be equal)",
          ("The four box coordinate lists (xmin, ymin, xmax, ymax) have different lengths.",
           "Only some coordinate keys were renamed to the OD API's names (ymin and xmin, say, "
           "while ymax and xmax keep the old names): the lists left under other keys are read "
           "as empty."),
          ("B001", "F002", "F008"), "tfod-doctor check {config} --select B001,F002,F008",
          "tfod-doctor names the record, the list lengths and the keys that were not "
          "renamed."),
    Known("pixel-coordinates",
          r"maximum box coordinate value is larger than (?P<limit>[\d.]+)",
          ("Box coordinates are in pixels instead of 0..1 (the most common cause).",
           "Boxes reach past the image edge.",
           "The image has an EXIF rotation that TensorFlow ignores, so width and height swap."),
          ("B005", "B004", "I005"), "tfod-doctor check {config} --select B005,B004,I005",
          "The limit is {limit}; it fires in Faster R-CNN training and in evaluation of every "
          "model, so the same records may seem to work with SSD.", priority=2),
    Known("inverted-box", r"assertion failed: \[\[[-+0-9.e ]+\]\] \[\[",
          ("A box has xmin > xmax or ymin > ymax (dragged backwards in an annotation tool, or "
           "columns swapped in a CSV).",),
          ("B006",), "tfod-doctor check {config} --select B006"),
    Known("degenerate-boxes", r"max value is lower than 1\.01",
          ("Degenerate boxes (zero area, or outside the image) reach Faster R-CNN's coordinate "
           "conversion.",),
          ("B007", "B004"), "tfod-doctor check {config} --select B"),
    Known("undecodable-image",
          r"Unable to decode bytes as JPEG, PNG, GIF, or BMP|Unknown image file format",
          ("image/encoded holds bytes that are not a JPEG/PNG/BMP image (TIFF, raw pixels, a "
           "corrupt file), or the records use another key schema (TFDS).",),
          ("I001", "I007", "F001"), "tfod-doctor check {config} --select I,F001 --deep"),
    Known("empty-image", r"Input is empty",
          ("image/encoded is missing or empty (its default is an empty string): a misspelt key, "
           "or an exporter that stored no image.",),
          ("F001",), "tfod-doctor check {config} --select F001"),
    Known("truncated-jpeg", r"jpeg::Uncompress failed|Invalid JPEG data",
          ("A JPEG in the records is truncated or corrupt.",),
          ("I003",), "tfod-doctor check {config} --select I --deep"),
    Known("animated-image", r"input must be 4-dimensional",
          ("A GIF or WebP image decodes as 4-D (frames), which the resizer cannot take.",),
          ("I002",), "tfod-doctor check {config} --select I002"),
    Known("nan-loss", r"LossTensor is inf or nan|Loss is inf or nan|Tensor had NaN values|"
          r"loss.{0,20}\bnan\b",
          ("Boxes outside the image, degenerate or NaN boxes.",
           "A learning rate that is too high (not a data problem)."),
          ("B003", "B004", "B007", "B005"), "tfod-doctor check {config} --select B",
          priority=0),
    Known("label-map-id-zero", r"Label map id 0 is reserved for the background label",
          ("A label map item has id 0, or no id at all (a missing id means 0).",),
          ("M003",), "tfod-doctor check {config} --select M", priority=2),
    Known("label-map-negative", r"Label map ids should be >= 0",
          ("A label map item has a negative id.",), ("M004",),
          "tfod-doctor check {config} --select M", priority=2),
    Known("label-map-syntax",
          r"a bytes-like object is required, not 'str'|expected bytes, str found|"
          r"DecodeError: Error parsing message",
          ("A syntax error in label_map.pbtxt: load_labelmap catches the real ParseError and "
           "shows this instead (a missing brace or quote, typographic quotes, a typo in a field "
           "name).",),
          ("M001",), "tfod-doctor check {config} --select M", priority=2,
          context=r"label_map|labelmap|string_int_label_map|\.pbtxt"),
    Known("bytes-like-object",
          r"a bytes-like object is required, not 'str'",
          ("Most often a syntax error in label_map.pbtxt, hidden by load_labelmap's fallback "
           "(a missing brace or quote, typographic quotes, a typo in a field name).",),
          ("M001",), "tfod-doctor check {config} --select M", priority=0),
    Known("label-map-empty",
          r"Signature mismatch\. Keys must be dtype|key_dtype=DT_FLOAT|HashTableV2",
          ("The label map is empty or was not read (an unedited or wrong label map file).",),
          ("M002",), "tfod-doctor check {config} --select M", priority=2),
    Known("label-map-no-items", r"max\(\) arg is an empty sequence",
          ("Evaluation found no classes: the label map is empty, or eval_input_reader has no "
           "label_map_path.",),
          ("M002", "C017"), priority=1, context=r"label_map|category|eval"),
    Known("no-input-files",
          r"Did not find any input files matching the glob pattern \[(?P<pattern>[^\]]*)\]",
          ("input_path matches no file: a wrong path or pattern, or training started from "
           "another folder (relative paths are taken from the working directory).",),
          ("C018", "C019"), "tfod-doctor check {config} --select C018,C019",
          "The pattern(s): {pattern}.", priority=2),
    Known("no-input-files-tf1",
          r"num_readers has been reduced to 0|Tensor conversion requested dtype string for "
          r"Tensor with dtype float32",
          ("input_path matches no file (older OD API versions fail like this).",),
          ("C018", "C019"), "tfod-doctor check {config} --select C018,C019"),
    Known("too-many-boxes",
          r"Expected size\[0\] in \[0, (?P<limit>\d+)\], but got (?P<count>\d+)",
          ("An image has more boxes than max_number_of_boxes (older builds fail; newer ones drop "
           "the extra boxes without a word).",),
          ("B009",), "tfod-doctor check {config} --select B009",
          "An image has {count} boxes; the limit is {limit}: raise max_number_of_boxes in "
          "train_input_reader and eval_input_reader."),
    Known("fixed-record-keys",
          r"(?P<line>\d+):(?P<column>\d+) : (?:'[^\n]*': )?Message type \"object_detection\.protos"
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
          priority=4),
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
          "tfod-doctor check {config} --select F,B013,D007", priority=0),
    Known("unknown-field",
          r"(?P<line>\d+):(?P<column>\d+) : (?:'[^\n]*': )?Message type \"(?P<message>[\w.]+)\" "
          r"has no field named \"(?P<field>\w+)\"",
          ("A typo in a field name, a field in the wrong block, or a missing closing brace.",
           "A config newer than the installed OD API (for example fine_tune_checkpoint_version "
           "with a TF1-era install)."),
          ("C002", "C007"), "tfod-doctor check {config} --select C,M",
          "Line {line}, column {column}: {field} in {message}.", priority=3),
    Known("bad-enum",
          r"(?P<line>\d+):(?P<column>\d+) : (?:'[^\n]*': )?Enum type \"(?P<enum>[\w.]+)\" has no "
          r"value named (?P<value>\S+?)\.",
          ("An enum field holds a value that does not exist.",), ("C003",),
          "tfod-doctor check {config} --select C", "Line {line}: {value} is not a {enum}.",
          priority=3),
    Known("wrong-value",
          r"(?P<line>\d+):(?P<column>\d+) : (?:'[^\n]*': )?(?:Couldn't parse integer|Value out of "
          r"range|Expected string but found|Couldn't parse float|Expected \"true\" or \"false\")",
          ("A value of the wrong type: a fraction in a whole-number field, a negative count, an "
           "unquoted string, typographic quotes.",),
          ("C004", "C001", "M001"), "tfod-doctor check {config} --select C,M",
          "Line {line}, column {column}.", priority=3),
    Known("syntax",
          r"(?P<line>\d+):(?P<column>\d+) : (?:'[^\n]*': )?(?:Expected \"[}:{\]]\"|Expected "
          r"identifier|String missing ending quote)",
          ("A syntax error in pipeline.config (or the label map): a missing brace, colon or "
           "quote.",),
          ("C001", "M001"), "tfod-doctor check {config} --select C,M",
          "Line {line}, column {column}.", priority=3),
    Known("checkpoint-version", r"Checkpoint version should be V2",
          ("fine_tune_checkpoint_version is missing (it defaults to V1) or V1.",), ("C008",),
          "tfod-doctor check {config} --select C008", priority=2),
    Known("checkpoint-object-based", r"Checkpoint is expected to be an object-based checkpoint",
          ("fine_tune_checkpoint points at a file (.index / .data) instead of the prefix, at a "
           "path that does not exist, or at a TF1 checkpoint (model.ckpt).",),
          ("C010", "C009"), "tfod-doctor check {config} --select C009,C010", priority=2),
    Known("checkpoint-type",
          r"Not supported fine_tune_checkpoint_type: (?P<kind>\S*)|Unknown fine tune checkpoint "
          r"type (?P<kind2>\S*)|\"fine_tune\" is no longer supported",
          ("fine_tune_checkpoint_type is not one the model supports (classification, detection, "
           "full).",), ("C011",), "tfod-doctor check {config} --select C011", priority=2),
    Known("bfloat16", r"DataType bfloat16 not in list of allowed values|has DataType bfloat16",
          ("use_bfloat16: true in train_config on a GPU or CPU (it works on TPUs only).",),
          ("C012",), "tfod-doctor check {config} --select C012", priority=2),
    Known("tf2-unsupported",
          r"load_all_detection_checkpoint_vars unsupported in TF2|Unsupported input_reader_config|"
          r"At least one input path must be specified|In order to expand labels|"
          r"max_num_context_features must be specified|Unknown image resizer type|Expected the "
          r"number of input files to be the same as the number of dataset sample weights",
          ("A config setting TF2 training refuses.",), ("C025",),
          "tfod-doctor check {config} --select C", priority=2),
    Known("metric-not-found", r"Metric not found: (?P<metric>\S+)",
          ("eval_config.metrics_set names a metric the OD API does not have.",), ("C021",),
          "tfod-doctor check {config} --select C021", "The unknown metric: {metric}.",
          priority=2),
    Known("no-num-classes", r"does not have num_classes",
          ("The meta-architecture has no num_classes (experimental_model).",), ("C014",),
          priority=2),
    Known("duplicate-source-id",
          r"Ignoring ground truth with image id (?P<image_id>\S+) since it was previously added|"
          r"Image with id (?P<image_id2>\S+) already added",
          ("Two eval records share image/source_id (or both have an empty one): the later image "
           "is left out of the metrics.",),
          ("D001", "D002"), "tfod-doctor check {config} --split eval --select D001,D002"),
    Known("duplicate-keypoint", r"Duplicate keypoint ids are not allowed|Duplicated keypoint",
          ("A label map item lists a keypoint id or label twice.",), ("M010",),
          "tfod-doctor check {config} --select M010", priority=2),
    Known("none-label",
          r"None has type NoneType, but expected one of: int",
          ("While writing records, the class-name-to-id function returned None for a class it "
           "does not know (a typo, a case difference, or a class missing from its list). Do not "
           "`return 0` instead: that makes background boxes.",),
          ("L001", "L004"), "tfod-doctor convert  (writes records with ids from your label map)"),
    Known("class-missing-from-label-map", r"KeyError: '(?P<name>[^']+)'",
          ("A class name in the annotations is missing from label_map.pbtxt (a typo, a case "
           "difference, or a stale label map).",),
          ("L004",), "tfod-doctor check {config} --select L,M",
          "The missing name is {name!r}.", priority=1,
          context=r"label_map_dict|class_text_to_int|generate_tfrecord"),
    Known("label-map-missing-file", r"(?:NotFoundError|No such file or directory).{0,200}\.pbtxt",
          ("label_map_path names a file that does not exist (relative paths are taken from the "
           "working directory).",), ("C016", "C019"),
          "tfod-doctor check {config} --select C016,C019", priority=1),
    Known("is-a-directory", r"Is a directory",
          ("An input_path names a folder; TensorFlow reads files only.",), ("C020",),
          "tfod-doctor check {config} --select C020", priority=0),
    Known("checkpoint-dir-same",
          r"Checkpoint dir \((?P<checkpoint_dir>[^)]*)\) and model_dir \((?P<model_dir>[^)]*)\) "
          r"cannot be same",
          ("--model_dir is the folder of the fine-tune checkpoint; training would overwrite it.",),
          (), "model_main_tf2.py --model_dir NEW_FOLDER ...",
          "Use a new, empty --model_dir instead of {model_dir}.", priority=2),
)


@dataclass
class RuleRef:
    """A rule named by an explanation, as the catalogue knows it (or not yet)."""

    id: str
    name: str | None
    severity: str | None
    summary: str | None

    @property
    def known(self) -> bool:
        """Whether the rule is in this version's catalogue."""
        return self.name is not None


@dataclass
class Explanation:
    """What a message means: the matched text, causes, rules, advice and the next command."""

    name: str
    matched: str
    causes: list[str]
    rules: list[RuleRef]
    advice: str
    next_command: str
    values: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``explain --format json``."""
        return {
            "recognised": True,
            "message": self.name,
            "matched": self.matched,
            "causes": self.causes,
            "rules": [vars(rule) | {"known": rule.known} for rule in self.rules],
            "advice": self.advice,
            "next": self.next_command,
            "values": self.values,
        }


def rule_ref(rule_id: str) -> RuleRef:
    """A rule reference; rules missing from the catalogue are kept and marked unknown."""
    try:
        rule = catalogue.get(rule_id)
    except KeyError:
        return RuleRef(rule_id, None, None, None)
    return RuleRef(rule.id, rule.name, rule.severity.label, rule.summary)


def _fill(template: str, values: dict[str, str]) -> str:
    class _Missing(dict):
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    return template.format_map(_Missing(values))


def _places(text: str) -> dict[str, str]:
    """The config, record files and label map a log names, for the next command."""
    configs = _CONFIG.findall(text)
    records = list(dict.fromkeys(_RECORDS.findall(text)))
    label_maps = _LABEL_MAP.findall(text)
    return {
        "config": configs[-1] if configs else "path/to/pipeline.config",
        "records": " ".join(records[:3]) if records else "'path/to/*.tfrecord'",
        "label_map": label_maps[-1] if label_maps else "path/to/label_map.pbtxt",
    }


def explain(text: str) -> Explanation | None:
    """The explanation of the most specific known message in ``text``, or ``None``."""
    best: tuple[int, int, Known, re.Match[str]] | None = None
    for known in KNOWN:
        if known.context and not re.search(known.context, text, re.I):
            continue
        for match in re.finditer(known.pattern, text, re.S):
            key = (known.priority, match.start())
            if best is None or key > best[:2]:
                best = (known.priority, match.start(), known, match)
    if best is None:
        return None
    _, _, known, match = best
    values = {k: v for k, v in match.groupdict().items() if v is not None}
    rules = list(known.rules)
    advice = known.advice
    if known.name == "unknown-field" and _schema_knows(values["message"], values["field"]):
        rules = ["C007", "C002"]
        advice += (" The OD API that tfod-doctor knows has this field, so the installed "
                   "object_detection package is older than the config: upgrade it and "
                   "recompile its protos.")
    if "offset" in values:
        values["offset_12"] = str(max(0, int(values["offset"]) - 12))
    values.update(_places(text))
    return Explanation(
        name=known.name,
        matched=_line_around(text, match),
        causes=list(known.causes),
        rules=[rule_ref(rule_id) for rule_id in rules],
        advice=_fill(advice, values),
        next_command=_fill(known.next, values),
        values={k: v for k, v in match.groupdict().items() if v is not None},
    )


def _schema_knows(message: str, field_name: str) -> bool:
    from tfod_doctor.config import schema

    name = message.removeprefix("object_detection.protos.")
    try:
        return field_name in schema.message(name).fields
    except KeyError:
        return False


def _line_around(text: str, match: re.Match[str]) -> str:
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    return text[start:end if end >= 0 else len(text)].strip()


def not_recognised_command(text: str) -> str:
    """The generic command for a message that is not recognised."""
    return _fill(CHECK, _places(text))
