"""Issue 9: records and configs as tutorials write them (one flat ``boxes`` list, ``classes``, a
config ``feature_map``), with TensorFlow and protobuf as the witnesses."""

from __future__ import annotations

import json
import pickle

import jsonschema
import numpy as np
import pytest
from google.protobuf import text_format
from hypothesis import given, settings
from hypothesis import strategies as st

from tfod_doctor.api import check
from tfod_doctor.cli import main
from tfod_doctor.config import parse_pipeline
from tfod_doctor.explain import explain
from tfod_doctor.odapi import features as K
from tfod_doctor.odapi.foreign import foreign_keys
from tfod_doctor.odapi.layout import (
    CANDIDATES,
    BoxLayout,
    LayoutReport,
    add_to_tally,
    from_od_boxes,
    infer_layouts,
    merge_tallies,
    new_tally,
    to_od_boxes,
)
from tfod_doctor.odapi.suggest import BOX_GROUP
from tfod_doctor.records import FeatureView, encode_example
from tfod_doctor.report.json_format import json_schema
from tfod_doctor.testing import make_dataset
from tfod_doctor.testing.configs import ConfigSpec, pipeline_config_text
from tfod_doctor.testing.defects.foreign import FEATURE_MAP_BLOCK, LAYOUT_DEFECTS
from tfod_doctor.testing.images import make_image
from tfod_doctor.testing.protos import build_classes

SNIPPET = ["tutorial_records", "config_feature_map"]


def _all_boxes(dataset):
    """Every sample's boxes as (ymin, xmin, ymax, xmax), by record file name and index."""
    return {name: [[(b.ymin, b.xmin, b.ymax, b.xmax) for b in sample.boxes]
                   for sample in samples] for name, samples in dataset.samples.items()}


def _records(tf_oracle, dataset, role="train"):
    files = dataset.train_files if role == "train" else dataset.eval_files
    for path in files:
        payloads, error = tf_oracle.tf_read_records(path)
        assert error is None
        for index, payload in enumerate(payloads):
            yield path, index, payload


# -- the snippet: TensorFlow sees zero boxes, tfod-doctor names every cause ----------------------


@pytest.fixture(scope="module")
def snippet(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("snippet"), SNIPPET, writer="tf", n_train=12,
                        n_eval=4)


def test_snippet_records_are_exactly_the_tutorial_keys_and_tensorflow_reads_no_box(
        snippet, tf_oracle):
    boxed = 0
    for path, index, payload in _records(tf_oracle, snippet):
        assert set(FeatureView.from_payload(payload).kinds) == {"image/encoded", "boxes",
                                                                "classes"}
        parsed = tf_oracle.tf_parse(payload)
        assert all(parsed[key].size == 0 for key in K.BOX_KEYS)
        assert parsed[K.LABEL].size == 0 and parsed[K.TEXT].size == 0
        assert tf_oracle.tf_od_boxes(payload).shape == (0, 4)
        sample = snippet.samples[f"data/{path.name}"][index]
        boxed += bool(sample.boxes)
    assert boxed >= 8  # the loss is real: these records had boxes


def test_check_names_every_cause_of_the_snippet_with_its_place(snippet):
    report = check(snippet.config_path)
    counts = report.rule_counts
    boxed = sum(1 for samples in snippet.samples.values() for s in samples if s.boxes)
    assert counts["F008"] == boxed and counts["F009"] == boxed
    assert "F002" not in counts  # one finding per cause: boxes/classes are F008/F009's
    for finding in report.by_rule("F008"):
        assert finding.location.key == "boxes" and finding.location.record is not None
        assert all(key in finding.message for key in K.BOX_KEYS)
        assert "every box is lost" in finding.message
    for finding in report.by_rule("F009"):
        assert finding.location.key == "classes"
        assert K.LABEL in finding.message and K.TEXT in finding.message
    (layout,) = report.by_rule("B013")
    assert layout.evidence["verdict"] == "ambiguous"
    assert layout.evidence["fitting"] == ["yxyx/normalized", "xyxy/normalized"]
    assert "cannot tell them apart" in layout.message
    (config,) = report.by_rule("C002")
    lines = snippet.config_path.read_text().split("\n")
    assert lines[config.location.line - 1].strip() == "input_features {"
    assert config.location.column == 3
    assert 'has no field named "input_features"' in config.message
    assert all(key in config.message for key in K.DETECTION_KEYS)
    assert "boxes under 'boxes'" in config.message
    assert "class ids under 'classes'" in config.message
    assert [m["record_key"] for m in config.evidence["feature_map"]] == [
        "image/encoded", "boxes", "classes"]


