"""``check pipeline.config``: paths resolved as training resolves them, the context the record
rules get from the config, the command line, and the Python API."""

from __future__ import annotations

import json
import os

import pytest

import tfod_doctor
from tfod_doctor.api import check_plan
from tfod_doctor.cli import main
from tfod_doctor.config import witness
from tfod_doctor.findings import Severity
from tfod_doctor.testing import make_dataset
from tfod_doctor.testing.protos import fake_od_api


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("clean"), n_train=8, n_eval=4)


def _edit_config(dataset, old: str, new: str) -> None:
    text = dataset.config_path.read_text()
    assert old in text
    dataset.config_path.write_text(text.replace(old, new, 1))


def test_report_is_iterable_json_and_html(clean):
    report = tfod_doctor.check(clean.config_path)
    assert [f.rule for f in report] == ["C013"]
    data = json.loads(report.to_json())
    assert data["stats"]["config"]["num_classes"] == 3
    assert data["findings"][0]["location"]["line"] > 0
    assert "<" in report._repr_html_()


def test_context_comes_from_each_reader(tmp_path):
    dataset = make_dataset(tmp_path, n_train=4, n_eval=2)
    _edit_config(dataset, "  shuffle: false", "  shuffle: false\n  max_number_of_boxes: 7\n"
                 "  num_keypoints: 2")
    plan, ctx = check_plan(dataset.config_path)
    assert {item.role for item in plan.items} == {"train", "eval"}
    assert ctx.num_classes == 3 and ctx.label_map.lookup("dog") == 2
    assert ctx.for_role("train").max_boxes == 100
    assert ctx.for_role("eval").max_boxes == 7
    assert ctx.for_role("eval").flags.num_keypoints == 2
    assert ctx.for_role("eval").label_map_in_reader is True
    assert ctx.batching["eval"].num_epochs == 1


def test_split_limits_the_records_not_the_config(clean):
    plan, _ = check_plan(clean.config_path, split="eval")
    assert {item.role for item in plan.items} == {"eval"}
    with pytest.raises(tfod_doctor.errors.UserError):
        check_plan(clean.config_path, split="test")


def test_relative_paths_resolve_from_the_working_directory(tmp_path, monkeypatch):
    dataset = make_dataset(tmp_path / "ds", n_train=4, n_eval=2)
    _edit_config(dataset, str(dataset.root / "data" / "train-*.tfrecord"), "data/train-*.tfrecord")
    monkeypatch.chdir(dataset.root)
    assert [f.rule for f in tfod_doctor.check("pipeline.config")] == ["C013"]
    monkeypatch.chdir(tmp_path)
    report = tfod_doctor.check(dataset.config_path)
    (relative,) = report.by_rule("C019")
    assert "only from the config's folder" in relative.message
    assert report.stats["totals"]["records"] == 6  # the files are still checked


def test_input_paths_that_match_nothing_match_tensorflow_glob(tmp_path, tf_oracle):
    import tensorflow as tf

    dataset = make_dataset(tmp_path, n_train=4, n_eval=2)
    patterns = [str(dataset.root / "data" / "train-*.tfrecord"),
                str(dataset.root / "data" / "train.record-?????-of-00010"),
                str(dataset.root / "data" / "train-0000[0-1]-of-00002.tfrecord")]
    lines = "\n".join(f'    input_path: "{p}"' for p in patterns)
    _edit_config(dataset, f'    input_path: "{patterns[0]}"', lines)
    report = tfod_doctor.check(dataset.config_path)
    flagged = {f.message.split("'")[1] for f in report.by_rule("C018")}
    empty_in_tf = {p for p in patterns if not tf.io.gfile.glob(p)}
    assert flagged == empty_in_tf
    assert {f.severity for f in report.by_rule("C018")} == {Severity.DATA_LOSS}
    tf_files = sorted({f for p in patterns for f in tf.io.gfile.glob(p)})
    assert report.stats["config"]["readers"]["train"]["files"] == tf_files


def test_no_input_path_matching_is_an_error(tmp_path):
    dataset = make_dataset(tmp_path, n_train=4, n_eval=2)
    _edit_config(dataset, "eval-*.tfrecord", "evl-*.tfrecord")
    (nothing,) = tfod_doctor.check(dataset.config_path).by_rule("C018")
    assert nothing.severity is Severity.ERROR
    assert "Did not find any input files" in nothing.evidence["tensorflow"]


