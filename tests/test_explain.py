"""``explain``: real TensorFlow / OD API messages (spec §7) to causes, rules and next commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tfod_doctor import catalogue
from tfod_doctor.cli import main
from tfod_doctor.explain import KNOWN, explain

#: (message as users report it, the rule expected first, a value the advice must carry)
SPEC_MESSAGES = [
    ("Key: image/object/class/label.  Data types don't match. Expected type: int64, Actual "
     "type: float", "F003", "image/object/class/label"),
    ("Key: image/height.  Can't parse serialized Example: Some bytes_list slice was not parsed.",
     "F004", "image/height"),
    ("Feature: image/context_feature_length (data type: int64) is required but could not be "
     "found.", "F005", "image/context_feature_length"),
    ("DataLossError: corrupted record at 123456", "R003", "123444"),
    ("DataLossError: corrupted record at 0 (Is this even a TFRecord file?)", "R001", None),
    ("DataLossError: truncated record at 9876' failed with Read less bytes than requested",
     "R005", "9876"),
    ("InvalidArgumentError: indices[0] = 0 is not in [0, 0)", "L006", None),
    ("InvalidArgumentError: indices[2] = 2 is not in [0, 2)", "B002", "2 labels"),
    ("ConcatOp : Dimensions of inputs should match: shape[0] = [1,3] vs. shape[2] = [1,2]",
     "B001", None),
    ("InvalidArgumentError: assertion failed: [[0.5 0.6]] [[0.4 0.9]]", "B006", None),
    ("assertion failed: [maximum box coordinate value is larger than 1.100000: ] [640]",
     "B005", "1.100000"),
    ("assertion failed: [Unable to decode bytes as JPEG, PNG, GIF, or BMP]", "I001", None),
    ("InvalidArgumentError: Input is empty.", "F001", None),
    ("LossTensor is inf or nan. : Tensor had NaN values", "B003", None),
    ("ValueError: Label map id 0 is reserved for the background label", "M003", None),
    ("File \"label_map_util.py\", line 173, in load_labelmap\n    "
     "label_map.ParseFromString(label_map_string)\nTypeError: a bytes-like object is required, "
     "not 'str'", "M001", None),
    ("TypeError: Signature mismatch. Keys must be dtype <dtype: 'float32'>, got <dtype: "
     "'string'>", "M002", None),
    ("RuntimeError: Did not find any input files matching the glob pattern "
     "['data/train.record']", "C018", "data/train.record"),
    ("ValueError: Tensor conversion requested dtype string for Tensor with dtype float32",
     "C018", None),
    ("Expected size[0] in [0, 100], but got 109", "B009", "109"),
    ('ParseError: 172:3 : Message type "object_detection.protos.TrainConfig" has no field '
     'named "fine_tune_checkpoint_version".', "C007", "Line 172"),
    ('ParseError: 12:5 : Message type "object_detection.protos.TFRecordInputReader" has no '
     'field named "input_paths".', "C002", "Line 12"),
    ("ValueError: Checkpoint version should be V2", "C008", None),
    ("OSError: Checkpoint is expected to be an object-based checkpoint.", "C010", None),
    ("AssertionError: Found 263 Python objects that were not bound to checkpointed values, "
     "likely due to changes in the Python program.", "A020", None),
    ("ValueError: Received incompatible tensor with shape [1, 1, 256, 24] when attempting to "
     "restore variable with shape [3, 3, 128, 24]", "A021", None),
    ("NotImplementedError: Classification backbone not supported for <class 'object_detection."
     "models.center_net_hourglass_feature_extractor.CenterNetHourglassFeatureExtractor'>",
     "A022", None),
    ("TypeError: None has type NoneType, but expected one of: int, long", "L001", None),
    ("TypeError: Value passed to parameter 'image' has DataType bfloat16 not in list of "
     "allowed values", "C012", None),
    ("W1103 coco_evaluation.py:87] Ignoring ground truth with image id 1234567 since it was "
     "previously added", "D001", None),
    ("ValueError: Metric not found: coco_detection_metric", "C021", "coco_detection_metric"),
    ("ParseError: 172:33 : Enum type \"object_detection.protos.CheckpointVersion\" has no value "
     "named V3.", "C003", "Line 172"),
    ("ParseError: 135:15 : '  batch_size: 4.5': Couldn't parse integer: 4.5", "C004",
     "Line 135"),
]


@pytest.mark.parametrize(("message", "rule", "value"), SPEC_MESSAGES,
                         ids=[m[1] + ":" + m[0][:30] for m in SPEC_MESSAGES])
def test_spec_messages_are_explained(message, rule, value):
    found = explain(message)
    assert found is not None, message
    assert found.rules[0].id == rule
    assert found.rules[0].known
    if value is not None:
        assert value in found.advice + found.next_command


#: Model rules (family A) assigned to parallel work; explain names them before they land.
def test_every_referenced_rule_exists():
    referenced = {rule for known in KNOWN for rule in known.rules} | {"C007"}
    missing = {rule for rule in referenced if not _in_catalogue(rule)}
    assert not missing, f"explain names rules that exist nowhere: {sorted(missing)}"


def _in_catalogue(rule_id: str) -> bool:
    try:
        catalogue.get(rule_id)
    except KeyError:
        return False
    return True


#: A whole multi-line traceback as model_main_tf2.py prints it (tabs and all).
TRACEBACK = (Path(__file__).parent / "data" / "frcnn_pixel_boxes_traceback.log").read_text()


def test_a_whole_traceback_names_the_cause_and_the_users_config():
    found = explain(TRACEBACK)
    assert found is not None and found.name == "pixel-coordinates"
    assert found.values["limit"] == "1.100000"
    assert found.next_command.startswith("tfod-doctor check models/my_frcnn/pipeline.config")


def test_the_last_error_of_a_log_wins_among_equals():
    log = ("W data: corrupted record at 100\n...\nretrying\n"
           "DataLossError: truncated record at 5000\n")
    assert explain(log).name == "truncated-record"


def test_cli_explain_log_file_and_stdin(tmp_path, capsys, monkeypatch):
    log = tmp_path / "train.log"
    log.write_text(TRACEBACK)
    with pytest.raises(SystemExit) as done:
        main(["explain", str(log)])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "B005" in out and "models/my_frcnn/pipeline.config" in out
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("Checkpoint version should be V2"))
    with pytest.raises(SystemExit) as done:
        main(["explain", "-", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert data["recognised"] and data["rules"][0]["id"] == "C008"


def test_cli_explain_unknown_message_is_honest(capsys):
    with pytest.raises(SystemExit) as done:
        main(["explain", "the GPU caught fire"])
    assert done.value.code == 1
    out = capsys.readouterr().out
    assert "Not recognised" in out and "tfod-doctor check" in out


def test_cli_explain_rule_id_prints_the_rule(capsys):
    with pytest.raises(SystemExit) as done:
        main(["explain", "C008"])
    assert done.value.code == 0
    assert "checkpoint-version-not-v2" in capsys.readouterr().out


def test_cli_explain_names_rules_missing_from_the_catalogue(capsys, monkeypatch):
    import tfod_doctor.explain.explanation as module

    fake = module.Known("fake", r"frobnicated", ("x",), ("C999",))
    monkeypatch.setattr(module, "KNOWN", (fake,))
    with pytest.raises(SystemExit):
        main(["explain", "it frobnicated"])
    assert "C999 (not in this version's rule catalogue)" in capsys.readouterr().out


# -- the catalogue as data: one test per entry ---------------------------------------------------


@pytest.mark.parametrize("known", KNOWN, ids=[known.name for known in KNOWN])
def test_every_entry_explains_its_own_example(known):
    found = explain(known.example)
    assert found is not None and found.name == known.name
    assert {rule.id for rule in found.rules} == set(known.rules)
    if not known.about_files:
        assert found.rules == [] and not found.about_files


def test_entry_names_are_unique():
    names = [known.name for known in KNOWN]
    assert len(names) == len(set(names))


def test_a_rule_not_in_the_catalogue_is_shown_by_its_id_in_json(capsys):
    with pytest.raises(SystemExit) as done:
        main(["explain", "ValueError: ssd_mobilenet_v2 is not supported. See `model_builder.py`",
              "--format", "json"])
    assert done.value.code == 0
    (rule,) = json.loads(capsys.readouterr().out)["rules"]
    assert rule["id"] == "A001"


# -- the whole traceback chooses between the causes of one message ------------------------------

OLD_LABEL_MAP_UTIL = """Traceback (most recent call last):
  File "detect.py", line 69, in <module>
    label_map = label_map_util.load_labelmap(PATH_TO_LABELS)
  File "utils/label_map_util.py", line 120, in load_labelmap
    text_format.Merge(label_map_string, label_map)
  File "site-packages/google/protobuf/text_format.py", line 472, in Merge
    text.split('\\n'),
