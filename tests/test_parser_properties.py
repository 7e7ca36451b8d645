"""Property tests: no text makes a parser crash.

Random text, random bytes and random edits of a valid file go into the pipeline.config and
label map reader and the COCO, VOC, YOLO and CSV converters. The text parsers must answer with
findings, never an exception; a converter may refuse the input only with the tool's own error
(:class:`~tfod_doctor.errors.UserError`, a clear message and exit code 2). Every example has a
deadline, so a parser that slows down on some input fails too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfod_doctor.config import parse_label_map
from tfod_doctor.config.pipeline import parse_pipeline
from tfod_doctor.converters import ConvertOptions, convert_dataset
from tfod_doctor.errors import UserError
from tfod_doctor.testing import annotated_images, write_coco, write_csv, write_voc, write_yolo
from tfod_doctor.testing.configs import ConfigSpec, LabelItem, label_map_text, pipeline_config_text

#: Fast enough for the whole file to run in about 20 s; the deadline bounds one example.
TEXT_SETTINGS = settings(max_examples=120, deadline=2000,
                         suppress_health_check=[HealthCheck.too_slow])
CONVERT_SETTINGS = settings(max_examples=40, deadline=4000,
                            suppress_health_check=[HealthCheck.too_slow])

#: Pieces of text format that take a parser down its less travelled paths.
TEXTPROTO_PIECES = ["{", "}", "<", ">", "[", "]", ":", ",", ";", "#", "\n", '"', "'", "\\", "\\x",
                    "\\777", "1e999", "-1e999", "nan", "-inf", "0x", "-", ".", "9" * 30, "item",
                    "id:", "name:", "model {", "num_classes:", "ssd {", "“", "\x00", "é"]
JSON_PIECES = ["{", "}", "[", "]", ",", ":", '"', "null", "true", "-1", "0", "1e999", "NaN",
               "Infinity", '"id"', '"bbox"', '"images"', '"annotations"', '"categories"',
               '"file_name"', '"width"', '"height"', '"category_id"', '"name"', "[" * 50,
               "\\u0000", "\\ud800", "é"]
XML_PIECES = ["<", ">", "</", "/>", "&", "&amp;", "&#0;", "<![CDATA[", "]]>", "<?xml", "<object>",
              "</object>", "<bndbox>", "<name>", "<xmin>", "<width>", "-1", "nan", "1e999", "0",
              "<a>" * 50, "é", "\n"]
LINE_PIECES = [" ", "\t", "\n", "\r", ",", '"', "0", "1", "-1", "0.5", "nan", "inf", "1e999", "-",
               ".", "e", "x", "é", "\x00", "names:", "train:", "val:", "[", "]", "{", "}", "&a",
               "*a", "!!python/object", "- ", ": "]


def _pieces(pieces: list[str]) -> st.SearchStrategy[str]:
    """Text made of the given pieces and of any characters."""
    return st.lists(st.one_of(st.sampled_from(pieces), st.text(max_size=4)),
                    max_size=30).map("".join)


#: Values that replace one token (a number, a word, a quoted string) of a valid file.
VALUES = ["1e999", "-1e999", "nan", "inf", "-1", "0", "-0", "1e-999", "9" * 30, "-" + "9" * 30,
          "0x7fffffffffffffffff", "3.4e38", "", '""', "''", '"\\xff\\xfe"', "{}", "[]", "null",
          "true", "x" * 300, "é", "\u202e"]
_TOKEN = re.compile(r"[\w.+-]+|\"[^\"\n]*\"|'[^'\n]*'")


@st.composite
def _edited(draw: st.DrawFn, text: str, pieces: list[str]) -> str:
    """``text`` with a few random edits: a token replaced by an odd value, a span deleted,
    duplicated or replaced, text inserted."""
    tokens = [match.span() for match in _TOKEN.finditer(text)]
    for _ in range(draw(st.integers(1, 4))):
        edit = draw(st.sampled_from(["token", "token", "delete", "duplicate", "replace",
                                     "insert"]))
        if edit == "token" and tokens:
            start, end = draw(st.sampled_from(tokens))
            tokens = []  # the places of the others have moved
            text = text[:start] + draw(st.sampled_from(VALUES)) + text[end:]
            continue
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 60)))
        if edit == "delete":
            text = text[:start] + text[end:]
        elif edit == "duplicate":
            text = text[:end] + text[start:end] + text[end:]
        else:
            new = draw(_pieces(pieces))
            text = text[:start] + new + (text[end:] if edit == "replace" else text[start:])
    return text


def _inputs(valid: str, pieces: list[str]) -> st.SearchStrategy[str]:
    """Random text, random bytes read as the tool reads them, and edits of a valid file (the
    edits drawn most often: they get past the first line)."""
    return st.one_of(
        _edited(valid, pieces),
        st.text(max_size=300),
        _pieces(pieces),
        st.binary(max_size=300).map(lambda data: data.decode("utf-8", "replace")),
        _edited(valid, pieces),
    )


# -- pipeline.config and label map: findings, never an exception --------------------------------

VALID_CONFIG = pipeline_config_text(ConfigSpec(
    num_classes=3, label_map_path="label_map.pbtxt", train_input_paths=["train.tfrecord"],
    eval_input_paths=["eval.tfrecord"], checkpoint="ckpt/ckpt-0", max_boxes=50))
VALID_LABEL_MAP = label_map_text([LabelItem("cat", 1), LabelItem("dog", 2, "Dog"),
                                  LabelItem("bird", 3)])


@TEXT_SETTINGS
@given(text=_inputs(VALID_CONFIG, TEXTPROTO_PIECES))
def test_any_text_as_a_pipeline_config_gives_findings(text):
    config, findings = parse_pipeline(text, "pipeline.config")
    config.readers()
    for finding in findings:
        assert finding.location.file == "pipeline.config"
        assert finding.location.line is None or finding.location.line >= 1


@TEXT_SETTINGS
@given(text=_inputs(VALID_LABEL_MAP, TEXTPROTO_PIECES))
def test_any_text_as_a_label_map_gives_findings(text):
    label_map, findings = parse_label_map(text, "label_map.pbtxt")
    table = label_map.table()
    assert set(table.ids) <= {item.id for item in label_map.items}
    label_map.above(3)
    for finding in findings:
        assert finding.location.file == "label_map.pbtxt"


def test_nesting_deeper_than_any_config_is_one_syntax_error():
    """The depth at which Python's own recursion would fail, and far beyond it."""
    for depth in (300, 5000):
        text = VALID_CONFIG.replace("num_classes: 3", "num_classes: 3\n" + "x {" * depth
                                    + "}" * depth, 1)
        _, findings = parse_pipeline(text, "pipeline.config")
        assert any("nested more than 100 levels deep" in f.message for f in findings)
        _, findings = parse_label_map("item {" * depth + "}" * depth + VALID_LABEL_MAP, "l")
        assert any("nested more than 100 levels deep" in f.message for f in findings)