def test_checkpoint_prefix_as_tensorflow_reads_it(tmp_path, tf_oracle):
    import tensorflow as tf

    dataset = make_dataset(tmp_path, n_train=4, n_eval=2)
    folder = dataset.root / "checkpoint"
    for stale in folder.iterdir():
        stale.unlink()
    prefix = tf.train.Checkpoint(v=tf.Variable(1.0)).write(str(folder / "ckpt-0"))

    def object_based(path: str) -> bool:  # the OD API's own test (model_lib_v2)
        return "_CHECKPOINTABLE_OBJECT_GRAPH" in [name for name, _ in tf.train.list_variables(path)]

    assert object_based(prefix)
    assert tfod_doctor.check(dataset.config_path).by_rule("C010") == []
    _edit_config(dataset, 'ckpt-0"', 'ckpt-0.index"')
    assert not object_based(prefix + ".index")  # TensorFlow finds no variables in it
    (not_prefix,) = tfod_doctor.check(dataset.config_path).by_rule("C010")
    assert not_prefix.hint.endswith(str(folder / "ckpt-0"))
    assert "object-based checkpoint" in not_prefix.evidence["tensorflow"]
    _edit_config(dataset, 'ckpt-0.index"', 'ckpt-0.data-00000-of-00001"')
    with pytest.raises(tf.errors.DataLossError, match="not an sstable"):
        tf.train.list_variables(prefix + ".data-00000-of-00001")
    (data_file,) = tfod_doctor.check(dataset.config_path).by_rule("C010")
    assert "not an sstable" in data_file.evidence["tensorflow"]


def test_installed_api_message_is_shown_next_to_ours(tmp_path, monkeypatch):
    dataset = make_dataset(tmp_path, ["config_unknown_field"], n_train=4, n_eval=2)
    api = fake_od_api()
    monkeypatch.setattr(witness, "installed_api", lambda: api)
    report = tfod_doctor.check(dataset.config_path)
    (unknown,) = report.by_rule("C002")
    assert 'has no field named "input_paths"' in unknown.evidence["installed_od_api"]
    assert report.by_rule("C007") == []


def test_older_installed_api_is_version_skew(tmp_path, monkeypatch):
    dataset = make_dataset(tmp_path, n_train=4, n_eval=2)
    api = fake_od_api({"TrainConfig": {"fine_tune_checkpoint_version"}})
    monkeypatch.setattr(witness, "installed_api", lambda: api)
    (skew,) = tfod_doctor.check(dataset.config_path).by_rule("C007")
    assert "older than this config" in skew.hint
    assert skew.location.line == dataset.config_path.read_text().split("\n").index(
        "  fine_tune_checkpoint_version: V2") + 1


def test_cli_check_prints_the_source_line_with_a_caret(tmp_path, capsys):
    dataset = make_dataset(tmp_path, ["config_bad_enum"], n_train=4, n_eval=2)
    with pytest.raises(SystemExit) as done:
        main(["check", str(dataset.config_path)])
    assert done.value.code == 1
    out = capsys.readouterr().out
    assert "C003 bad-enum-value" in out
    source = next(line for line in out.splitlines() if "| " in line and "V3" in line)
    caret = out.splitlines()[out.splitlines().index(source) + 1]
    assert source[caret.index("^"):].startswith("V3")


def test_cli_check_json_output_and_fail_on(tmp_path, capsys):
    dataset = make_dataset(tmp_path, ["train_config_max_boxes_only"], n_train=4, n_eval=2)
    out = tmp_path / "report.json"
    with pytest.raises(SystemExit) as done:
        main(["check", str(dataset.config_path), "--format", "json", "-o", str(out)])
    assert done.value.code == 0  # a warning is below the default --fail-on data-loss
    assert json.loads(out.read_text())["rule_counts"] == {"C013": 1}
    with pytest.raises(SystemExit) as done:
        main(["check", str(dataset.config_path), "--fail-on", "warning", "--select", "C"])
    assert done.value.code == 1


def test_cli_check_missing_config_is_a_clean_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["check", str(tmp_path / "nope.config")])
    assert done.value.code == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_check_accepts_the_model_folder(clean, capsys, monkeypatch):
    monkeypatch.chdir(os.path.dirname(clean.config_path))
    with pytest.raises(SystemExit) as done:
        main(["check", "."])
    assert done.value.code == 0