TypeError: a bytes-like object is required, not 'str'
"""

LABEL_MAP_FALLBACK = """Traceback (most recent call last):
  File "object_detection/utils/label_map_util.py", line 142, in load_labelmap
    text_format.Merge(label_map_string, label_map)
  File "site-packages/google/protobuf/text_format.py", line 1042, in _MergeField
    tokenizer.Consume(':')
google.protobuf.text_format.ParseError: 3:8 : Expected ":".

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "model_main_tf2.py", line 114, in <module>
    tf.compat.v1.app.run()
  File "object_detection/utils/label_map_util.py", line 144, in load_labelmap
    label_map.ParseFromString(label_map_string)
TypeError: a bytes-like object is required, not 'str'
"""


def test_the_raising_frame_tells_an_old_label_map_util_from_a_bad_label_map():
    old = explain(OLD_LABEL_MAP_UTIL)
    assert old.name == "bytes-like-old-label-map-util" and not old.about_files
    assert old.rules == [] and old.exception == "TypeError"
    assert "text_format.py:Merge" in old.raised_in
    bad = explain(LABEL_MAP_FALLBACK)  # the chain still shows the real ParseError: named
    assert bad.name == "label-map-parse-error-frames" and [r.id for r in bad.rules] == ["M001"]
    assert "Line 3, column 8" in bad.advice and bad.about_files
    fallback_only = explain(LABEL_MAP_FALLBACK.split("another exception occurred:")[1])
    assert fallback_only.name == "label-map-syntax" and fallback_only.rules[0].id == "M001"
    assert "load_labelmap" in fallback_only.raised_in


def test_a_parse_error_raised_while_reading_the_label_map_is_about_the_label_map():
    log = LABEL_MAP_FALLBACK.split("During handling")[0]
    found = explain(log)
    assert found.name == "label-map-parse-error-frames"
    assert [r.id for r in found.rules] == ["M001"] and "Line 3, column 8" in found.advice
    config_error = log.replace("object_detection/utils/label_map_util.py", "config_util.py")
    config_error = config_error.replace("load_labelmap", "get_configs_from_pipeline_file")
    assert explain(config_error).name == "syntax"


def test_indices_out_of_range_gets_the_cause_the_log_tells():
    message = "InvalidArgumentError: indices[0] = 0 is not in [0, 0)"
    assert explain(message).name == "empty-labels"
    masks = explain(f"--pipeline_config_path=models/mask_rcnn_resnet50.config\n{message}")
    assert masks.name == "empty-labels-masks" and masks.rules[0].id == "A002"
    keypoints = explain(f"model: centernet_mobilenetv2_fpn_kpts\n{message}")
    assert keypoints.name == "empty-labels-keypoints" and keypoints.rules[0].id == "A003"


def test_corrupted_record_at_zero_is_not_a_tfrecord_first_and_no_byte_arithmetic(capsys):
    with pytest.raises(SystemExit):
        main(["explain", "DataLossError: corrupted record at 0"])
    out = capsys.readouterr().out
    assert "R001" in out.split("Rules that find it:")[1].splitlines()[1]
    assert "byte 0" not in out


@pytest.mark.parametrize("text", [
    "ResourceExhaustedError: OOM when allocating tensor with shape[8,640,640,3]",
    "ModuleNotFoundError: No module named 'object_detection'",
    "AttributeError: module 'tensorflow' has no attribute 'contrib'",
    "TypeError: Descriptors cannot not be created directly.",
    "Failed to get convolution algorithm. This is probably because cuDNN failed to initialize",
])
def test_errors_that_are_not_about_data_say_so_and_name_no_rule(text, capsys):
    with pytest.raises(SystemExit) as done:
        main(["explain", text])
    out = capsys.readouterr().out
    assert done.value.code == 0
    assert "This is not a problem in your data" in out and "Rules that find it" not in out


# -- long logs -------------------------------------------------------------------------------


def _long_log(final: str) -> str:
    noise = "I1103 10:12:01.123 model_lib_v2.py:705] Step 100 per-step time 0.412s\n" * 2000
    earlier = ("Traceback (most recent call last):\n  File \"x.py\", line 1, in f\n"
               "ValueError: Label map id 0 is reserved for the background label\n")
    warnings = ("W0106 util.py:161] Unresolved object in checkpoint: (root).model._box_predictor\n"
                * 50 + "W0106 utils.py:80] Found Inf or NaN global norm.\n")
    return noise + earlier + warnings + noise + (
        "Traceback (most recent call last):\n  File \"model_main_tf2.py\", line 114, in <module>\n"
        f"tensorflow.python.framework.errors_impl.InvalidArgumentError: {final}\n")


def test_in_a_long_log_the_last_traceback_wins_and_the_warnings_that_matter_are_noted(
        capsys, monkeypatch):
    log = _long_log("ConcatOp : Dimensions of inputs should match: shape[0] = [1,3] vs. "
                    "shape[2] = [1,2]")
    found = explain(log)
    assert found.name == "coordinate-lists"  # not the earlier, higher-priority label map error
    assert [note.name for note in found.notes] == ["checkpoint-partly-restored",
                                                   "inf-nan-gradients"]
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(log))
    with pytest.raises(SystemExit) as done:
        main(["explain", "-"])
    out = capsys.readouterr().out
    assert done.value.code == 0 and "Also in the log:" in out
    assert "A020" in out and "B003" in out


def test_an_unrecognised_final_error_falls_back_to_what_the_log_shows():
    found = explain(_long_log("something nobody has seen before"))
    assert found.name == "label-map-id-zero"


@pytest.mark.parametrize("unit", ["1:1 : '", 'File "x.py", line 1, in f ', "a",
                                  "indices[0] = 0 is not in [0, 0) "])
def test_a_huge_single_line_is_read_in_linear_time(unit):
    import time

    def seconds(size: int) -> float:
        text = unit * (size // len(unit))
        start = time.perf_counter()
        explain(text)
        return time.perf_counter() - start

    small = min(seconds(60_000) for _ in range(2))
    large = min(seconds(240_000) for _ in range(2))
    assert large < 10 * small + 0.2, (small, large)  # 4x the text; quadratic would be 16x
