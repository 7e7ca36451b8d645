"""The record rules in context: clean data stays clean, severities follow what is known, the
dataset-level state merges in any order, and scan exposes it all."""

from __future__ import annotations

import json
import pickle
import random
from functools import reduce

import pytest

from tfod_doctor.api import context, scan
from tfod_doctor.checks import base
from tfod_doctor.checks.context import InputFlags, LabelTable
from tfod_doctor.cli import main
from tfod_doctor.engine import Partial, finish, process, scan_plan
from tfod_doctor.findings import Severity
from tfod_doctor.odapi import features as K
from tfod_doctor.records import Bytes, Floats, Ints, encode_example, write_records
from tfod_doctor.testing import make_dataset
from tfod_doctor.testing.images import make_image
from tfod_doctor.testing.samples import Box, Sample

CLASSES = ["cat", "dog", "bird"]
TABLE = LabelTable(names={n: i + 1 for i, n in enumerate(CLASSES)},
                   ids={i + 1: n for i, n in enumerate(CLASSES)}, path="label_map.pbtxt")


def _sample(name: str = "a.jpg", boxes: int = 2, width: int = 64, height: int = 48,
            **image) -> Sample:
    rng = random.Random(name)
    items = []
    for i in range(boxes):
        y, x = rng.uniform(0, 0.5), rng.uniform(0, 0.5)
        items.append(Box(round(y, 3), round(x, 3), round(y + 0.3, 3), round(x + 0.3, 3),
                         i % 3 + 1, CLASSES[i % 3]))
    data = make_image(width, height, seed=rng.randrange(1 << 30), **image)
    return Sample(data, width, height, "jpeg", name, name, items)


def _records(tmp_path, *feature_dicts, name="data.tfrecord"):
    path = tmp_path / name
    write_records(path, [encode_example(f) for f in feature_dicts])
    return str(path)


def _one(tmp_path, changes=None, drop=(), sample=None, **scan_options):
    """Scan one record: a clean sample with ``changes`` applied and ``drop`` keys removed."""
    features = (sample or _sample()).features()
    features.update(changes or {})
    for key in drop:
        features.pop(key, None)
    return scan(_records(tmp_path, features), **scan_options)


def _rules(report, at_least=Severity.INFO):
    return {f.rule for f in report.findings if f.severity >= at_least}


# -- clean data ------------------------------------------------------------------------------------


@pytest.mark.parametrize("deep", [False, True])
def test_a_clean_varied_dataset_of_hundreds_fires_nothing(tmp_path, deep):
    dataset = make_dataset(tmp_path, varied=True, n_train=240, n_eval=60, negative_rate=0.15,
                           seed=7)
    report = scan(dataset.train_files, eval_inputs=dataset.eval_files,
                  label_map=dataset.label_table(), num_classes=3, max_boxes=100, deep=deep)
    assert report.at_least(Severity.WARNING) == 0, report.rule_counts
    assert report.rule_counts == {}
    formats = report.stats["image_formats"]
    assert set(formats) == {"jpeg", "png", "bmp"} and sum(formats.values()) == 300
    assert report.stats["boxes_per_image"]["0"] > 0  # negatives were there, and are fine
    assert report.stats["images"] == ("decoded" if deep else "headers")


def test_a_clean_dataset_written_by_tensorflow_fires_nothing(tmp_path):
    dataset = make_dataset(tmp_path, varied=True, n_train=80, n_eval=20, negative_rate=0.2,
                           writer="tf", seed=3)
    report = scan(dataset.train_files, eval_inputs=dataset.eval_files,
                  label_map=dataset.label_table(), num_classes=3)
    assert report.rule_counts == {}


# -- statistics ------------------------------------------------------------------------------------


def test_stats_follow_the_contract(tmp_path):
    dataset = make_dataset(tmp_path, n_train=30, n_eval=10, negative_rate=0.2, seed=1)
    report = scan(dataset.scan_inputs, label_map=dataset.label_table())
    stats = json.loads(report.to_json())["stats"]
    boxes = sum(len(s.boxes) for samples in dataset.samples.values() for s in samples)
    assert [row["id"] for row in stats["classes"]] == [1, 2, 3]
    assert [row["name"] for row in stats["classes"]] == CLASSES
    assert sum(row["boxes"] for row in stats["classes"]) == boxes
    per_image = stats["boxes_per_image"]
    assert sum(per_image.values()) == 40
    assert sum(int(n) * count for n, count in per_image.items()) == boxes
    for name, low, high in (("box_sizes", 0.0, 1.0), ("box_aspect", -4.0, 4.0)):
        histogram = stats[name]
        assert len(histogram["edges"]) == 21 and len(histogram["counts"]) == 20
        assert histogram["edges"][0] == low and histogram["edges"][-1] == high
        assert sum(histogram["counts"]) == boxes
    assert stats["image_sizes"] == {"64x48": 40}
    assert stats["image_formats"] == {"jpeg": 40}


