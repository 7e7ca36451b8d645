"""False alarms on data real tools write: each item fires where it should and stays quiet where
the data is fine (issue 16, "False alarms and noise")."""

from __future__ import annotations

import json
from pathlib import Path

from tests.convert_helpers import run_cli
from tfod_doctor.records import Bytes, Floats, Ints, encode_example, write_records
from tfod_doctor.repair import MANIFEST
from tfod_doctor.testing.images import make_image

WIDTH, HEIGHT = 64, 48


def base_record(**extra) -> dict:
    """A correct two-box record plus ``extra`` features (a value ``None`` drops a key)."""
    features = {
        "image/encoded": Bytes([make_image(WIDTH, HEIGHT)]),
        "image/format": Bytes([b"jpeg"]),
        "image/source_id": Bytes([b"img-0"]),
        "image/height": Ints([HEIGHT]),
        "image/width": Ints([WIDTH]),
        "image/object/bbox/ymin": Floats([0.1, 0.5]),
        "image/object/bbox/xmin": Floats([0.2, 0.4]),
        "image/object/bbox/ymax": Floats([0.4, 0.9]),
        "image/object/bbox/xmax": Floats([0.6, 0.8]),
        "image/object/class/label": Ints([1, 2]),
        "image/object/class/text": Bytes([b"car", b"pedestrian"]),
    }
    features.update(extra)
    return {key: value for key, value in features.items() if value is not None}


def write(path: Path, *records: dict) -> Path:
    write_records(path, [encode_example(record) for record in records])
    return path


def scan_json(capsys, *args: str) -> tuple[int, dict]:
    code, out, _ = run_cli(["scan", *args, "--format", "json", "-j", "1"], capsys)
    return code, json.loads(out)


def of_rule(report: dict, rule: str) -> list[dict]:
    return [f for f in report["findings"] if f["rule"] == rule]


def loud(report: dict) -> list[dict]:
    return [f for f in report["findings"] if f["severity"] in ("error", "data-loss")]


# -- F002: data loss only on evidence -------------------------------------------------------------


def test_kitti_extras_are_information_naming_the_writer_once(tmp_path, capsys):
    record = base_record(**{
        "image/object/alpha": Floats([-1.58, 0.3]),
        "image/object/3d_bbox/height": Floats([1.65, 1.7]),
        "image/object/3d_bbox/rot_y": Floats([-1.59, 0.2])})
    code, report = scan_json(capsys, str(write(tmp_path / "kitti.tfrecord", record, record)))
    assert code == 0 and loud(report) == []
    (finding,) = of_rule(report, "F002")
    assert finding["severity"] == "info" and finding["evidence"]["records"] == 2
    assert set(finding["evidence"]["keys"]) == {
        "image/object/alpha", "image/object/3d_bbox/height", "image/object/3d_bbox/rot_y"}
    assert "create_kitti_tf_record.py" in finding["message"]
    assert "did you mean" not in finding["message"]


def test_a_close_name_whose_values_do_not_fit_is_information(tmp_path, capsys):
    # Two letters from image/object/difficult, one value per box, but 3 and 7 are no flags.
    record = base_record(**{"image/object/dificult": Ints([3, 7])})
    code, report = scan_json(capsys, str(write(tmp_path / "a.tfrecord", record)))
    (finding,) = of_rule(report, "F002")
    assert code == 0 and finding["severity"] == "info"
    assert "image/object/difficult" in finding["message"]
    assert "not every value is 0 or 1" in finding["message"]


def test_a_misspelled_key_that_holds_what_the_record_lacks_is_data_loss(tmp_path, capsys):
    record = base_record(**{"image/object/class/label": None,
                            "image/object/class/lable": Ints([1, 2])})
    code, report = scan_json(capsys, str(write(tmp_path / "a.tfrecord", record)))
    (finding,) = of_rule(report, "F002")
    assert code == 1 and finding["severity"] == "data-loss"
    assert finding["evidence"]["suggestion"] == "image/object/class/label"
    assert "2 values for 2 box(es)" in finding["evidence"]["fit"]


def test_too_few_values_for_the_boxes_is_not_called_lost(tmp_path, capsys):
    record = base_record(**{"image/object/class/label": None,
                            "image/object/class/lable": Ints([1, 2, 3])})
    _code, report = scan_json(capsys, str(write(tmp_path / "a.tfrecord", record)))
    (finding,) = of_rule(report, "F002")
    assert finding["severity"] == "info"
    assert "3 values for 2 box(es)" in finding["message"]


# -- fix: a missing box side from the values ------------------------------------------------------


def _fix(capsys, tmp_path: Path, record: dict) -> tuple[int, list[dict], Path]:
    source = write(tmp_path / "in.tfrecord", record)
    out = tmp_path / "out"
    code, _, _ = run_cli(["fix", str(source), "--out", str(out), "--apply"], capsys)
    lines = [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]
    return code, lines, out


def _changes(lines: list[dict]) -> list[dict]:
    return [change for line in lines for change in line.get("changes", [])]


def test_fix_renames_the_one_key_that_fits_a_missing_side(tmp_path, capsys):
    record = base_record(**{"image/object/bbox/xmax": None, "right_edge": Floats([0.6, 0.8])})
    _code, report = scan_json(capsys, str(write(tmp_path / "check.tfrecord", record)))
    (finding,) = of_rule(report, "F002")
    assert finding["severity"] == "data-loss" and finding["evidence"]["matched"] == "its values"
    assert finding["evidence"]["suggestion"] == "image/object/bbox/xmax"

    _, lines, out = _fix(capsys, tmp_path, record)
    (change,) = [c for c in _changes(lines) if c["repair"] == "rename"]
    assert change["detail"].startswith("right_edge -> image/object/bbox/xmax")
    assert "by its values" in change["detail"]
    (fixed,) = out.glob("*.tfrecord")
    _code, report = scan_json(capsys, str(fixed))
    assert loud(report) == [] and not of_rule(report, "F002")


def test_fix_asks_when_two_keys_fit_a_missing_side(tmp_path, capsys):
    record = base_record(**{"image/object/bbox/xmax": None, "edge_b": Floats([0.6, 0.8]),
                            "edge_c": Floats([0.7, 0.85])})
    _code, report = scan_json(capsys, str(write(tmp_path / "check.tfrecord", record)))
    findings = of_rule(report, "F002")
    assert {f["location"]["key"] for f in findings} == {"edge_b", "edge_c"}
    assert all("--rename" in f["hint"] for f in findings)

    _, lines, _ = _fix(capsys, tmp_path, record)
    renames = [c for c in _changes(lines) if c["repair"] == "rename"]
    assert renames and all(c.get("done") is False for c in renames)
    assert "--rename KEY=image/object/bbox/xmax" in renames[0]["detail"]


def test_fix_does_not_rename_kitti_alpha_to_area(tmp_path, capsys):
    record = base_record(**{"image/object/alpha": Floats([1.5, 0.3])})
    _, lines, _ = _fix(capsys, tmp_path, record)
    assert not [c for c in _changes(lines) if c["repair"] == "rename"]
