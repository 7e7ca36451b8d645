"""Corrected pipeline.config and label map: the fewest edits, layout kept, and protobuf's own
``text_format`` (on the OD API messages) reads the result."""

from __future__ import annotations

import pytest
from google.protobuf import text_format

from tfod_doctor.config import parse_label_map
from tfod_doctor.config.rewrite import (
    ConfigEdits,
    LabelMapEdits,
    invented_reader_fields,
    rewrite_label_map,
    rewrite_pipeline,
)
from tfod_doctor.config.schema import LABEL_MAP, PIPELINE
from tfod_doctor.errors import UserError
from tfod_doctor.testing import make_dataset
from tfod_doctor.testing.protos import build_classes

CLASSES = build_classes()

HAND_WRITTEN = """\
# my model, copied from the zoo
model { ssd { num_classes: 90  # COCO
  image_resizer { fixed_shape_resizer { height: 320 width: 320 } } } }
train_config {
  batch_size: 8
  fine_tune_checkpoint: "ckpt/ckpt-0"
  fine_tune_checkpoint_type: "detection"
}
train_input_reader { label_map_path: 'old.pbtxt'
  tf_record_input_reader { input_path: "a" input_path: "b" } }
eval_input_reader {
  label_map_path: "old.pbtxt"
  tf_record_input_reader {
    input_path: "e"   # eval data
  }
  input_features {
    feature_map { key: "boxes" value: "bbox" }
  }
}
"""
EDITS = ConfigEdits(num_classes=3, label_map_path="/data/fixed/label_map.pbtxt",
                    max_number_of_boxes=150, checkpoint_version_v2=True,
                    input_paths={"train": ["/data/fixed/train-?????-of-00002.tfrecord"],
                                 "eval": ["/data/fixed/eval-?????-of-00001.tfrecord"]},
                    drop_fields=["eval_input_reader.input_features"])


def parse_as_od_api(text: str):
    """protobuf's text_format on the OD API's TrainEvalPipelineConfig (the witness)."""
    return text_format.Parse(text, CLASSES[PIPELINE]())


def test_every_edit_on_a_hand_written_config(tmp_path):
    with pytest.raises(text_format.ParseError, match="input_features"):
        parse_as_od_api(HAND_WRITTEN)
    result = rewrite_pipeline(HAND_WRITTEN, EDITS)
    config = parse_as_od_api(result.text)
    assert config.model.ssd.num_classes == 3
    assert config.train_input_reader.label_map_path == "/data/fixed/label_map.pbtxt"
    assert list(config.train_input_reader.tf_record_input_reader.input_path) == [
        "/data/fixed/train-?????-of-00002.tfrecord"]
    assert config.eval_input_reader[0].max_number_of_boxes == 150
    assert list(config.eval_input_reader[0].tf_record_input_reader.input_path) == [
        "/data/fixed/eval-?????-of-00001.tfrecord"]
    assert "fine_tune_checkpoint_version: V2" in text_format.MessageToString(
        config.train_config)
    # Comments and untouched lines stay as written.
    for line in ("# my model, copied from the zoo", "  batch_size: 8",
                 '  fine_tune_checkpoint_type: "detection"',
                 "  image_resizer { fixed_shape_resizer { height: 320 width: 320 } } } }"):
        assert line in result.text.splitlines()
    assert "num_classes: 3  # COCO" in result.text
    assert "input_features" not in result.text and "feature_map" not in result.text
    assert result.diff.startswith("--- pipeline.config\n+++ pipeline.config (fixed)\n")
    assert {c.path for c in result.changes} >= {
        "model.ssd.num_classes", "train_input_reader.label_map_path",
        "eval_input_reader.max_number_of_boxes", "train_config.fine_tune_checkpoint_version",
        "eval_input_reader.input_features"}


def test_edits_are_idempotent_and_equal_values_are_no_change():
    once = rewrite_pipeline(HAND_WRITTEN, EDITS)
    twice = rewrite_pipeline(once.text, EDITS)
    assert twice.text == once.text and twice.changes == [] and twice.diff == ""
    assert rewrite_pipeline(HAND_WRITTEN, ConfigEdits(num_classes=90)).changes == []


def test_the_factory_config_changes_only_the_edited_lines(tmp_path):
    dataset = make_dataset(tmp_path, n_train=4, n_eval=2)
    text = dataset.config_path.read_text()
    result = rewrite_pipeline(text, ConfigEdits(num_classes=7))
    before, after = text.splitlines(), result.text.splitlines()
    assert len(before) == len(after)
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert [(a.strip(), b.strip()) for a, b in changed] == [("num_classes: 3", "num_classes: 7")]
    parse_as_od_api(result.text)


def test_invented_reader_fields_are_found():
    assert invented_reader_fields(HAND_WRITTEN) == ["eval_input_reader.input_features"]


def test_a_config_with_broken_syntax_is_a_clean_error():
    with pytest.raises(UserError, match=r"pipeline.config:2:28: Expected a value"):
        rewrite_pipeline("model { ssd { num_classes: 3 }\ntrain_config { batch_size: }", EDITS)


def test_label_map_grows_in_its_own_style():
    text = "item {\n  id: 1\n  name: 'cat'\n}\nitem {\n  id: 3\n  name: 'dog'\n}\n"
    result, table = rewrite_label_map(text, LabelMapEdits(["zebra", "cat", "Cat"]))
    assert table == {"cat": 1, "dog": 3, "zebra": 4, "Cat": 5}
    assert result.text.startswith(text) and "name: 'zebra'" in result.text
    parsed = text_format.Parse(result.text, CLASSES[LABEL_MAP]())
    assert [(i.id, i.name) for i in parsed.item] == [(1, "cat"), (3, "dog"), (4, "zebra"),
                                                     (5, "Cat")]
    assert rewrite_label_map(result.text, LabelMapEdits(["zebra"]))[0].changes == []


def test_a_new_label_map_keeps_given_ids():
    result, table = rewrite_label_map(None, LabelMapEdits(["b", "a", "c"], ids={"a": 2}))
    assert table == {"b": 1, "a": 2, "c": 3}
    label_map, findings = parse_label_map(result.text, "new.pbtxt")
    assert [(i.id, i.name) for i in label_map.items] == [(1, "b"), (2, "a"), (3, "c")]
    assert findings == []