def test_stats_list_label_map_classes_never_seen(tmp_path):
    table = LabelTable(names={**TABLE.names, "zebra": 4}, ids={**TABLE.ids, 4: "zebra"})
    report = _one(tmp_path, label_map=table)
    assert {"id": 4, "name": "zebra", "boxes": 0, "images": 0} in report.stats["classes"]
    assert "D005" in _rules(report)


# -- partial states merge associatively ------------------------------------------------------------


def _partials(dataset, ctx):
    plan = scan_plan([str(p) for p in dataset.train_files], [str(p) for p in dataset.eval_files])
    checks, aggregators = base.record_checks(), base.aggregators()
    partials = [process(item, ctx, checks, aggregators).partial for item in plan.items]
    # As from worker processes: every partial state crosses a pickle.
    return plan, [pickle.loads(pickle.dumps(p)) for p in partials], aggregators


def _report_of(plan, partials, aggregators, ctx):
    merged = reduce(lambda a, b: a.merge(b, aggregators), partials,
                    Partial.empty(ctx, aggregators))
    data = finish(plan, merged, ctx).to_dict()
    data["stats"].pop("files")
    return data


def test_dataset_state_merges_the_same_in_any_order(tmp_path):
    dataset = make_dataset(tmp_path, ["duplicate_image", "train_eval_leak", "schema_drift",
                                      "duplicate_source_id", "pixel_boxes"],
                           n_train=24, n_eval=8, train_shards=4, eval_shards=2)
    ctx = context(label_map=dataset.label_table(), num_classes=3)
    plan, partials, aggregators = _partials(dataset, ctx)
    forward = _report_of(plan, partials, aggregators, ctx)
    plan, partials, aggregators = _partials(dataset, ctx)
    backward = _report_of(plan, partials[::-1], aggregators, ctx)
    plan, partials, aggregators = _partials(dataset, ctx)
    middle = len(partials) // 2
    left = reduce(lambda a, b: a.merge(b, aggregators), partials[:middle])
    right = reduce(lambda a, b: a.merge(b, aggregators), partials[middle:])
    grouped = _report_of(plan, [right, left], aggregators, ctx)
    assert forward == backward == grouped
    assert {"D003", "D004", "F007", "D001", "B005"} <= set(forward["rule_counts"])


# -- severities follow what is known ---------------------------------------------------------------


def test_duplicate_source_ids_are_data_loss_in_eval_only(tmp_path):
    sample = _sample()
    record = _records(tmp_path, sample.features(), sample.features())
    severity = {f.severity for f in scan(record).by_rule("D001")}
    assert severity == {Severity.WARNING}
    evaluated = scan(_records(tmp_path, name="t.tfrecord"), eval_inputs=record)
    assert {f.severity for f in evaluated.by_rule("D001")} == {Severity.DATA_LOSS}
    trained = scan(record, eval_inputs=_records(tmp_path, name="e.tfrecord"))
    assert {f.severity for f in trained.by_rule("D001")} == {Severity.INFO}


def test_text_only_records_depend_on_the_reader(tmp_path):
    drop = [K.LABEL]
    assert scan_severity(_one(tmp_path, drop=drop), "L006") == Severity.WARNING
    assert scan_severity(_one(tmp_path, drop=drop, label_map_in_reader=False),
                         "L006") == Severity.ERROR
    assert "L006" not in _rules(_one(tmp_path, drop=drop, label_map=TABLE))


def scan_severity(report, rule):
    (finding,) = report.by_rule(rule)
    return finding.severity