def test_cli_check_on_the_snippet_fails_and_prints_each_rule(snippet, capsys):
    with pytest.raises(SystemExit) as done:
        main(["check", str(snippet.config_path)])
    assert done.value.code == 1
    out = capsys.readouterr().out
    for rule in ("F008 flat-box-list", "F009 foreign-class-key", "B013 box-layout",
                 "C002 unknown-config-field"):
        assert rule in out


# -- other layouts: TensorFlow reads nothing, inference picks the one that fits ---------------


@pytest.mark.parametrize("name", sorted(LAYOUT_DEFECTS))
def test_layout_inference_picks_the_layout_the_records_were_written_in(name, tmp_path,
                                                                       tf_oracle):
    key, layout, units = LAYOUT_DEFECTS[name]
    dataset = make_dataset(tmp_path, [name], writer="tf", n_train=16, n_eval=2, varied=True)
    report = check(dataset.config_path)
    (finding,) = report.by_rule("B013")
    assert finding.evidence["verdict"] == "one", finding.message
    assert finding.evidence["chosen"] == f"{layout}/{units}"
    assert finding.location.key == key
    expected = _all_boxes(dataset)
    for path, index, payload in _records(tf_oracle, dataset):
        assert tf_oracle.tf_od_boxes(payload).shape == (0, 4)  # the OD API reads no box
        view = FeatureView.from_payload(payload)
        sample = dataset.samples[f"data/{path.name}"][index]
        if not sample.boxes:
            continue
        sides = to_od_boxes(view[key], layout, units, sample.width, sample.height)
        np.testing.assert_allclose(np.stack(sides, axis=1), expected[f"data/{path.name}"][index],
                                   atol=1e-6)


def test_flat_list_beside_a_class_list_of_n_is_a_box_list():
    view = FeatureView.from_payload(encode_example({
        "image/encoded": [b"x"], "annotations": [0.1, 0.2, 0.5, 0.6, 0.2, 0.2, 0.4, 0.9],
        "labels": [1, 2]}))
    found = foreign_keys(view)
    assert (found.boxes, found.labels, found.texts) == ("annotations", "labels", None)
    assert found.renames() == {"labels": K.LABEL}


def test_a_duplicate_flat_list_beside_the_od_boxes_is_only_unused(tmp_path):
    dataset = make_dataset(tmp_path, n_train=4, n_eval=2)
    report = check(dataset.config_path)
    assert not report.by_rule("F008")
    view = FeatureView.from_payload(encode_example({
        K.YMIN: [0.1], K.XMIN: [0.1], K.YMAX: [0.5], K.XMAX: [0.5], K.LABEL: [1],
        "boxes": [0.1, 0.1, 0.5, 0.5], "label_name": [b"cat"]}))
    assert not foreign_keys(view)


def test_class_key_beside_od_boxes_names_the_training_stop(tmp_path):
    dataset = make_dataset(tmp_path, ["foreign_class_key"], n_train=4, n_eval=2)
    report = check(dataset.config_path)
    (finding,) = report.by_rule("F009")
    assert finding.severity.label == "error"
    assert "indices[0] = 0 is not in [0, 0)" in finding.evidence["tensorflow"]
    assert not report.by_rule("B002")  # the same cause, reported once


# -- layout inference and conversion ----------------------------------------------------------


def test_conversion_of_known_boxes():
    # COCO [x, y, w, h] in a 100 x 80 image
    assert to_od_boxes([10, 20, 30, 40], "xywh", "pixels", 100, 80) == (
        [0.25], [0.1], [0.75], [0.4])
    # YOLO [cx, cy, w, h], normalised
    sides = to_od_boxes([0.5, 0.5, 0.2, 0.4], "cxcywh")
    np.testing.assert_allclose(sides, [[0.3], [0.4], [0.7], [0.6]])
    assert to_od_boxes([0.1, 0.2, 0.3, 0.4], "xyxy") == ([0.2], [0.1], [0.4], [0.3])
    with pytest.raises(ValueError, match="4 per box"):
        to_od_boxes([1, 2, 3], "yxyx")
    with pytest.raises(ValueError, match="width and height"):
        to_od_boxes([1, 2, 3, 4], "xyxy", "pixels")
    with pytest.raises(ValueError, match="use one of"):
        BoxLayout("xywz", "pixels")