# -- the converters: a converted dataset, or a UserError ----------------------------------------


def _convert(fmt: str, source: Path, out: Path) -> None:
    """Convert; only the tool's own error may come out."""
    try:
        convert_dataset(fmt, source, out, ConvertOptions(overwrite=True, workers=1))
    except UserError as exc:
        assert str(exc)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """Each format's small valid dataset: the annotation file to edit, and its valid text."""
    root = tmp_path_factory.mktemp("formats")
    images = annotated_images(2, ["cat", "dog"], sizes=[(32, 24)], negative_rate=0.0)
    coco = write_coco(root / "coco", images, {"cat": 1, "dog": 2}).source
    voc_root = write_voc(root / "voc", images).source
    voc = next(voc_root.glob("*.xml"))
    yolo_yaml = write_yolo(root / "yolo", {"train": images}, ["cat", "dog"]).source
    yolo_label = next(yolo_yaml.parent.glob("labels/train/*.txt"))
    csv_file = write_csv(root / "csv", images).source
    return {name: (path, path.read_text()) for name, path in {
        "coco": coco, "voc": voc, "yolo-yaml": yolo_yaml, "yolo-labels": yolo_label,
        "csv": csv_file,
    }.items()}


def _check_format(datasets, name: str, fmt: str, text: str | bytes, out: Path) -> None:
    path, valid = datasets[name]
    try:
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        source = datasets["yolo-yaml"][0] if name == "yolo-labels" else path
        _convert(fmt, source, out)
    finally:
        path.write_text(valid)


def _latin1(text: str) -> bytes:
    """Text as an editor set to Latin-1 saves it: not UTF-8 where it is not ASCII."""
    return text.encode("latin-1", "replace")


def _format_test(name: str, fmt: str, pieces: list[str]):
    @CONVERT_SETTINGS
    @given(data=st.data())
    def test(datasets, tmp_path_factory, data):
        valid = datasets[name][1]
        text = data.draw(st.one_of(_inputs(valid, pieces), st.binary(max_size=300),
                                   _edited(valid, pieces).map(_latin1)))
        _check_format(datasets, name, fmt, text, tmp_path_factory.getbasetemp() / f"out-{name}")

    test.__name__ = f"test_any_text_as_{name.replace('-', '_')}_converts_or_is_refused_clearly"
    return test


test_coco = _format_test("coco", "coco", JSON_PIECES)
test_voc = _format_test("voc", "voc", XML_PIECES)
test_yolo_yaml = _format_test("yolo-yaml", "yolo", LINE_PIECES)
test_yolo_labels = _format_test("yolo-labels", "yolo", LINE_PIECES)
test_csv = _format_test("csv", "csv", LINE_PIECES)


def test_a_coco_file_nested_deeper_than_json_goes_is_refused_clearly(datasets, tmp_path):
    path, valid = datasets["coco"]
    try:
        path.write_text(json.dumps({"images": [], "x": 0})[:-1] + ', "deep": '
                        + "[" * 100_000 + "]" * 100_000 + "}")
        with pytest.raises(UserError, match="nest too deep"):
            convert_dataset("coco", path, tmp_path / "out", ConvertOptions())
    finally:
        path.write_text(valid)
