"""convert: each format, on inputs laid out as its tools write them, read back by TensorFlow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from convert_helpers import (
    CLASSES,
    COCO_IDS,
    assert_checks_clean,
    assert_records_match,
    read_label_map,
    run_cli,
    tf_samples,
)

import tfod_doctor
from tfod_doctor.testing import (
    annotated_images,
    write_coco,
    write_csv,
    write_voc,
    write_yolo,
)

pytestmark = pytest.mark.tf


def test_coco_cli_writes_records_tensorflow_reads(tmp_path, tf_oracle, capsys):
    images = annotated_images(16, CLASSES, seed=1)
    written = write_coco(tmp_path / "coco", images, COCO_IDS)
    out = tmp_path / "out"
    code, stdout, _ = run_cli(["convert", "coco", str(written.source), "--out", str(out),
                               "--eval-ratio", "0.25"], capsys)
    assert code == 0, stdout
    assert "train" in stdout and "eval" in stdout
    label_map = read_label_map(out / "label_map.pbtxt")
    # COCO ids 10, 17, 18 become 1, 2, 3 in id order; the manifest keeps the originals.
    assert label_map == {1: "traffic light", 2: "cat", 3: "dog"}
    manifest = json.loads((out / "conversion.json").read_text())
    assert [(c["id"], c["source_id"]) for c in manifest["categories"]] == [(1, 10), (2, 17),
                                                                            (3, 18)]
    train = sorted(out.glob("train-*-of-*.tfrecord"))
    evaluation = sorted(out.glob("eval-*-of-*.tfrecord"))
    assert [p.name for p in train] == ["train-00000-of-00001.tfrecord"]
    samples = assert_records_match(tf_oracle, train + evaluation, written,
                                   out / "label_map.pbtxt")
    assert len(tf_samples(tf_oracle, evaluation)) == 4
    # The OD API's COCO evaluation reads is_crowd and area: both are there, per box.
    for sample in samples.values():
        assert len(sample.parsed["image/object/area"]) == len(sample.boxes)
        assert sample.parsed["image/object/is_crowd"].tolist() == [0] * len(sample.boxes)
    reader = (out / "input_reader.config").read_text()
    assert f'input_path: "{(out / "train-?????-of-00001.tfrecord").resolve()}"' in reader
    assert "eval_input_reader {" in reader and "num_classes: 3" in reader
    assert_checks_clean(out)


def test_voc_as_labelimg_writes_it(tmp_path, tf_oracle):
    images = annotated_images(10, CLASSES, seed=2, decimals=0)
    written = write_voc(tmp_path / "labelimg", images)
    result = tfod_doctor.convert("voc", written.source, tmp_path / "out", num_shards=2)
    assert result.problems == [] and result.exit_code == 0
    assert [p.name for p in result.files] == ["train-00000-of-00002.tfrecord",
                                              "train-00001-of-00002.tfrecord"]
    # Classes named in the files, sorted: ids 1..N.
    assert read_label_map(result.label_map) == {1: "cat", 2: "dog", 3: "traffic light"}
    samples = assert_records_match(tf_oracle, result.files, written, result.label_map)
    # difficult is written (Pascal-style eval reads it); "Unspecified" poses are not stored.
    some = next(s for s in samples.values() if s.boxes)
    assert some.parsed["image/object/difficult"].tolist() == [0] * len(some.boxes)
    assert result.losses.counts == {}
    assert_checks_clean(result.out)


def test_voc_keeps_difficult_truncated_and_pose(tmp_path, tf_oracle):
    images = annotated_images(2, CLASSES, seed=3, decimals=0, negative_rate=0)
    written = write_voc(tmp_path / "voc", images)
    xml = written.source / images[0].name.replace(".jpg", ".xml").replace(".png", ".xml")
    text = xml.read_text().replace("<difficult>0</difficult>", "<difficult>1</difficult>", 1)
    text = text.replace("<pose>Unspecified</pose>", "<pose>Left</pose>", 1)
    xml.write_text(text.replace("<truncated>0</truncated>", "<truncated>1</truncated>", 1))
    result = tfod_doctor.convert("voc", written.source, tmp_path / "out")
    payloads, _ = tf_oracle.tf_read_records(result.files[0])
    spec = tf_oracle.od_feature_spec()
    import tensorflow as tf

    spec["image/object/truncated"] = tf.io.VarLenFeature(tf.int64)
    spec["image/object/view"] = tf.io.VarLenFeature(tf.string)
    parsed = {p["image/source_id"].decode(): p
              for p in (tf_oracle.tf_parse(payload, spec) for payload in payloads)}
    first = parsed[images[0].name]
    assert first["image/object/difficult"].tolist()[0] == 1
    assert first["image/object/truncated"].tolist()[0] == 1
    assert first["image/object/view"].tolist()[0] == b"Left"
    assert parsed[images[1].name]["image/object/view"].tolist()[0] == b"Unspecified"


def test_yolo_ultralytics_layout_with_its_splits(tmp_path, tf_oracle, capsys):
    train = annotated_images(8, CLASSES, seed=4)
    val = annotated_images(3, CLASSES, seed=5)
    for image in val:
        image.name = "val_" + image.name
    written = write_yolo(tmp_path / "yolo", {"train": train, "val": val}, CLASSES)
    out = tmp_path / "out"
    code, stdout, _ = run_cli(["convert", "yolo", str(written.source), "--out", str(out)],
                              capsys)
    assert code == 0, stdout
    # YOLO class numbers 0..2 become label-map ids 1..3, in the order data.yaml names them.
    assert read_label_map(out / "label_map.pbtxt") == {1: "cat", 2: "dog", 3: "traffic light"}
    files = sorted(out.glob("*.tfrecord"))
    samples = assert_records_match(tf_oracle, files, written, out / "label_map.pbtxt")
    evaluation = tf_samples(tf_oracle, sorted(out.glob("eval-*.tfrecord")))
    assert set(evaluation) == {f"images/val/{i.name}" for i in val}
    assert all(s.decoded_shape[:2] == (s.height, s.width) for s in samples.values())
    assert_checks_clean(out)


def test_yolo_labelimg_folder_with_classes_txt(tmp_path, tf_oracle):
    images = annotated_images(5, CLASSES, seed=6)
    written = write_yolo(tmp_path / "ds", {"train": images}, CLASSES, names_as_dict=False)
    folder = tmp_path / "labelimg"
    folder.mkdir()
    expected = {}
    for image in images:
        (folder / image.name).write_bytes(image.data)
        label = written.source.parent / "labels" / "train" / Path(image.name).with_suffix(".txt")
        if label.exists():
            (folder / label.name).write_text(label.read_text())
        expected[image.name] = written.expected[f"images/train/{image.name}"]
    (folder / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    written.expected = expected
    result = tfod_doctor.convert("yolo", folder, tmp_path / "out")
    assert result.exit_code == 0, result.problems
    assert_records_match(tf_oracle, result.files, written, result.label_map)


def test_csv_tutorial_layout_with_a_separate_eval_csv(tmp_path, tf_oracle, capsys):
    train = annotated_images(9, CLASSES, seed=7, decimals=0)
    test = annotated_images(4, CLASSES, seed=8, decimals=0, negative_rate=0)
    for image in test:
        image.name = "test_" + image.name
    written = write_csv(tmp_path, train, "train")
    written_test = write_csv(tmp_path, test, "test")
    out = tmp_path / "out"
    code, stdout, _ = run_cli(["convert", "csv", str(written.source), "--eval",
                               str(written_test.source), "--out", str(out)], capsys)
    assert code == 0, stdout
    written.expected.update(written_test.expected)
    files = sorted(out.glob("*.tfrecord"))
    assert {p.name for p in files} == {"train-00000-of-00001.tfrecord",
                                       "eval-00000-of-00001.tfrecord"}
    assert_records_match(tf_oracle, files, written, out / "label_map.pbtxt")
    assert set(tf_samples(tf_oracle, [out / "eval-00000-of-00001.tfrecord"])) == {
        i.name for i in test}
    assert_checks_clean(out)


def test_same_input_and_seed_give_byte_identical_output(tmp_path):
    written = write_coco(tmp_path / "coco", annotated_images(12, CLASSES, seed=9), COCO_IDS)

    def files(out: Path) -> dict[str, bytes]:
        tfod_doctor.convert("coco", written.source, out, eval_ratio=0.3, seed=5, num_shards=2,
                            workers=3)
        return {p.name: p.read_bytes() for p in sorted(out.iterdir())
                if p.name != "input_reader.config"}

    first, second = files(tmp_path / "a"), files(tmp_path / "b")
    assert first == second
    assert len(first) == 7  # 2 train shards, 2 eval shards, label map, manifest, their list
    other = tfod_doctor.convert("coco", written.source, tmp_path / "c", eval_ratio=0.3, seed=6,
                                num_shards=2)
    assert {p.name: p.read_bytes() for p in other.files} != {
        k: v for k, v in first.items() if k.endswith(".tfrecord")}


def test_shard_size_fills_files_in_order(tmp_path, tf_oracle):
    written = write_coco(tmp_path / "coco", annotated_images(10, CLASSES, seed=10), COCO_IDS)
    result = tfod_doctor.convert("coco", written.source, tmp_path / "out", shard_size="40KB")
    names = [p.name for p in result.files]
    count = len(names)
    assert count > 1
    assert names == [f"train-{i:05d}-of-{count:05d}.tfrecord" for i in range(count)]
    for path in result.files:
        # A shard only passes the size when one record alone is larger.
        assert path.stat().st_size <= 40_000 or len(tf_samples(tf_oracle, [path])) == 1
    assert_records_match(tf_oracle, result.files, written, result.label_map)


def test_the_reader_snippet_pasted_into_pipeline_config_checks_clean(tmp_path):
    """The input_reader.config blocks, label map and records pass `tfod-doctor check`."""
    from tfod_doctor.findings import Severity
    from tfod_doctor.testing import make_dataset

    zoo = make_dataset(tmp_path / "zoo", classes=tuple(CLASSES))
    written = write_coco(tmp_path / "coco", annotated_images(12, CLASSES, seed=14), COCO_IDS)
    result = tfod_doctor.convert("coco", written.source, tmp_path / "out", eval_ratio=0.25)
    text = zoo.config_path.read_text()
    readers = result.input_reader.read_text()
    config = (text[:text.index("train_input_reader {")]
              + text[text.index("eval_config {"):text.index("eval_input_reader {")] + readers)
    path = tmp_path / "pipeline.config"
    path.write_text(config)
    report = tfod_doctor.check(str(path))
    assert report.worst() in (None, Severity.INFO), report.rule_counts
    assert report.stats["totals"]["records"] == 12