_coordinate = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def _boxes(draw):
    count = draw(st.integers(1, 6))
    out = []
    for _ in range(count):
        y0, y1 = sorted((draw(_coordinate), draw(_coordinate)))
        x0, x1 = sorted((draw(_coordinate), draw(_coordinate)))
        out.append((y0, x0, y1, x1))
    return out


@settings(max_examples=60, deadline=None)
@given(boxes=_boxes(), layout=st.sampled_from(CANDIDATES), width=st.integers(1, 4000),
       height=st.integers(1, 4000))
def test_every_layout_round_trips_to_the_original_yxyx_boxes(boxes, layout, width, height):
    sides = list(zip(*boxes, strict=True))
    flat = from_od_boxes(*sides, layout, width=width, height=height)
    back = to_od_boxes(flat, layout, width=width, height=height)
    np.testing.assert_allclose(np.stack(back, axis=1), boxes, atol=1e-6)


def test_ambiguous_and_unfit_data_are_said_so():
    square = [[0.1, 0.2, 0.5, 0.6], [0.3, 0.3, 0.9, 0.8]]
    report = infer_layouts(square, [(64, 64), (64, 64)])
    assert report.verdict == "ambiguous" and report.chosen is None
    assert {c.key for c in report.fitting} == {"yxyx/normalized", "xyxy/normalized"}
    assert report.pick(layout="xyxy") == BoxLayout("xyxy", "normalized")
    assert report.invalid_count("yxyx/pixels") == 2  # sub-pixel boxes
    inverted = infer_layouts([[0.5, 0.6, 0.1, -0.2]], [None])
    assert inverted.verdict == "none"
    assert inverted.invalid["yxyx/pixels"] == {"no-image-size": 1}
    assert infer_layouts([], []).verdict == "no-boxes"


