"""The config reader against protobuf's own text_format parser (the witness).

The witness classes are real protobuf messages built from tfod-doctor's schema; wherever
``text_format`` raises, tfod-doctor must report the same line (and, for the errors training
stops on first, the same column).
"""

from __future__ import annotations

import pytest
from google.protobuf import text_format

from tfod_doctor.config import parse_label_map, parse_pipeline
from tfod_doctor.config.textproto import parse_text
from tfod_doctor.testing.configs import ConfigSpec, pipeline_config_text
from tfod_doctor.testing.protos import build_classes

CLASSES = build_classes()
PIPELINE = CLASSES["TrainEvalPipelineConfig"]
LABEL_MAP = CLASSES["StringIntLabelMap"]
BASE = pipeline_config_text(ConfigSpec(3, "data/label_map.pbtxt", ["data/train.tfrecord"],
                                       ["data/eval.tfrecord"], "ckpt/ckpt-0"))


def _tf_error(text: str, cls=PIPELINE, merge: bool = False) -> tuple[int, int, str]:
    parse = text_format.Merge if merge else text_format.Parse
    with pytest.raises(text_format.ParseError) as raised:
        parse(text, cls())
    error = raised.value
    return error.GetLine(), error.GetColumn(), str(error)


BROKEN = {
    "unknown field": (BASE.replace("input_path:", "input_paths:", 1), "C002"),
    "bad enum": (BASE.replace("V2", "V3"), "C003"),
    "fraction for int": (BASE.replace("batch_size: 4", "batch_size: 4.5"), "C004"),
    "negative uint": (BASE.replace("batch_size: 4", "batch_size: -1"), "C004"),
    "unquoted string": (BASE.replace('type: "ssd_mobilenet_v2_fpn_keras"',
                                     "type: ssd_mobilenet_v2_fpn_keras"), "C004"),
    "smart quotes": (BASE.replace('type: "ssd_mobilenet_v2_fpn_keras"',
                                  "type: “ssd_mobilenet_v2_fpn_keras”"), "C001"),
    "missing colon": (BASE.replace("batch_size: 4", "batch_size 4"), "C001"),
    "unterminated string": (BASE.replace('"detection"', '"detection'), "C001"),
    "word for bool": (BASE.replace("shuffle: false", "shuffle: no"), "C004"),
    "extra closing brace": (BASE + "}\n", "C001"),
    "missing closing brace at end": (BASE.rstrip().rstrip("}"), "C001"),
    "block where a value goes": (BASE.replace("batch_size: 4", "batch_size { }"), "C004"),
    "value where a block goes": (BASE.replace("optimizer {", "optimizer: 3\n  foo {"), "C004"),
    "oneof twice": (BASE.replace("model {", "model {\n  faster_rcnn { num_classes: 2 }", 1),
                    "C006"),
    "field twice": (BASE.replace("ssd {", "ssd {\n    num_classes: 7", 1), "C005"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_our_error_names_the_line_text_format_names(name):
    text, rule = BROKEN[name]
    line, column, message = _tf_error(text)
    _, findings = parse_pipeline(text, "pipeline.config")
    ours = [f for f in findings if f.rule == rule]
    assert ours, f"no {rule} for {name}: {[(f.rule, f.message) for f in findings]}"
    assert line in {f.location.line for f in ours}, (message, [str(f.location) for f in ours])
    first = min(ours, key=lambda f: (f.location.line, f.location.column))
    if rule not in ("C005",):  # protobuf points after the duplicated value; we at its name
        assert (first.location.line, first.location.column) == (line, column), message
    assert first.evidence["source_line"] == text.split("\n")[line - 1]


def test_merge_accepts_what_we_flag_as_silently_dropped():
    for name in ("oneof twice", "field twice"):
        text, _ = BROKEN[name]
        merged = text_format.Merge(text, PIPELINE())  # training's Merge: no error
        assert merged.model.WhichOneof("model") == "ssd"
    merged = text_format.Merge(BROKEN["field twice"][0], PIPELINE())
    assert merged.model.ssd.num_classes == 3  # the last value wins, as our message says
    _, findings = parse_pipeline(BROKEN["field twice"][0], "p.config")
    (twice,) = [f for f in findings if f.rule == "C005"]
    assert "keeps only this last value, 3" in twice.message


def test_a_missing_brace_in_the_middle_is_named_where_it_bites():
    text = BASE.replace("use_moving_average: false\n  }", "use_moving_average: false\n")
    line, column, message = _tf_error(text)
    assert "has no field named" in message
    _, findings = parse_pipeline(text, "p.config")
    unknown = [f for f in findings if f.rule == "C002"]
    assert (unknown[0].location.line, unknown[0].location.column) == (line, column)
    assert "closing brace is probably missing" in unknown[0].hint


def test_typed_view_follows_merge_semantics():
    text = BASE.replace("train_config {", "train_config {\n  batch_size: 2", 1)
    config, _ = parse_pipeline(text, "p.config")
    witness = text_format.Merge(text, PIPELINE())
    assert config.train_config.get("batch_size") == witness.train_config.batch_size == 4
    assert config.eval_config.get("batch_size") == witness.eval_config.batch_size == 1
    assert config.train_reader.get("max_number_of_boxes") == 100
    assert config.train_reader.get("drop_remainder") is True


def test_separators_lists_and_angle_brackets_are_accepted_like_protobuf():
    text = ('train_config: { batch_size: 2; num_steps: 10, '
            'data_augmentation_options < random_horizontal_flip { } > }\n'
            'train_input_reader { tf_record_input_reader { input_path: ["a", "b"] } }\n'
            'eval_config { metrics_set: [] }\n')
    text_format.Parse(text, PIPELINE())
    config, findings = parse_pipeline(text, "p.config")
    assert [f.rule for f in findings if f.rule in {"C001", "C002", "C004"}] == []
    assert config.train_reader.node("tf_record_input_reader").all("input_path") == ["a", "b"]


def test_parse_text_never_raises_on_garbage():
    for text in ("", "}}}", "{", "a: 'b", "\x00\xff", "item { id: 1 name: ‘x’ }", "a: [1,"):
        parse_text(text)  # collects issues, never raises


LABEL_MAPS = {
    "smart quotes": "item {\n  id: 1\n  name: ‘cat’\n}\n",
    "missing colon": "item {\n  id 1\n  name: 'cat'\n}\n",
    "missing brace": "item {\n  id: 1\n  name: 'cat'\n\nitem {\n  id: 2\n  name: 'dog'\n}\n",
    "unknown field": "item {\n  id: 1\n  nmae: 'cat'\n}\n",
}


@pytest.mark.parametrize("name", list(LABEL_MAPS))
def test_label_map_errors_are_located_though_tensorflow_hides_them(name):
    text = LABEL_MAPS[name]
    line, _, message = _tf_error(text, LABEL_MAP, merge=True)
    # load_labelmap then retries the text as binary: that is all TensorFlow shows.
    with pytest.raises(TypeError, match=r"bytes-like object is required|expected bytes"):
        LABEL_MAP().ParseFromString(text)
    _, findings = parse_label_map(text, "label_map.pbtxt")
    syntax = [f for f in findings if f.rule == "M001"]
    assert line in {f.location.line for f in syntax}, (message, findings)
    assert syntax[0].evidence["tensorflow"].startswith("TypeError: a bytes-like object")


def test_damaged_configs_never_crash_the_check(tmp_path):
    import random

    from tfod_doctor.api import check_plan
    from tfod_doctor.testing import make_dataset

    dataset = make_dataset(tmp_path, n_train=2, n_eval=1)
    text = dataset.config_path.read_text()
    rng = random.Random(7)
    for _ in range(150):
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(chars))
            if rng.random() < 0.5:
                del chars[at:at + rng.randint(1, 30)]
            else:
                chars.insert(at, rng.choice('{}:"\'[]<>;,#\n x0-.“'))
        dataset.config_path.write_text("".join(chars))
        check_plan(dataset.config_path)  # findings, never an exception