def test_flag_keys_are_info_without_a_config_and_a_warning_with_one(tmp_path):
    masks = {K.MASK: Bytes([make_image(64, 48, "png", "L")] * 2)}
    assert scan_severity(_one(tmp_path, masks), "F005") == Severity.INFO
    report = _one(tmp_path, masks, label_map_in_reader=True, label_map=TABLE)
    assert scan_severity(report, "F005") == Severity.WARNING
    report = _one(tmp_path, masks, flags=InputFlags(load_instance_masks=True,
                                                     mask_type="PNG_MASKS"))
    assert "F005" not in _rules(report) and "B011" not in _rules(report)


def test_a_flag_nothing_uses_is_a_dataset_warning(tmp_path):
    report = _one(tmp_path, flags=InputFlags(load_multiclass_scores=True))
    assert scan_severity(report, "F006") == Severity.WARNING


def test_masks_missing_for_boxes_are_an_error(tmp_path):
    report = _one(tmp_path, flags=InputFlags(load_instance_masks=True))
    (finding,) = report.by_rule("F006")
    assert finding.severity is Severity.ERROR and finding.location.key == K.MASK


def test_stored_size_mismatch_is_an_error_with_numerical_masks(tmp_path):
    changes = {K.HEIGHT: Ints([50]), K.MASK: Floats([0.0] * (2 * 50 * 64))}
    assert scan_severity(_one(tmp_path, changes), "I004") == Severity.WARNING
    report = _one(tmp_path, changes, flags=InputFlags(load_instance_masks=True))
    assert scan_severity(report, "I004") == Severity.ERROR
    assert "B011" not in _rules(report)  # two whole 50×64 masks for two boxes


# -- rules that need a value stay quiet without it -------------------------------------------------


def test_rules_needing_a_value_stay_quiet_without_it(tmp_path):
    changes = {K.LABEL: Ints([7, 1]), K.TEXT: Bytes(["Cat", "dog"])}
    quiet = _rules(_one(tmp_path, changes))
    assert not {"L002", "L003", "L004", "L005", "D005"} & quiet
    loud = _rules(_one(tmp_path, changes, label_map=TABLE, num_classes=3))
    assert {"L004", "L005"} <= loud  # text wins with a label map: 'Cat' is unknown


def test_labels_are_checked_when_the_reader_reads_labels(tmp_path):
    changes = {K.LABEL: Ints([7, 1]), K.TEXT: Bytes(["cat", "dog"])}
    report = _one(tmp_path, changes, label_map=TABLE, num_classes=3, label_map_in_reader=False)
    assert {"L002", "L005"} <= _rules(report)
    assert "without label_map_path, the label wins" in report.by_rule("L005")[0].message


# -- details of single rules -----------------------------------------------------------------------


def test_unknown_keys_are_info_unless_data_is_lost(tmp_path):
    report = _one(tmp_path, {"image/provenance": Bytes(["camera 3"]),
                             "image/object/class/labels": Ints([1, 2])})
    assert {f.severity for f in report.by_rule("F002")} == {Severity.INFO}
    by_key = {f.location.key: f for f in report.by_rule("F002")}
    assert by_key["image/object/class/labels"].evidence["suggestion"] == K.LABEL


def test_known_unused_keys_are_not_findings(tmp_path):
    report = _one(tmp_path, {"image/object/truncated": Ints([0, 0]),
                             "image/object/view": Bytes(["Frontal", "Left"])})
    assert report.rule_counts == {}


def test_more_labels_than_boxes_is_silent_data_loss(tmp_path):
    report = _one(tmp_path, {K.LABEL: Ints([1, 2, 3]), K.TEXT: Bytes(["cat", "dog", "bird"])})
    assert scan_severity(report, "B002") == Severity.DATA_LOSS


def test_pixel_coordinates_come_with_their_normalization(tmp_path):
    sample = _sample(width=64, height=48)
    box = sample.boxes[0]
    changes = {key: Floats([v * s for v in values.values]) for (key, values), s in
               zip(((k, sample.features()[k]) for k in K.BOX_KEYS), (48, 64, 48, 64),
                   strict=True)}
    (finding,) = _one(tmp_path, changes, sample=sample).by_rule("B005")
    expected = [box.ymin, box.xmin, box.ymax, box.xmax]
    assert finding.evidence["normalized_first_box"] == pytest.approx(expected, abs=1e-3)
    assert "fit the 64×48 image as pixel coordinates" in finding.message


