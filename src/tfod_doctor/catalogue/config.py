"""C: pipeline.config: its text, its values, and what it says about the other files."""

from tfod_doctor.catalogue import Rule, define
from tfod_doctor.findings import Severity

SYNTAX_ERROR = define(Rule(
    id="C001",
    name="config-syntax-error",
    severity=Severity.ERROR,
    summary="pipeline.config is not valid protobuf text format (a missing brace, colon or quote, "
            "or typographic quotes).",
    why="Training reads the config with `text_format.Merge` and stops at the first syntax error "
        "with `ParseError: LINE:COL : ...` before anything else happens.",
    fix="Fix the text at the line and column shown; type quotes as straight \" or ', not “ ” ‘ ’.",
    example="label_map_path: “data/label_map.pbtxt”",
    defect="config_smart_quotes",
    tf_message="ParseError: 11:13 : Expected string but found: '“'",
))

UNKNOWN_FIELD = define(Rule(
    id="C002",
    name="unknown-config-field",
    severity=Severity.ERROR,
    summary="A field name that the block it is in does not have (a typo, a field in the wrong "
            "block, or a missing closing brace before it).",
    why="Training stops with `ParseError: ... has no field named ...`.",
    fix="Use the field name suggested, or move the field to the block it belongs to (the message "
        "says which).",
    example="tf_record_input_reader { input_paths: \"train.record\" }",
    defect="config_unknown_field",
    tf_message='ParseError: 177:5 : Message type "object_detection.protos.TFRecordInputReader" '
               'has no field named "input_paths".',
))

BAD_ENUM = define(Rule(
    id="C003",
    name="bad-enum-value",
    severity=Severity.ERROR,
    summary="An enum field holds a name that is not one of its values.",
    why="Training stops with `ParseError: ... Enum type ... has no value named ...`.",
    fix="Use one of the values the message lists (enum values are written without quotes).",
    example="fine_tune_checkpoint_version: V3",
    defect="config_bad_enum",
    tf_message='ParseError: 172:33 : Enum type "object_detection.protos.CheckpointVersion" has '
               "no value named V3.",
))

WRONG_TYPE = define(Rule(
    id="C004",
    name="wrong-value-type",
    severity=Severity.ERROR,
    summary="A value of the wrong type: a fraction for a whole number, a negative count, an "
            "unquoted string, a word for true/false, a value where a block is expected.",
    why="Training stops with `ParseError` (`Couldn't parse integer: 2.5`, `Value out of range: "
        "-1`, `Expected string but found: ...`).",
    fix="Write the value as the type named in the message.",
    example="batch_size: 4.5",
    defect="config_fraction_for_integer",
    tf_message="ParseError: 135:15 : Couldn't parse integer: 4.5",
))

FIELD_TWICE = define(Rule(
    id="C005",
    name="config-field-twice",
    severity=Severity.WARNING,
    summary="A field that holds one value is set twice in the same block.",
    why="Training's `text_format.Merge` keeps the last value (and merges two blocks) without a "
        "word, so the first setting, often the one you edited, has no effect.",
    fix="Delete one of the two lines (or merge the two blocks).",
    example="ssd { num_classes: 3 ... num_classes: 90 }",
    defect="config_field_twice",
))

ONEOF_CONFLICT = define(Rule(
    id="C006",
    name="oneof-conflict",
    severity=Severity.WARNING,
    summary="Two alternatives of a one-of are set (for example both `ssd` and `faster_rcnn` in "
            "`model`, or two image resizers).",
    why="`text_format.Merge` keeps only the last one without a word: the model or option you "
        "configured first is silently dropped.",
    fix="Keep the one you mean and delete the other.",
    example="model { ssd { ... } faster_rcnn { ... } }",
    defect="config_two_architectures",
))

INSTALLED_API_REJECTS = define(Rule(
    id="C007",
    name="installed-od-api-rejects-config",
    severity=Severity.ERROR,
    summary="The object_detection package installed here cannot read this config, although the "
            "OD API tfod-doctor knows can: the installed package is older than the config.",
    why="Training uses the installed package's protos, so it stops with the same `ParseError`. "
        "Typical: a TF2 config (`fine_tune_checkpoint_version`) with a TF1-era install or protos "
        "that were not recompiled.",
    fix="Upgrade the OD API (reinstall research/object_detection from a current tensorflow/models "
        "and recompile its protos with protoc), or remove the field only if your install is "
        "meant to be TF1.",
    example="fine_tune_checkpoint_version: V2   # with an OD API from 2019",
    defect="config_newer_than_install",
    tf_message='ParseError: 172:3 : Message type "object_detection.protos.TrainConfig" has no '
               'field named "fine_tune_checkpoint_version".',
))