def test_partial_tallies_merge_associatively_and_pickle():
    rng = np.random.default_rng(3)
    records = [rng.uniform(0, 300, size=4 * rng.integers(1, 5)).tolist() for _ in range(12)]
    sizes = [(320, 240)] * 6 + [None] * 3 + [(640, 480)] * 3
    whole = infer_layouts(records, sizes)
    parts = []
    for start in range(0, 12, 4):
        tally = new_tally()
        for values, size in zip(records[start:start + 4], sizes[start:start + 4], strict=True):
            add_to_tally(tally, values, size)
        parts.append(pickle.loads(pickle.dumps(tally)))
    left = merge_tallies(merge_tallies(new_tally(), parts[0]),
                         merge_tallies(merge_tallies(new_tally(), parts[1]), parts[2]))
    right = merge_tallies(merge_tallies(merge_tallies(new_tally(), parts[2]), parts[0]),
                          parts[1])
    assert LayoutReport.from_tally(left) == LayoutReport.from_tally(right) == whole
    assert whole.boxes == sum(len(r) // 4 for r in records)
    assert whole.unsized == sum(len(r) // 4 for r, s in zip(records, sizes, strict=True)
                                if s is None)


# -- the config block: protobuf's text_format is the witness ----------------------------------


CONFIG = pipeline_config_text(ConfigSpec(3, "data/label_map.pbtxt", ["data/train.tfrecord"],
                                         ["data/eval.tfrecord"], "ckpt/ckpt-0"))
FEATURE_MAP_CONFIG = CONFIG.replace("train_input_reader {",
                                    "train_input_reader {\n" + FEATURE_MAP_BLOCK, 1)


@pytest.mark.parametrize("parse", [text_format.Parse, text_format.Merge])
def test_the_config_error_is_the_one_text_format_raises(parse):
    classes = build_classes()
    with pytest.raises(text_format.ParseError) as raised:
        parse(FEATURE_MAP_CONFIG, classes["TrainEvalPipelineConfig"]())
    error = raised.value
    assert str(error).endswith('Message type "object_detection.protos.InputReader" has no field '
                               'named "input_features".')
    _, findings = parse_pipeline(FEATURE_MAP_CONFIG, "pipeline.config")
    (ours,) = [f for f in findings if f.rule == "C002"]
    assert (ours.location.line, ours.location.column) == (error.GetLine(), error.GetColumn())
    assert ours.evidence["tensorflow"] == f"ParseError: {error}"
    assert str(error) in ours.message


def test_feature_map_is_read_as_the_rename_plan():
    config, _ = parse_pipeline(FEATURE_MAP_CONFIG, "pipeline.config")
    intent = config.feature_map_intent("train")
    assert intent.boxes_key == "boxes"
    assert intent.record_key(K.LABEL) == "classes"
    assert intent.renames() == {"classes": K.LABEL}
    assert [m.role for m in intent.mappings] == ["image", "boxes", "class ids"]
    assert not config.feature_map_intent("eval")
    reversed_block = FEATURE_MAP_CONFIG.replace('key: "classes" value: "labels"',
                                                'key: "image/object/class/text" value: "names"')
    config, _ = parse_pipeline(reversed_block, "pipeline.config")
    assert config.feature_map_intent().renames() == {"names": K.TEXT}
    assert config.feature_map_intent().record_key(BOX_GROUP) == "boxes"


def test_any_invented_field_is_still_a_plain_unknown_field():
    text = CONFIG.replace("train_input_reader {", "train_input_reader {\n  turbo: true", 1)
    _, findings = parse_pipeline(text, "pipeline.config")
    (ours,) = [f for f in findings if f.rule == "C002"]
    assert "feature_map" not in ours.evidence and "fixed set of keys" not in ours.message
    text = CONFIG.replace("train_input_reader {", "train_input_reader {\n  feature_keys: 3", 1)
    _, findings = parse_pipeline(text, "pipeline.config")
    (ours,) = [f for f in findings if f.rule == "C002"]
    assert "fixed set of keys" in ours.message


# -- explain: the three messages this family causes --------------------------------------------


def test_explain_knows_the_feature_map_parse_error():
    classes = build_classes()
    with pytest.raises(text_format.ParseError) as raised:
        text_format.Merge(FEATURE_MAP_CONFIG, classes["TrainEvalPipelineConfig"]())
    found = explain(f"google.protobuf.text_format.ParseError: {raised.value}")
    assert found is not None and found.name == "fixed-record-keys"
    assert found.rules[0].id == "C002" and "F008" in [r.id for r in found.rules]
    assert "input_features" in found.advice


def test_explain_knows_the_concat_error_of_partly_renamed_coordinate_keys(tmp_path, tf_oracle):
    features = {"image/encoded": [make_image(32, 24, "jpeg")], K.YMIN: [0.1, 0.2],
                K.XMIN: [0.1, 0.3], "image/object/bbox/ymaxs": [0.5, 0.6],
                "image/object/bbox/xmaxs": [0.5, 0.9], K.LABEL: [1, 1]}
    payload = tf_oracle.tf_encode(features)
    with pytest.raises(tf_oracle.tf.errors.InvalidArgumentError) as raised:
        tf_oracle.tf_od_boxes(payload)
    found = explain(raised.value.message)
    assert found is not None and found.name == "coordinate-lists"
    assert [r.id for r in found.rules][:2] == ["B001", "F002"]
    assert found.rules[0].known
    assert any("renamed" in cause for cause in found.causes)
    path = tmp_path / "partly.tfrecord"
    tf_oracle.tf_write_records(path, [payload])
    from tfod_doctor.api import scan

    assert {"B001", "F002"} <= set(scan([str(path)]).rule_counts)


@pytest.mark.parametrize("text", [
    "my model learns nothing, the loss is zero after 1000 steps",
    "{'Loss/localization_loss': 0.0, 'Loss/classification_loss': 0.0123}",
    "training runs but the model detects nothing",
])
def test_explain_knows_loss_zero_and_learns_nothing(text):
    found = explain(text)
    assert found is not None and found.name == "learns-nothing"
    assert found.rules[0].id == "F008"
    assert "B013" in [r.id for r in found.rules]


def test_report_json_carries_the_layout_table(snippet, tmp_path):
    out = tmp_path / "report.json"
    with pytest.raises(SystemExit):
        main(["check", str(snippet.config_path), "--format", "json", "-o", str(out)])
    data = json.loads(out.read_text())
    jsonschema.Draft202012Validator(json_schema()).validate(data)
    table = data["stats"]["box_layout"]["candidates"]
    assert set(table) == {c.key for c in CANDIDATES}
    assert table["yxyx/normalized"]["invalid"] == 0
    assert table["xywh/pixels"]["invalid"] > 0