def test_pixel_coordinates_of_a_rotated_view_point_at_exif(tmp_path):
    sample = _sample(width=64, height=48, exif_orientation=6)
    # Boxes drawn on the 48×64 view the viewer shows: x up to 48, y up to 64.
    changes = {K.YMIN: Floats([10.0]), K.XMIN: Floats([5.0]), K.YMAX: Floats([60.0]),
               K.XMAX: Floats([40.0]), K.LABEL: Ints([1]), K.TEXT: Bytes(["cat"])}
    report = _one(tmp_path, changes, sample=sample)
    assert "EXIF orientation" in report.by_rule("B005")[0].message
    assert "I005" in _rules(report)


def test_keypoint_counts_follow_num_keypoints(tmp_path):
    changes = {K.KEYPOINT_X: Floats([0.5] * 7), K.KEYPOINT_Y: Floats([0.5] * 7)}
    flags = InputFlags(num_keypoints=4)
    report = _one(tmp_path, changes, flags=flags)
    assert "B011" in _rules(report)
    good = {K.KEYPOINT_X: Floats([0.5] * 8), K.KEYPOINT_Y: Floats([0.5] * 8)}
    assert "B011" not in _rules(_one(tmp_path, good, flags=flags))


def test_image_level_labels_above_num_classes(tmp_path):
    report = _one(tmp_path, {K.IMAGE_LABEL: Ints([2, 4])}, num_classes=3)
    (finding,) = report.by_rule("L007")
    assert finding.evidence["ids"] == [4]
    assert "L007" not in _rules(_one(tmp_path, {K.IMAGE_LABEL: Ints([2, 3])}, num_classes=3))


def test_negatives_without_box_keys_are_not_drift(tmp_path):
    positive = _sample("p.jpg").features()
    negative = {k: v for k, v in _sample("n.jpg", boxes=0).features().items()
                if not k.startswith("image/object/")}
    other = _sample("q.jpg").features()
    report = scan(_records(tmp_path, positive, negative, other))
    assert report.rule_counts == {}


def test_too_many_boxes_uses_the_reader_maximum(tmp_path):
    report = _one(tmp_path, max_boxes=1)
    (finding,) = report.by_rule("B009")
    assert finding.evidence == {"boxes": 2, "max_number_of_boxes": 1, "dropped": 1}
    assert "max_number_of_boxes: 2" in finding.hint


# -- select / ignore -------------------------------------------------------------------------------


def test_select_and_ignore_by_family_and_id(tmp_path):
    dataset = make_dataset(tmp_path, ["pixel_boxes", "label_zero", "tiff_image", "nan_box"])
    everything = set(scan(dataset.scan_inputs).rule_counts)
    assert {"B005", "L001", "I001", "B003"} <= everything
    assert set(scan(dataset.scan_inputs, select=["boxes"]).rule_counts) == {"B005", "B003"}
    assert set(scan(dataset.scan_inputs, select=["boxes"], ignore=["B005"]).rule_counts) == {
        "B003"}
    assert "L001" not in scan(dataset.scan_inputs, ignore=["labels", "I"]).rule_counts


# -- the command line ------------------------------------------------------------------------------


def _cli(capsys, *args):
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out = capsys.readouterr()
    return done.value.code, out.out, out.err


def test_scan_command_takes_num_classes_max_boxes_and_eval(tmp_path, capsys):
    dataset = make_dataset(tmp_path, ["label_above_num_classes", "train_eval_leak"])
    code, out, _ = _cli(capsys, "scan", *map(str, dataset.train_files), "--eval",
                        str(dataset.eval_files[0]), "--num-classes", "3", "--max-boxes", "2",
                        "--format", "json")
    assert code == 1, out
    report = json.loads(out)
    assert {"L002", "D004", "B009"} <= set(report["rule_counts"])
    located = report["findings"][0]["location"]
    assert located["file"] and located["record"] is not None and located["offset"] is not None


def test_scan_command_refuses_a_bad_num_classes(tmp_path, capsys):
    dataset = make_dataset(tmp_path)
    code, _, err = _cli(capsys, "scan", str(dataset.train_files[0]), "--num-classes", "0")
    assert code == 2 and "num-classes" in err and "Traceback" not in err


@pytest.mark.parametrize("rule", ["B005", "pixel-coordinates", "L004", "D001", "I005"])
def test_rules_command_shows_a_rule_in_full(rule, capsys):
    code, out, _ = _cli(capsys, "rules", rule)
    assert code == 0
    for part in ("Why it matters:", "How to fix it:", "Example:"):
        assert part in out