CHECKPOINT_VERSION = define(Rule(
    id="C008",
    name="checkpoint-version-not-v2",
    severity=Severity.ERROR,
    summary="`fine_tune_checkpoint` is set but `fine_tune_checkpoint_version` is not V2 (it "
            "defaults to V1).",
    why="TF2 training (`model_main_tf2.py`) only loads V2 checkpoints and stops with "
        "`ValueError: Checkpoint version should be V2`.",
    fix="Add `fine_tune_checkpoint_version: V2` to train_config.",
    example="train_config { fine_tune_checkpoint: \"ckpt/ckpt-0\" }   # no version line",
    defect="checkpoint_version_missing",
    fixable=True,
    tf_message="ValueError: Checkpoint version should be V2",
))

CHECKPOINT_NOT_FOUND = define(Rule(
    id="C009",
    name="checkpoint-not-found",
    severity=Severity.ERROR,
    summary="`fine_tune_checkpoint` names a checkpoint that does not exist (no `PREFIX.index`), "
            "or one whose files cannot be read.",
    why="Training fails when it restores the checkpoint (`NotFoundError` / `Checkpoint is "
        "expected to be an object-based checkpoint`).",
    fix="Point fine_tune_checkpoint at the checkpoint prefix, e.g. "
        "`.../checkpoint/ckpt-0` for a model-zoo download (the folder holds ckpt-0.index).",
    example="fine_tune_checkpoint: \"pre-trained-models/ssd/checkpoint/ckpt-1\"   # only ckpt-0 "
            "exists",
    defect="checkpoint_missing",
    tf_message="OSError: Checkpoint is expected to be an object-based checkpoint.",
))

CHECKPOINT_NOT_PREFIX = define(Rule(
    id="C010",
    name="checkpoint-not-a-prefix",
    severity=Severity.ERROR,
    summary="`fine_tune_checkpoint` names a checkpoint file (`.index`, `.data-…`) or a folder, "
            "not the checkpoint prefix.",
    why="TensorFlow reads a checkpoint by its prefix. Given `ckpt-0.index` it sees a checkpoint "
        "with no variables, so the OD API stops with `Checkpoint is expected to be an "
        "object-based checkpoint`; given a `.data-…` file it fails with `not an sstable`; given "
        "a folder, restoring fails with `Is a directory` (#8892).",
    fix="Drop the suffix: `checkpoint/ckpt-0`, not `checkpoint/ckpt-0.index`.",
    example="fine_tune_checkpoint: \"checkpoint/ckpt-0.index\"",
    defect="checkpoint_index_file",
    tf_message="OSError: Checkpoint is expected to be an object-based checkpoint.",
))

CHECKPOINT_TYPE = define(Rule(
    id="C011",
    name="checkpoint-type",
    severity=Severity.ERROR,
    summary="`fine_tune_checkpoint_type` is a value no model supports (only `classification`, "
            "`detection` and `full` are). Whether the value fits the checkpoint itself is A020.",
    why="`restore_from_objects` refuses any other value and training stops with `Not supported "
        "fine_tune_checkpoint_type` (CenterNet: `\"fine_tune\" is no longer supported`).",
    fix="Set `fine_tune_checkpoint_type: \"detection\"` for a model-zoo checkpoint "
        "(`classification` only for an image-classification backbone; `full` to restore the "
        "box predictor too).",
    example="fine_tune_checkpoint_type: \"fine_tune\"",
    defect="checkpoint_type_unknown",
    tf_message="ValueError: Not supported fine_tune_checkpoint_type: fine_tune",
))

BFLOAT16 = define(Rule(
    id="C012",
    name="bfloat16-off-tpu",
    severity=Severity.INFO,
    summary="`use_bfloat16: true` is set; it takes effect on TPUs only.",
    why="TF2 training (`model_lib_v2.train_loop`) uses bfloat16 only when it runs on a TPU and "
        "turns the flag off otherwise: on a GPU or CPU it changes nothing and training runs in "
        "float32. Model-zoo Faster R-CNN configs set it with the comment \"works only on "
        "TPUs\"; it does not make training fail.",
    fix="Nothing to do on a TPU; elsewhere set `use_bfloat16: false` (or delete the line) so "
        "the config says what happens.",
    example="train_config { use_bfloat16: true }",
    defect="use_bfloat16",
))

