"""``fix`` against TensorFlow: records written by TF's own writer, repaired, and read back by
``tf.io.parse_single_example`` with the OD API's feature spec to the boxes and classes the
dataset was made with (within 1e-6)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tfod_doctor.api import check, fix
from tfod_doctor.cli import main
from tfod_doctor.errors import UserError
from tfod_doctor.odapi import features as K
from tfod_doctor.repair import MANIFEST
from tfod_doctor.testing import make_dataset
from tfod_doctor.testing.defects.foreign import LAYOUT_DEFECTS

SNIPPET = ["tutorial_records", "config_feature_map"]


def parsed_outputs(tf_oracle, out: Path):
    """(input sample key, index) -> TF's parse of the repaired record, via the manifest."""
    cache: dict[str, list[bytes]] = {}
    parsed = {}
    for line in (out / MANIFEST).read_text().splitlines():
        entry = json.loads(line)
        if "output" not in entry:
            continue
        if entry["output"] not in cache:
            payloads, error = tf_oracle.tf_read_records(out / entry["output"])
            assert error is None
            cache[entry["output"]] = payloads
        payload = cache[entry["output"]][entry["output_index"]]
        key = f"data/{Path(entry['input']).name}"
        parsed[(key, entry["index"])] = tf_oracle.tf_parse(payload)
    return parsed


def assert_decodes_to_the_samples(tf_oracle, dataset, out: Path, label_ids=None,
                                  with_texts: bool = False) -> int:
    """Every repaired record parses to its sample's boxes and class ids; returns boxes seen."""
    label_ids = label_ids or {item.name: item.id for item in dataset.label_items}
    # The pixel_boxes defect writes pixels to 0.1 pixel: that much is lost before the fix.
    in_pixels = {(f"data/{Path(p.file).name}", p.record)
                 for p in dataset.planted_for("pixel_boxes")}
    boxes_seen = 0
    for (key, index), parsed in parsed_outputs(tf_oracle, out).items():
        sample = dataset.samples[key][index]
        expected = np.array([[b.ymin, b.xmin, b.ymax, b.xmax] for b in sample.boxes]
                            ).reshape(-1, 4)
        got = np.stack([parsed[k] for k in K.BOX_KEYS], axis=1).reshape(-1, 4)
        tolerance = 1e-6 + (0.05 / min(sample.width, sample.height)
                            if (key, index) in in_pixels else 0)
        np.testing.assert_allclose(got, expected, atol=tolerance, rtol=0,
                                   err_msg=f"{key} record {index}")
        assert parsed[K.LABEL].tolist() == [label_ids[b.text] for b in sample.boxes]
        if with_texts:
            assert [t.decode() for t in parsed[K.TEXT].tolist()] == [b.text for b in sample.boxes]
        boxes_seen += len(sample.boxes)
    return boxes_seen


def test_record_defects_written_by_tensorflow_decode_to_the_true_boxes(tmp_path, tf_oracle):
    defects = ["pixel_boxes", "inverted_box", "float_labels", "misspelled_box_keys",
               "text_only_records", "wrong_stored_size", "two_heights"]
    dataset = make_dataset(tmp_path / "in", defects, writer="tf", n_train=12, n_eval=4)
    before = check(dataset.config_path)
    assert {"B005", "B006", "F003", "F002", "F004"} <= set(before.rule_counts)

    result = fix(dataset.config_path, tmp_path / "out", apply=True)

    assert result.records.records_out == 16
    assert assert_decodes_to_the_samples(tf_oracle, dataset, tmp_path / "out") > 20
    after = check(tmp_path / "out" / "pipeline.config")
    assert not [f for f in after if f.severity >= f.severity.WARNING]


def test_the_tutorial_snippet_fixed_with_the_layout_asked_for(tmp_path, tf_oracle):
    dataset = make_dataset(tmp_path / "in", SNIPPET, writer="tf", n_train=12, n_eval=4)
    with pytest.raises(UserError, match=r"--box-layout xyxy\|yxyx") as asked:
        fix(dataset.config_path, tmp_path / "out", apply=True)
    assert "yxyx/normalized" in str(asked.value) and "xyxy/normalized" in str(asked.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("*.tfrecord"))

    result = fix(dataset.config_path, tmp_path / "out", apply=True, box_layout="yxyx",
                 box_units="normalized", overwrite=True)

    assert result.records.layout == "yxyx/normalized"
    assert assert_decodes_to_the_samples(tf_oracle, dataset, tmp_path / "out",
                                         with_texts=True) > 10
    fixed_config = (tmp_path / "out" / "pipeline.config").read_text()
    assert "input_features" not in fixed_config and "feature_map" not in fixed_config
    after = check(tmp_path / "out" / "pipeline.config")
    assert not {"C002", "F008", "F009", "B013", "F002"} & set(after.rule_counts)
    assert not [f for f in after if f.severity >= f.severity.WARNING]


@pytest.mark.parametrize("name", sorted(LAYOUT_DEFECTS))
def test_one_fitting_layout_is_used_without_asking(name, tmp_path, tf_oracle):
    _, layout, units = LAYOUT_DEFECTS[name]
    dataset = make_dataset(tmp_path / "in", [name], writer="tf", n_train=16, n_eval=2,
                           varied=True)
    result = fix(dataset.config_path, tmp_path / "out", apply=True)
    assert result.records.layout == f"{layout}/{units}"
    changes = [json.loads(line)["changes"] for line in
               (tmp_path / "out" / MANIFEST).read_text().splitlines()]
    assert any(f"read as {layout}/{units}" in c["detail"] for cs in changes for c in cs)
    assert assert_decodes_to_the_samples(tf_oracle, dataset, tmp_path / "out") > 10


def test_cli_stops_and_asks_for_the_layout(tmp_path, capsys):
    dataset = make_dataset(tmp_path / "in", SNIPPET, n_train=6, n_eval=2)
    with pytest.raises(SystemExit) as done:
        main(["fix", str(dataset.config_path), "--out", str(tmp_path / "out"), "--apply"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "--box-layout" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as done:
        main(["fix", str(dataset.config_path), "--out", str(tmp_path / "out"), "--apply",
              "--box-layout", "yxyx", "--box-units", "normalized", "--overwrite"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "flat box lists read as yxyx/normalized" in out
    assert "-  input_features {" in out  # the config diff drops the invented block
