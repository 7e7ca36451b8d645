"""Records written by the OD API's own dataset tools check without an error or a data-loss finding.

The tools (``object_detection/dataset_tools``: the KITTI, COCO and pets tools) run for real in a
child process (``tests/odapi_producers.py``; their ``*_pb2`` imports need the pure-Python
protobuf) on a tiny dataset of real images, with the OD API's own label maps
(``tests/data/odapi_label_maps``, as ``object_detection/data`` ships them). Then ``tfod-doctor
check`` reads what they wrote through a pipeline.config, as a user would.

Not covered: ``oid_tfrecord_creation`` (Open Images) takes a pandas DataFrame, and pandas is not
installed here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.convert_helpers import run_cli
from tfod_doctor.testing.checkpoints import detection_for, write_checkpoint
from tfod_doctor.testing.configs import ConfigSpec, pipeline_config_text

pytest.importorskip("object_detection", reason="the OD API package is not installed")

HERE = Path(__file__).parent
MAPS = HERE / "data" / "odapi_label_maps"
CHILD = HERE / "odapi_producers.py"


#: Every run of a tool the tests use: name -> (tool, label map, argument).
JOBS = {
    "kitti": ("kitti", "kitti_label_map.pbtxt", 1),  # 1 image for val, 3 for train
    "kitti-default": ("kitti", "kitti_label_map.pbtxt", 500),  # the tool's default val size
    "coco": ("coco", "mscoco_label_map.pbtxt", 100),  # 3 images dealt over 100 shards
    "pets": ("pets", "pet_label_map.pbtxt", 1),
    "pets-resized": ("pets", "pet_label_map.pbtxt", 2),  # XML sizes twice the JPEGs'
}


@pytest.fixture(scope="module")
def produced(tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """Run the OD API's dataset tools once: name -> (folder, what the tool wrote, or
    ``{"skip": why}``). The runs of one tool share a child process (TensorFlow is imported once
    per tool; two tools cannot share one, as they define the same absl flags)."""
    root = tmp_path_factory.mktemp("produced")
    env = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    found = {}
    for tool in dict.fromkeys(job[0] for job in JOBS.values()):
        names = [name for name, job in JOBS.items() if job[0] == tool]
        jobs = [[tool, str(root / name), str(MAPS / JOBS[name][1]), JOBS[name][2]]
                for name in names]
        done = subprocess.run([sys.executable, str(CHILD), json.dumps(jobs)],
                              capture_output=True, text=True, env=env, timeout=600, cwd=root)
        assert done.returncode == 0, f"the OD API's {tool} tool failed:\n{done.stderr[-3000:]}"
        results = json.loads(done.stdout.strip().splitlines()[-1])
        found.update({name: (root / name, result)
                      for name, result in zip(names, results, strict=True)})
    return found


def tool_output(produced: dict, name: str) -> tuple[Path, dict]:
    """What one run wrote; skips (saying why) when the tool cannot be imported here."""
    folder, written = produced[name]
    if "skip" in written:
        pytest.skip(f"the OD API's {JOBS[name][0]} tool cannot run here: {written['skip']}")
    return folder, written


def write_config(root: Path, label_map: Path, num_classes: int, train: list[str],
                 evaluate: list[str], flags: tuple[str, ...] = ()) -> Path:
    """A pipeline.config over the records (with a stand-in zoo detection checkpoint that fits
    the config's SSD), as a user writes one."""
    checkpoint = write_checkpoint(root / "checkpoint" / "ckpt-0", detection_for("ssd", 90))
    spec = ConfigSpec(num_classes=num_classes, label_map_path=str(label_map),
                      train_input_paths=train, eval_input_paths=evaluate,
                      checkpoint=str(checkpoint), extra_train_reader=list(flags))
    path = root / "pipeline.config"
    path.write_text(pipeline_config_text(spec))
    return path


def check_json(capsys, config: Path) -> tuple[int, dict]:
    code, out, _ = run_cli(["check", str(config), "--format", "json", "-j", "1"], capsys)
    return code, json.loads(out)


def of_rule(report: dict, rule: str) -> list[dict]:
    return [f for f in report["findings"] if f["rule"] == rule]


def loud(report: dict) -> list[dict]:
    """The error and data-loss findings."""
    return [f for f in report["findings"] if f["severity"] in ("error", "data-loss")]


def config_line(config: Path, needle: str) -> int:
    return next(n for n, line in enumerate(config.read_text().splitlines(), 1) if needle in line)


# -- KITTI: create_kitti_tf_record.py -------------------------------------------------------------


def test_kitti_tool_records_check_clean_and_its_extras_are_named(produced, capsys):
    folder, written = tool_output(produced, "kitti")
    config = write_config(folder, MAPS / "kitti_label_map.pbtxt", 2, [written["train"]],
                          [written["val"]])

    code, report = check_json(capsys, config)

    assert loud(report) == [], loud(report)
    assert code == 0
    assert report["stats"]["totals"]["records"] == 4
    (extras,) = of_rule(report, "F002")
    assert extras["severity"] == "info"
    assert "create_kitti_tf_record.py" in extras["message"]
    assert {"image/object/alpha", "image/object/3d_bbox/rot_y"} <= set(extras["evidence"]["keys"])
    assert "image/object/area" not in extras["message"]

    code, out, _ = run_cli(["scan", written["train"], written["val"], "--label-map",
                            str(MAPS / "kitti_label_map.pbtxt"), "--format", "json", "-j", "1"],
                           capsys)
    scanned = json.loads(out)
    assert code == 0 and loud(scanned) == [], loud(scanned)


def test_kitti_tool_default_validation_size_leaves_train_empty(produced, capsys):
    folder, written = tool_output(produced, "kitti-default")
    assert Path(written["train"]).stat().st_size == 0
    config = write_config(folder, MAPS / "kitti_label_map.pbtxt", 2, [written["train"]],
                          [written["val"]])

    code, report = check_json(capsys, config)

    (finding,) = of_rule(report, "R025")
    assert code == 1 and finding["severity"] == "error"
    assert finding["message"].startswith("train_input_reader reads 1 file(s) and not one record")
    assert finding["location"]["line"] == config_line(config, "train_input_reader {")
    assert [f["rule"] for f in loud(report)] == ["R025"]
    assert not of_rule(report, "R007")  # the empty train file is R025's, not told twice


# -- COCO: create_coco_tf_record.py ---------------------------------------------------------------


@pytest.fixture
def coco_records(produced) -> Path:
    """The COCO tool's output: 3 images (person, car, dog) dealt over 100 shards, with masks."""
    return tool_output(produced, "coco")[0]


def test_coco_tool_shards_and_official_map_check_clean(coco_records, capsys):
    # Eval reads shard 0, train the other 99 (through two patterns): none of them is missing.
    prefix = coco_records / "coco_train.record"
    train = [f"{prefix}-0000[1-9]-of-00100", f"{prefix}-000[1-9]?-of-00100"]
    config = write_config(coco_records, MAPS / "mscoco_label_map.pbtxt", 90, train,
                          [f"{prefix}-00000-of-00100"],
                          ("load_instance_masks: true", "mask_type: PNG_MASKS"))

    code, report = check_json(capsys, config)

    assert loud(report) == [], loud(report)
    assert code == 0
    assert not of_rule(report, "R024")
    (empty,) = of_rule(report, "R007")  # one finding for the set, not 97
    assert empty["severity"] == "info" and empty["evidence"]["empty"] == 97
    (unused,) = of_rule(report, "D005")
    assert unused["severity"] == "info" and unused["evidence"]["official"] == "COCO"
    # Train holds the dog image and the image without objects (person and car are eval's).
    assert len(unused["evidence"]["unused"]) == 79 and 18 not in unused["evidence"]["unused"]
    (gaps,) = of_rule(report, "M008")
    assert gaps["severity"] == "info" and "renumber" in gaps["hint"]
    assert all(f["severity"] == "info" for f in of_rule(report, "M006"))


def test_fix_of_the_coco_tool_records_takes_empty_shards_as_empty(coco_records, tmp_path,
                                                                  capsys):
    prefix = coco_records / "coco_train.record"
    config = write_config(coco_records, MAPS / "mscoco_label_map.pbtxt", 90,
                          [f"{prefix}-000[1-9]?-of-00100", f"{prefix}-0000[1-9]-of-00100"],
                          [f"{prefix}-00000-of-00100"],
                          ("load_instance_masks: true", "mask_type: PNG_MASKS"))
    code, out, _ = run_cli(["fix", str(config), "--out", str(tmp_path / "fixed")], capsys)
    assert code == 0, out
    assert "not a TFRecord" not in out and "Plan: 3 readable record(s)" in out


def test_a_shard_that_is_gone_is_still_missing(coco_records, tmp_path, capsys):
    # The converse of the R024 case above: shard 50's file does not exist.
    copy = tmp_path / "coco"
    copy.mkdir()
    for shard in coco_records.glob("coco_train.record-*"):
        if not shard.name.startswith("coco_train.record-00050"):
            (copy / shard.name).write_bytes(shard.read_bytes())
    config = write_config(copy, MAPS / "mscoco_label_map.pbtxt", 90,
                          [f"{copy}/coco_train.record-000[1-9]?-of-00100"],
                          [f"{copy}/coco_train.record-00000-of-00100"],
                          ("load_instance_masks: true", "mask_type: PNG_MASKS"))

    code, report = check_json(capsys, config)

    (missing,) = of_rule(report, "R024")
    assert code == 1 and missing["severity"] == "data-loss"
    assert [Path(name).name for name in missing["evidence"]["missing"]] == [
        "coco_train.record-00050-of-00100"]


# -- pets: create_pet_tf_record.py ----------------------------------------------------------------


def test_pets_tool_records_with_masks_check_clean(produced, capsys):
    folder, written = tool_output(produced, "pets")
    config = write_config(folder, MAPS / "pet_label_map.pbtxt", 37, [written["train"]],
                          [written["train"]],
                          ("load_instance_masks: true", "mask_type: PNG_MASKS"))

    code, report = check_json(capsys, config)

    assert loud(report) == [], loud(report)
    assert code == 0
    (unused,) = of_rule(report, "D005")
    assert unused["severity"] == "info" and unused["evidence"]["official"] == "Oxford-IIIT Pets"
    # The quality rules (imbalance, skew, outliers, near-copies) have nothing to say about it.
    quality = {f"D{n:03d}" for n in range(8, 20)}
    assert not quality & set(report["rule_counts"]), report["rule_counts"]


def test_pets_xml_sizes_of_resized_images_are_called_a_proportional_resize(produced, capsys):
    folder, written = tool_output(produced, "pets-resized")
    config = write_config(folder, MAPS / "pet_label_map.pbtxt", 37, [written["train"]],
                          [written["train"]])

    code, report = check_json(capsys, config)

    assert loud(report) == [] and code == 0
    sizes = of_rule(report, "I004")
    assert len(sizes) == 3
    for finding in sizes:
        assert finding["severity"] == "info" and finding["evidence"]["proportional"] is True
        assert "proportional resize" in finding["message"]
        assert "are off" not in finding["message"]
