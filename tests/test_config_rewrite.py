"""Corrected pipeline.config and label map: the fewest edits, layout kept, and protobuf's own
``text_format`` (on the OD API messages) reads the result."""

from __future__ import annotations

import os

import pytest
from google.protobuf import text_format

import tfod_doctor
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
EDITS = ConfigEdits(num_classes=3, label_map_path="data/fixed/label_map.pbtxt",
                    max_number_of_boxes=150, checkpoint_version_v2=True,
                    input_paths={"train": ["data/fixed/train-?????-of-00002.tfrecord"],
                                 "eval": ["data/fixed/eval-?????-of-00001.tfrecord"]},
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
    assert config.train_input_reader.label_map_path == "data/fixed/label_map.pbtxt"
    assert list(config.train_input_reader.tf_record_input_reader.input_path) == [
        "data/fixed/train-?????-of-00002.tfrecord"]
    assert config.eval_input_reader[0].max_number_of_boxes == 150
    assert list(config.eval_input_reader[0].tf_record_input_reader.input_path) == [
        "data/fixed/eval-?????-of-00001.tfrecord"]
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


# -- layouts people write, and check after the rewrite ------------------------------------------

ODD = """\
model { ssd { image_resizer { fixed_shape_resizer { height: 1 width: 1 } } } }
train_config { fine_tune_checkpoint: "ck" "pt" }
train_input_reader { tf_record_input_reader { input_path: ["a", "b",
   "c"] } }
eval_input_reader { tf_record_input_reader { input_path: 'x' } label_map_path: "l" "m" }
eval_input_reader { tf_record_input_reader { input_path: 'y' } }
"""
ODD_EDITS = ConfigEdits(num_classes=2, label_map_path="C:\\data\\lm.pbtxt",
                        max_number_of_boxes=200, checkpoint_version_v2=True,
                        input_paths={"train": ["n1", "n2"], "eval": ["e1", "e2"]})


def test_lists_adjacent_strings_and_one_line_blocks():
    result = rewrite_pipeline(ODD, ODD_EDITS)
    config = parse_as_od_api(result.text)
    assert config.model.ssd.num_classes == 2
    assert list(config.train_input_reader.tf_record_input_reader.input_path) == ["n1", "n2"]
    first, second = config.eval_input_reader
    assert list(first.tf_record_input_reader.input_path) == ["e1", "e2"]
    assert list(second.tf_record_input_reader.input_path) == ["y"]  # TF2 never reads it
    assert {first.label_map_path, second.label_map_path,
            config.train_input_reader.label_map_path} == {"C:\\data\\lm.pbtxt"}
    assert config.train_config.fine_tune_checkpoint == "ckpt"
    lines = result.text.splitlines()
    assert lines[0] == ("model { ssd { num_classes: 2 image_resizer { fixed_shape_resizer "
                        "{ height: 1 width: 1 } } } }")
    assert 'input_path: ["n1", "n2"]' in lines[2] and len(lines) == 5
    assert "input_path: 'e1' input_path: 'e2' }" in lines[3]
    again = rewrite_pipeline(result.text, ODD_EDITS)
    assert again.changes == [] and again.text == result.text


def test_crlf_tabs_and_a_missing_record_reader():
    text = ("model {\r\n\tfaster_rcnn {\r\n\t\tnum_classes: 90\r\n\t}\r\n}\r\n"
            "train_input_reader {\r\n\tlabel_map_path: \"a\"\r\n}\r\n")
    result = rewrite_pipeline(text, ConfigEdits(num_classes=3, input_paths={"train": ["p"]}))
    assert result.text == ("model {\r\n\tfaster_rcnn {\r\n\t\tnum_classes: 3\r\n\t}\r\n}\r\n"
                           "train_input_reader {\r\n\tlabel_map_path: \"a\"\r\n"
                           "\ttf_record_input_reader {\r\n\t\tinput_path: \"p\"\r\n\t}\r\n}\r\n")
    parse_as_od_api(result.text)


def test_num_classes_is_added_first_in_any_architecture():
    for arch in ("faster_rcnn", "center_net"):
        text = f"model {{\n  {arch} {{\n    # tuned\n    feature_extractor {{\n    }}\n  }}\n}}\n"
        result = rewrite_pipeline(text, ConfigEdits(num_classes=4))
        assert result.text == text.replace(f"{arch} {{\n", f"{arch} {{\n    num_classes: 4\n")
        assert getattr(parse_as_od_api(result.text).model, arch).num_classes == 4


def test_dropping_a_block_and_editing_its_reader():
    text = ('train_input_reader {\n  tf_record_input_reader {\n    input_path: "a"  # mine\n'
            '    input_path: "b"\n  }\n  input_features {\n    feature_map { key: "boxes" '
            'value: "bbox" }\n  }\n}\n')
    result = rewrite_pipeline(text, ConfigEdits(
        label_map_path="lm", drop_fields=["train_input_reader.input_features"],
        input_paths={"train": ["z"]}))
    assert result.text == ('train_input_reader {\n  tf_record_input_reader {\n    input_path: '
                           '"z"  # mine\n  }\n  label_map_path: "lm"\n}\n')
    assert [c.path for c in result.changes] == [
        "train_input_reader.tf_record_input_reader.input_path",
        "train_input_reader.tf_record_input_reader.input_path",
        "train_input_reader.input_features", "train_input_reader.label_map_path"]


def test_no_newline_at_the_end_is_said_in_the_diff():
    result = rewrite_pipeline("model { ssd { num_classes: 1 } }", ConfigEdits(num_classes=2))
    assert result.text == "model { ssd { num_classes: 2 } }"
    assert result.diff.endswith("+model { ssd { num_classes: 2 } }\n"
                                "\\ No newline at end of file\n")


FIXES = {
    "checkpoint_version_missing": ("C008", lambda ds: ConfigEdits(checkpoint_version_v2=True)),
    "num_classes_missing": ("C014", lambda ds: ConfigEdits(num_classes=3)),
    "num_classes_too_large": ("C015", lambda ds: ConfigEdits(num_classes=3)),
    "label_map_path_wrong": ("C016", lambda ds: ConfigEdits(label_map_path=str(ds.label_map_path))),
    "eval_label_map_unset": ("C017", lambda ds: ConfigEdits(label_map_path=str(ds.label_map_path))),
    "input_path_matches_nothing": ("C018", lambda ds: ConfigEdits(
        input_paths={"train": [str(ds.root / "data" / "train-*.tfrecord")]})),
    "input_path_relative_to_config": ("C019", lambda ds: ConfigEdits(
        input_paths={"train": [str(ds.root / "data" / "train-*.tfrecord")]})),
    "config_feature_map": ("C002", lambda ds: ConfigEdits(
        drop_fields=invented_reader_fields(ds.config_path.read_text()))),
    "too_many_boxes": ("B009", lambda ds: ConfigEdits(max_number_of_boxes=105)),
}


@pytest.mark.parametrize("defect", list(FIXES))
def test_check_is_clean_for_the_rule_after_the_rewrite(tmp_path, defect):
    rule, make_edits = FIXES[defect]
    dataset = make_dataset(tmp_path, [defect], n_train=4, n_eval=2)
    before = tfod_doctor.check(dataset.config_path)
    assert before.by_rule(rule), [f.rule for f in before]
    text = dataset.config_path.read_text()
    result = rewrite_pipeline(text, make_edits(dataset))
    parse_as_od_api(result.text)
    fixed = dataset.root / "fixed.config"
    fixed.write_text(result.text)
    after = tfod_doctor.check(fixed)
    assert after.by_rule(rule) == []
    assert {f.rule for f in after} <= {f.rule for f in before}  # nothing new
    assert dataset.config_path.read_text() == text  # the input is never touched


def test_label_maps_grow_in_the_style_of_their_items():
    one_line = "item { id: 1 name: 'a' }\nitem { id: 2 name: 'b' }\n"
    result, table = rewrite_label_map(one_line, LabelMapEdits(["b", "new one", "it's"]))
    assert result.text == one_line + ("item { id: 3 name: 'new one' }\n"
                                      "item { id: 4 name: 'it\\'s' }\n")
    assert table == {"a": 1, "b": 2, "new one": 3, "it's": 4}
    zoo = ('item {\n    name: "a"\n    id: 4\n    display_name: "A"\n}\n\n'
           'item {\n    name: "b"\n    id: 2\n    display_name: "B"\n}')
    result, table = rewrite_label_map(zoo, LabelMapEdits(["c"]))
    assert result.text == zoo + '\n\nitem {\n    name: "c"\n    id: 5\n    display_name: "c"\n}'
    parsed = text_format.Parse(result.text, CLASSES[LABEL_MAP]())
    assert [(i.id, i.name, i.display_name) for i in parsed.item][-1] == (5, "c", "c")


def test_a_created_label_map_and_one_that_does_not_load():
    result, table = rewrite_label_map(None, LabelMapEdits(["cat", "dog", "cat"]))
    assert result.text == 'item {\n  id: 1\n  name: "cat"\n}\nitem {\n  id: 2\n  name: "dog"\n}\n'
    assert table == {"cat": 1, "dog": 2}
    assert result.diff.startswith(f"--- {os.devnull}\n")  # a diff from no file
    label_map, findings = parse_label_map(result.text, "new.pbtxt")
    assert findings == [] and label_map.table().names == table
    with pytest.raises(UserError, match=r"^lm.pbtxt:2:3: .*no field named \"nmae\""):
        rewrite_label_map("item {\n  nmae: 'x'\n}\n", LabelMapEdits(["y"]), source="lm.pbtxt")