IGNORED_BY_TF2 = define(Rule(
    id="C013",
    name="ignored-by-tf2",
    severity=Severity.INFO,
    summary="A field that TF2 training does not read (deprecated fields, "
            "`train_config.max_number_of_boxes`, a second `eval_input_reader`), or a deprecated "
            "one it still reads (`from_detection_checkpoint`).",
    why="Changing it changes nothing. In particular the box limit lives in the input readers: "
        "`train_config.max_number_of_boxes` is ignored, and boxes past the readers' limit "
        "(default 100) are dropped without a word.",
    fix="Set the value where TF2 reads it (the message says where), or delete the line. Not "
        "`from_detection_checkpoint: true` alone: while `fine_tune_checkpoint_type` is unset TF2 "
        "still reads it, so replace it with `fine_tune_checkpoint_type: \"detection\"`.",
    example="train_config { max_number_of_boxes: 300 }   # the readers still keep 100",
    defect="train_config_max_boxes_only",
))

NUM_CLASSES_MISSING = define(Rule(
    id="C014",
    name="num-classes-missing",
    severity=Severity.ERROR,
    summary="The model has no `num_classes` (or 0), or its meta-architecture has none.",
    why="num_classes defaults to 0, so every class id is out of range: nothing is learned, or "
        "model building fails; `experimental_model` has no num_classes at all "
        "(`... does not have num_classes`).",
    fix="Set num_classes to the number of classes in the label map (background excluded).",
    example="ssd { image_resizer { ... } }   # no num_classes",
    defect="num_classes_missing",
    fixable=True,
))

NUM_CLASSES_ABOVE_MAP = define(Rule(
    id="C015",
    name="num-classes-above-label-map",
    severity=Severity.WARNING,
    summary="num_classes is larger than the largest id in the label map.",
    why="The model gets outputs for classes that have no name and no data; usually num_classes "
        "was copied from a model-zoo config (90 for COCO) and not updated.",
    fix="Set num_classes to the largest label map id (the number of your classes).",
    example="num_classes: 90   # the label map has 3 items",
    defect="num_classes_too_large",
    fixable=True,
))

LABEL_MAP_NOT_FOUND = define(Rule(
    id="C016",
    name="label-map-not-found",
    severity=Severity.ERROR,
    summary="`label_map_path` names a file that does not exist, a folder, or a file that cannot "
            "be read.",
    why="Building the decoder or the evaluator fails with `NotFoundError` (or "
        "`PermissionDeniedError`).",
    fix="Fix the path (relative paths are relative to the folder training runs in), or the "
        "file's permissions.",
    example="label_map_path: \"annotations/labelmap.pbtxt\"   # the file is label_map.pbtxt",
    defect="label_map_path_wrong",
    tf_message="NotFoundError: ...; No such file or directory",
))

EVAL_WITHOUT_LABEL_MAP = define(Rule(
    id="C017",
    name="eval-without-label-map",
    severity=Severity.ERROR,
    summary="eval_input_reader has no `label_map_path`.",
    why="TF2 evaluation builds its category list from `eval_input_reader.label_map_path` and "
        "fails on an empty path.",
    fix="Add the same `label_map_path` as in train_input_reader.",
    example="eval_input_reader { tf_record_input_reader { input_path: \"eval.record\" } }",
    defect="eval_label_map_unset",
    tf_message="NotFoundError: ; No such file or directory",
))

INPUT_MATCHES_NOTHING = define(Rule(
    id="C018",
    name="input-path-matches-nothing",
    severity=Severity.DATA_LOSS,
    summary="An `input_path` entry matches no file.",
    why="If another entry matches, TensorFlow drops this one without a word (data loss); if none "
        "matches, training stops with `Did not find any input files matching the glob pattern` "
        "(error).",
    fix="Fix the path or pattern; relative paths are taken from the folder training is started "
        "in.",
    example="input_path: \"data/train.record-?????-of-00010\"   # written as one file",
    defect="input_path_matches_nothing",
    tf_message="RuntimeError: Did not find any input files matching the glob pattern [...]",
))

RELATIVE_TO_CONFIG = define(Rule(
    id="C019",
    name="path-relative-to-config",
    severity=Severity.WARNING,
    summary="A relative path in the config (input_path, label_map_path, fine_tune_checkpoint) "
            "matches nothing from the current folder, only from the config's folder.",
    why="TensorFlow resolves relative paths against the folder training is started in, not the "
        "config's: started from here, training would not find the file.",
    fix="Start training from the config's folder, or write the path as an absolute path.",
    example="input_path: \"data/train.tfrecord\"   # run from another folder",
    defect="input_path_relative_to_config",
    tf_message="RuntimeError: Did not find any input files matching the glob pattern [...]",
))

