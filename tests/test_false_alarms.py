"""False alarms on data real tools write: each item fires where it should and stays quiet where
the data is fine (issue 16, "False alarms and noise")."""

from __future__ import annotations

import json
from pathlib import Path

from tests.convert_helpers import run_cli
from tfod_doctor.findings import Severity
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
    assert "one value per box" in finding["evidence"]["fit"]


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
    (change,) = [c for c in _changes(lines) if c["rule"] == "F002"]
    assert change["repair"] == "rename-by-evidence"
    assert change["detail"].startswith("right_edge -> image/object/bbox/xmax")
    assert "by its values" in change["detail"] and "one value per box" in change["detail"]
    _code, stdout, _ = run_cli(["fix", str(tmp_path / "in.tfrecord"), "--out",
                               str(tmp_path / "plan")], capsys)
    assert "renamed right_edge -> image/object/bbox/xmax (the record lacks it; by its values" \
        in stdout
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
    assert not [c for c in _changes(lines) if c["rule"] == "F002"]


# -- R024: a shard is missing only when its file does not exist ----------------------------------


def _shards(folder: Path, count: int, with_records: set[int]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        records = [base_record()] if index in with_records else []
        paths.append(write(folder / f"data.record-{index:05d}-of-{count:05d}", *records))
    return paths


def test_a_pattern_that_names_some_shards_of_a_set_is_not_missing_shards(tmp_path, capsys):
    _shards(tmp_path, 3, {0, 1, 2})
    # Shards 1 and 2 on purpose (shard 0 is another reader's): all three files exist.
    _, report = scan_json(capsys, str(tmp_path / "data.record-0000[12]-of-00003"))
    assert not of_rule(report, "R024")


def test_a_shard_whose_file_is_gone_is_missing(tmp_path, capsys):
    paths = _shards(tmp_path, 3, {0, 1, 2})
    paths[0].unlink()
    code, report = scan_json(capsys, str(tmp_path / "data.record-0000[12]-of-00003"))
    (finding,) = of_rule(report, "R024")
    assert code == 1 and finding["evidence"]["missing"][0].endswith("data.record-00000-of-00003")


# -- R007: one finding per shard set --------------------------------------------------------------


def test_empty_shards_of_a_set_with_records_are_one_information_finding(tmp_path, capsys):
    _shards(tmp_path, 10, {0, 1})
    code, report = scan_json(capsys, str(tmp_path))
    (finding,) = of_rule(report, "R007")
    assert code == 0 and finding["severity"] == "info"
    assert finding["evidence"]["empty"] == 8 and len(finding["evidence"]["files"]) == 8


def test_a_set_of_empty_shards_and_a_lone_empty_file_are_warnings(tmp_path, capsys):
    _shards(tmp_path / "set", 4, set())
    write(tmp_path / "lone.tfrecord")
    write(tmp_path / "full.tfrecord", base_record())
    _, report = scan_json(capsys, str(tmp_path / "set"), str(tmp_path / "lone.tfrecord"),
                          str(tmp_path / "full.tfrecord"))
    findings = of_rule(report, "R007")
    assert len(findings) == 2 and {f["severity"] for f in findings} == {"warning"}
    assert sorted(f["evidence"].get("empty", 1) for f in findings) == [1, 4]


# -- R025: an input reader without records --------------------------------------------------------


def test_a_reader_with_some_empty_files_is_not_a_reader_without_records(tmp_path):
    from tfod_doctor.api import check
    from tfod_doctor.testing import make_dataset

    dataset = make_dataset(tmp_path, ["empty_file"])
    report = check(dataset.config_path)
    assert not report.by_rule("R025")
    assert [f.severity for f in report.by_rule("R007")] == [Severity.WARNING]


def test_an_eval_reader_of_empty_files_is_an_error_at_its_config_line(tmp_path):
    from tfod_doctor.api import check
    from tfod_doctor.testing import make_dataset

    dataset = make_dataset(tmp_path, ["reader_without_records"])
    report = check(dataset.config_path)
    (finding,) = report.by_rule("R025")
    assert finding.severity is Severity.ERROR
    assert finding.message.startswith("eval_input_reader reads 1 file(s) and not one record")
    assert "evaluation gets no batch" in finding.message
    lines = dataset.config_path.read_text().splitlines()
    assert lines[finding.location.line - 1].startswith("eval_input_reader {")


# -- official label maps: D005, M006, M008 --------------------------------------------------------

MAPS = Path(__file__).parent / "data" / "odapi_label_maps"


def test_official_coco_map_gaps_and_shared_names_are_information():
    from tfod_doctor.config.label_map import read_label_map

    label_map, findings = read_label_map(MAPS / "mscoco_label_map.pbtxt")
    assert label_map.official == "COCO"
    by_rule = {f.rule: f for f in findings}
    assert set(by_rule) == {"M006", "M008"} and len(findings) == 2
    assert all(f.severity is Severity.INFO for f in findings)
    assert "keep the official ids" in by_rule["M008"].hint
    assert by_rule["M008"].evidence["missing"] == [12, 26, 29, 30, 45, 66, 68, 69, 71, 83]


def test_a_map_of_ones_own_with_gaps_and_a_shared_name_is_still_warned_about(tmp_path):
    from tfod_doctor.config.label_map import read_label_map

    path = tmp_path / "label_map.pbtxt"
    path.write_text("item { id: 1 name: 'cat' }\nitem { id: 3 name: 'dog' }\n"
                    "item { id: 4 name: 'dog' }\n")
    label_map, findings = read_label_map(path)
    assert label_map.official is None
    severities = {f.rule: f.severity for f in findings}
    assert severities == {"M006": Severity.DATA_LOSS, "M008": Severity.WARNING}


def test_unused_classes_of_an_official_map_are_one_information_finding(tmp_path, capsys):
    records = [base_record(**{"image/object/class/label": Ints([3, 18]),
                              "image/object/class/text": Bytes([b"car", b"dog"])})]
    path = write(tmp_path / "a.tfrecord", *records)
    _, report = scan_json(capsys, str(path), "--label-map", str(MAPS / "mscoco_label_map.pbtxt"))
    (finding,) = of_rule(report, "D005")
    assert finding["severity"] == "info" and len(finding["evidence"]["unused"]) == 78
    assert "renumber" not in finding["message"]


def test_unused_classes_of_ones_own_map_are_warnings(tmp_path, capsys):
    label_map = tmp_path / "label_map.pbtxt"
    label_map.write_text("item { id: 1 name: 'car' }\nitem { id: 2 name: 'pedestrian' }\n"
                         "item { id: 3 name: 'bus' }\n")
    path = write(tmp_path / "a.tfrecord", base_record())
    _, report = scan_json(capsys, str(path), "--label-map", str(label_map))
    (finding,) = of_rule(report, "D005")
    assert finding["severity"] == "warning" and finding["evidence"]["id"] == 3


# -- I004: a proportional resize or not -----------------------------------------------------------


def test_a_stored_size_that_is_a_proportional_resize_is_information(tmp_path, capsys):
    record = base_record(**{"image/width": Ints([WIDTH * 3]), "image/height": Ints([HEIGHT * 3])})
    code, report = scan_json(capsys, str(write(tmp_path / "a.tfrecord", record)))
    (finding,) = of_rule(report, "I004")
    assert code == 0 and finding["severity"] == "info"
    assert finding["evidence"]["proportional"] is True and "are right" in finding["message"]


def test_a_stored_size_that_is_not_a_proportional_resize_says_boxes_are_off(tmp_path, capsys):
    record = base_record(**{"image/width": Ints([WIDTH * 3]), "image/height": Ints([HEIGHT])})
    _, report = scan_json(capsys, str(write(tmp_path / "a.tfrecord", record)))
    (finding,) = of_rule(report, "I004")
    assert finding["severity"] == "warning" and finding["evidence"]["proportional"] is False
    assert "not a proportional resize" in finding["message"] and "are off" in finding["message"]


def test_fix_takes_empty_shards_for_what_they_are(tmp_path, capsys):
    _shards(tmp_path / "in", 10, {0, 1})
    out = tmp_path / "out"
    code, stdout, _ = run_cli(["fix", str(tmp_path / "in"), "--out", str(out), "--apply"], capsys)
    assert code == 0, stdout
    assert "not a TFRecord" not in stdout and "salvaged" not in stdout
    written = [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]
    assert len([line for line in written if "output" in line]) == 2


def test_official_maps_are_recognised_by_their_classes_only():
    from tfod_doctor.odapi.official_maps import (
        COCO_CLASSES,
        PETS_CLASSES,
        official_map,
    )

    assert official_map(COCO_CLASSES) == "COCO"
    assert official_map(dict(enumerate(PETS_CLASSES, start=1))) == "Oxford-IIIT Pets"
    # Open Images maps name every class by its Freebase id, with a display_name.
    shown = {i: f"class {i}" for i in range(1, 602)}
    assert official_map(shown, {i: f"/m/0{i:x}k" for i in shown}) == "Open Images"
    assert official_map(shown, {i: f"class_{i}" for i in shown}) is None
    renamed = {**COCO_CLASSES, 18: "wolf"}  # a map of one's own, numbered like COCO
    assert official_map(renamed) is None
    assert official_map({1: "cat", 3: "dog"}) is None
