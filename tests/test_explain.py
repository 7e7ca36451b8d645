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
ASSIGNED_ELSEWHERE = {"A001", "A002", "A003", "A005", "A020", "A021", "A030"}


def test_every_referenced_rule_exists():
    referenced = {rule for known in KNOWN for rule in known.rules} | {"C007"}
    missing = {rule for rule in referenced if not _in_catalogue(rule)} - ASSIGNED_ELSEWHERE
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
