"""``fix``: every fixable rule's defect comes out checking clean, and no readable record is lost.

Each fixable rule's defect is planted in a generated dataset, ``fix --apply`` writes the repaired
dataset, and the output is checked the way the input was (``check`` of the corrected
pipeline.config, or ``scan`` of the repaired files for inputs named on the command line).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tfod_doctor import catalogue
from tfod_doctor.api import check, fix, scan
from tfod_doctor.records import salvage
from tfod_doctor.repair import MANIFEST
from tfod_doctor.testing import make_dataset

FIXABLE = [rule for rule in catalogue.all_rules() if rule.fixable]
#: Rules whose repair the user asks for (it drops data, or needs a choice the data cannot make).
ASKED = {"L001": {"drop_unfixable": True},
         "F008": {"box_layout": "yxyx", "box_units": "normalized"}}


def manifest_lines(out: Path) -> list[dict]:
    """The manifest of a fix, one dict a line."""
    return [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]


def readable_records(files) -> set[tuple[str, int]]:
    """``(file, index)`` of every intact record of ``files``."""
    found = set()
    for file in files:
        with salvage(str(file)) as records:
            found.update((record.file, record.index) for record in records)
    return found


def payloads(file) -> list[bytes]:
    """The payloads of the intact records of one file."""
    with salvage(str(file)) as found:
        return [record.payload for record in found]


def digest(paths) -> dict[str, str]:
    """File -> sha256, to show inputs are untouched."""
    return {str(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


def fix_dataset(dataset, out: Path, **options):
    """Fix a factory dataset as a user would: its config, or the files named on the command line."""
    if dataset.extra_inputs:
        args = dataset.scan_args()
        label_map = dataset.label_map_path if "label_map" in args else None
        return fix(args["inputs"], out, apply=True, label_map=label_map, **options)
    return fix(dataset.config_path, out, apply=True, **options)


def check_fixed(dataset, out: Path):
    """The report on the fixed output, read like the input was."""
    if dataset.extra_inputs:
        args = dataset.scan_args()
        args["inputs"] = sorted(str(p) for p in out.glob("*.tfrecord"))
        args.pop("eval_inputs", None)
        return scan(**args)
    return check(out / "pipeline.config")


def test_every_fixable_rule_has_a_defect():
    assert {rule.id for rule in FIXABLE} >= {"B003", "B005", "B006", "F002", "F003", "R002",
                                            "R004", "I001", "L004", "D002"}


@pytest.mark.parametrize("rule", FIXABLE, ids=lambda r: r.id)
def test_fix_makes_the_rule_go_away_and_accounts_for_every_record(rule, tmp_path):
    dataset = make_dataset(tmp_path / "in", [rule.defect], train_shards=2)
    before = check(dataset.config_path) if not dataset.extra_inputs else scan(
        **dataset.scan_args())
    assert before.by_rule(rule.id), f"{rule.id} does not fire on its defect before the fix"
    inputs = digest(p for p in (tmp_path / "in").rglob("*") if p.is_file())
    out = tmp_path / "out"

    result = fix_dataset(dataset, out, **ASKED.get(rule.id, {}))

    after = check_fixed(dataset, out)
    assert not after.by_rule(rule.id), f"{rule.id} still fires after fix: {after.by_rule(rule.id)}"
    assert digest(inputs) == inputs, "fix changed an input file"
    lines = manifest_lines(out)
    record_lines = [line for line in lines if "index" in line]
    readable = readable_records(
        [*dataset.record_files] if not dataset.extra_inputs else dataset.scan_args()["inputs"])
    assert {(line["input"], line["index"]) for line in record_lines} == readable
    written = [line for line in record_lines if "output" in line]
    assert len(written) == result.records.records_out == after.stats["totals"]["records"]


def test_plan_writes_nothing(tmp_path):
    dataset = make_dataset(tmp_path / "in", ["pixel_boxes", "inverted_box"])
    result = fix(dataset.config_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not result.applied
    changes = {(c["rule"], c["records"]) for c in result.to_dict()["changes"]}
    assert ("B005", 1) in changes and ("B006", 1) in changes


def test_clean_dataset_is_copied_byte_for_byte(tmp_path):
    dataset = make_dataset(tmp_path / "in", varied=True, n_train=12, n_eval=4)
    result = fix(dataset.config_path, tmp_path / "out", apply=True, num_shards=1)
    assert result.records.records_by_change == {}
    payloads_in = [p for file in dataset.train_files for p in payloads(file)]
    assert payloads_in == payloads(tmp_path / "out" / "train-00000-of-00001.tfrecord")
    assert result.config is not None
    assert {c.path for c in result.config.changes} == {
        "train_input_reader.tf_record_input_reader.input_path",
        "eval_input_reader.tf_record_input_reader.input_path"}


def test_output_into_an_input_folder_is_refused(tmp_path):
    from tfod_doctor.errors import UserError

    dataset = make_dataset(tmp_path / "in", ["pixel_boxes"])
    with pytest.raises(UserError, match="inputs are never changed"):
        fix([str(p) for p in dataset.train_files], dataset.train_files[0].parent, apply=True)


def test_a_second_fix_into_the_same_folder_needs_overwrite(tmp_path):
    from tfod_doctor.errors import UserError

    dataset = make_dataset(tmp_path / "in", ["pixel_boxes"])
    fix(dataset.config_path, tmp_path / "out", apply=True)
    with pytest.raises(UserError, match="--overwrite"):
        fix(dataset.config_path, tmp_path / "out", apply=True)
    fix(dataset.config_path, tmp_path / "out", apply=True, overwrite=True)


@pytest.mark.parametrize("defect, rule", [("truncated_jpeg", "I003"),
                                          ("box_lists_differ", "B001"),
                                          ("fewer_labels_than_boxes", "B002")])
def test_records_that_cannot_be_repaired_are_kept_or_dropped_on_request(defect, rule, tmp_path):
    dataset = make_dataset(tmp_path / "in", [defect])
    kept = fix(dataset.config_path, tmp_path / "kept", apply=True)
    assert check(tmp_path / "kept" / "pipeline.config").by_rule(rule)
    dropped = fix(dataset.config_path, tmp_path / "dropped", apply=True, drop_unfixable=True)
    assert not check(tmp_path / "dropped" / "pipeline.config").by_rule(rule)
    assert dropped.records.records_out == kept.records.records_out - 1
    (line,) = [line for line in manifest_lines(tmp_path / "dropped") if "dropped" in line]
    assert line["dropped"].startswith(rule[:4]) or rule in line["dropped"]
    planted = dataset.planted_for(defect)[0]
    assert (line["input"], line["index"]) == (planted.file, planted.record)