INPUT_IS_DIRECTORY = define(Rule(
    id="C020",
    name="input-path-is-directory",
    severity=Severity.ERROR,
    summary="An `input_path` entry names a folder.",
    why="TensorFlow does not look inside folders: it tries to read the folder itself as a record "
        "file and fails.",
    fix="Name the files with a pattern: `data/*.tfrecord`.",
    example="input_path: \"data/\"",
    defect="input_path_directory",
    tf_message="FailedPreconditionError: data; Is a directory",
))

UNKNOWN_METRIC = define(Rule(
    id="C021",
    name="unknown-metric",
    severity=Severity.ERROR,
    summary="eval_config `metrics_set` names a metric the OD API does not have.",
    why="Evaluation stops with `ValueError: Metric not found: NAME`.",
    fix="Use one of the metric names listed in the message (`coco_detection_metrics` is the "
        "default; Open Images: `oid_V2_detection_metrics` or `oid_challenge_detection_metrics`, "
        "the names of the older `open_images_V2_detection_metrics` and "
        "`oid_challenge_object_detection_metrics`).",
    example="metrics_set: \"coco_detection_metric\"",
    defect="unknown_metric",
    tf_message="ValueError: Metric not found: coco_detection_metric",
))

SAMPLED_INPUT = define(Rule(
    id="C022",
    name="sampled-input",
    severity=Severity.WARNING,
    summary="`sample_1_of_n_examples` is above 1: the reader keeps only every n-th record.",
    why="The rest of the records are skipped without a word; in eval, the metrics cover only a "
        "sample.",
    fix="Remove sample_1_of_n_examples (or set it to 1) unless you mean to sample.",
    example="train_input_reader { sample_1_of_n_examples: 10 }",
    defect="sample_1_of_n",
))

BATCH_DROPS_RECORDS = define(Rule(
    id="C023",
    name="batch-drops-records",
    severity=Severity.DATA_LOSS,
    summary="A reader that reads its records a fixed number of times drops the last, incomplete "
            "batch (`drop_remainder` is on by default), or makes no batch at all.",
    why="With `num_epochs` set (eval readers: 1) the records that do not fill a whole batch are "
        "never used; if there are fewer records than one batch, there is nothing to train or "
        "evaluate on.",
    fix="Use a batch size that divides the number of records (eval: `eval_config.batch_size: 1`), "
        "or set `drop_remainder: false` in the reader.",
    example="eval_config { batch_size: 8 }   # 4 eval records, num_epochs: 1",
    defect="eval_batch_larger_than_dataset",
))

TRAIN_EVAL_OVERLAP = define(Rule(
    id="C024",
    name="train-eval-same-files",
    severity=Severity.WARNING,
    summary="The train and eval readers read the same record file(s).",
    why="Evaluating on the training data makes the metrics look far better than the model is.",
    fix="Give eval its own held-out records.",
    example="eval_input_reader { tf_record_input_reader { input_path: \"train.record\" } }",
    defect="eval_reads_train_files",
))

REFUSED_BY_TRAINING = define(Rule(
    id="C025",
    name="config-refused-by-training",
    severity=Severity.ERROR,
    summary="A combination of settings that TF2 training refuses when it starts (a missing input "
            "reader or input path, an option TF2 does not support, weights that do not match the "
            "inputs, a task without what it needs).",
    why="Training stops with a ValueError naming the setting; the message quotes it.",
    fix="Change the setting as the message says.",
    example="train_config { load_all_detection_checkpoint_vars: true }",
    defect="load_all_detection_checkpoint_vars",
    tf_message="ValueError: train_pb2.load_all_detection_checkpoint_vars unsupported in TF2",
))

PLACEHOLDER_PATH = define(Rule(
    id="C026",
    name="placeholder-path",
    severity=Severity.ERROR,
    summary="A path still holds the model zoo's placeholder `PATH_TO_BE_CONFIGURED`.",
    why="Model-zoo configs ship with placeholders for every path; training fails on the first "
        "one it opens.",
    fix="Replace the placeholder with the real path of your file.",
    example="label_map_path: \"PATH_TO_BE_CONFIGURED/label_map.txt\"",
    defect="path_placeholder",
))
