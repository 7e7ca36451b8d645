"""export coco: records back to COCO JSON and images; COCO → TFRecord → COCO keeps every box."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from convert_helpers import CLASSES, COCO_IDS, run_cli

import tfod_doctor
from tfod_doctor.converters.coco import to_pixels, to_span
from tfod_doctor.records import encode_example, write_records
from tfod_doctor.testing import annotated_images, make_dataset, make_image, write_coco

pytestmark = pytest.mark.tf


def _coco(path):
    from pycocotools.coco import COCO

    return COCO(str(path))


def _boxes_by_image(coco) -> dict[int, list[tuple[int, list[float]]]]:
    boxes: dict[int, list] = {}
    for ann in coco.dataset["annotations"]:
        boxes.setdefault(ann["image_id"], []).append((ann["category_id"], ann["bbox"],
                                                      ann["iscrowd"], ann["area"]))
    return {k: sorted(v, key=lambda a: (a[0], a[1])) for k, v in boxes.items()}


def test_coco_round_trip_keeps_every_box_and_category(tmp_path, capsys):
    images = annotated_images(14, CLASSES, seed=11, max_boxes=6)
    written = write_coco(tmp_path / "coco", images, COCO_IDS)
    doc = json.loads(written.source.read_text())
    doc["categories"].append({"id": 44, "name": "bottle", "supercategory": "kitchen"})
    doc["annotations"][0]["iscrowd"] = 1
    written.source.write_text(json.dumps(doc))
    records = tmp_path / "records"
    tfod_doctor.convert("coco", written.source, records, eval_ratio=0.3)
    code, stdout, _ = run_cli(["export", "coco", str(records), "--out",
                               str(tmp_path / "back")], capsys)
    assert code == 0, stdout
    original, back = _coco(written.source), _coco(tmp_path / "back" / "annotations.json")
    # Every category, with its original id, name and supercategory (the unused one too).
    assert back.dataset["categories"] == sorted(doc["categories"], key=lambda c: c["id"])
    assert back.dataset["info"] == doc["info"] and back.dataset["licenses"] == doc["licenses"]
    assert {i["id"]: (i["file_name"], i["width"], i["height"]) for i in back.dataset["images"]} \
        == {i["id"]: (i["file_name"], i["width"], i["height"]) for i in doc["images"]}
    want, got = _boxes_by_image(original), _boxes_by_image(back)
    assert set(got) == set(want)
    worst = 0.0
    for image_id, boxes in want.items():
        assert len(got[image_id]) == len(boxes)
        for (cat, bbox, crowd, area), (cat2, bbox2, crowd2, area2) in zip(
                boxes, got[image_id], strict=True):
            assert (cat, crowd) == (cat2, crowd2)
            worst = max(worst, *(abs(a - b) for a, b in zip(bbox, bbox2, strict=True)))
            assert area2 == pytest.approx(area, rel=1e-6)
    assert worst <= 1e-6
    for image in back.dataset["images"]:
        exported = (tmp_path / "back" / "images" / image["file_name"]).read_bytes()
        assert exported == (written.images_dir / image["file_name"]).read_bytes()


def test_pycocotools_scores_the_exported_ground_truth_perfectly(tmp_path):
    from pycocotools.cocoeval import COCOeval

    written = write_coco(tmp_path / "coco", annotated_images(10, CLASSES, seed=12), COCO_IDS)
    tfod_doctor.convert("coco", written.source, tmp_path / "records")
    tfod_doctor.export("coco", [str(tmp_path / "records")], tmp_path / "back")
    original = _coco(written.source)
    back = _coco(tmp_path / "back" / "annotations.json")
    detections = [{"image_id": a["image_id"], "category_id": a["category_id"],
                   "bbox": a["bbox"], "score": 1.0} for a in back.dataset["annotations"]]
    evaluation = COCOeval(original, original.loadRes(detections), "bbox")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)


def test_arbitrary_float_boxes_come_back_within_float32(tmp_path):
    """Pixel values with many decimals: float32 storage bounds the change (1e-6 of the size)."""
    rng = random.Random(13)
    images = annotated_images(6, CLASSES, seed=13, negative_rate=0)
    for image in images:
        for box in image.boxes:
            box.xmin += rng.random() * 1e-3
            box.ymin += rng.random() * 1e-3
    written = write_coco(tmp_path / "coco", images, COCO_IDS)
    result = tfod_doctor.convert("coco", written.source, tmp_path / "records")
    tfod_doctor.export("coco", [str(p) for p in result.files], tmp_path / "back")
    original, back = _coco(written.source), _coco(tmp_path / "back" / "annotations.json")
    sizes = {i["id"]: (i["width"], i["height"]) for i in original.dataset["images"]}
    want, got = _boxes_by_image(original), _boxes_by_image(back)
    worst = 0.0
    for image_id, boxes in want.items():
        width, height = sizes[image_id]
        for (_, bbox, _, _), (_, bbox2, _, _) in zip(boxes, got[image_id], strict=True):
            x, y, w, h = bbox
            x2, y2, w2, h2 = bbox2
            worst = max(worst, abs(x - x2) / width, abs(y - y2) / height,
                        abs(x + w - x2 - w2) / width, abs(y + h - y2 - h2) / height)
    assert 0 < worst <= 1e-6
    # The manifest says how far float32 storage moved a corner, in pixels.
    assert 0 < result.max_rounding_px < 1e-3


@pytest.mark.parametrize("size", [48, 333, 640, 4000])
def test_to_pixels_inverts_the_writer_for_two_decimal_values(size):
    rng = random.Random(size)
    for _ in range(500):
        x = round(rng.uniform(0, size * 0.9), 2)
        w = round(rng.uniform(0.01, size - x), 2)
        stored_min = float(np.float32(x / size))
        stored_max = float(np.float32((x + w) / size))
        back_x = to_pixels(stored_min, size)
        assert abs(back_x - x) <= 1e-6 * size
        assert abs(to_span(back_x, stored_max, size) - w) <= 1e-6 * size


def test_export_of_records_not_made_by_convert(tmp_path, tf_oracle):
    """Records written by TensorFlow itself, without a manifest: ids from class/label."""
    dataset = make_dataset(tmp_path / "ds", writer="tf", n_train=6, n_eval=0, train_shards=1)
    result = tfod_doctor.export("coco", [str(p) for p in dataset.train_files], tmp_path / "coco")
    assert result.exit_code == 0
    doc = json.loads(result.annotations_file.read_text())
    assert {c["name"] for c in doc["categories"]} <= set(dataset.classes)
    samples = [s for slots in dataset.samples.values() for s in slots]
    assert len(doc["images"]) == len(samples)
    assert len(doc["annotations"]) == sum(len(s.boxes) for s in samples)
    assert any("no conversion.json" in note for note in result.notes)


def test_export_skips_damaged_records_and_goes_on(tmp_path, capsys):
    dataset = make_dataset(tmp_path / "ds", ["bad_payload_crc"], n_train=8, n_eval=0,
                           train_shards=1)
    code, stdout, _ = run_cli(["export", "coco", str(dataset.train_files[0]), "--out",
                               str(tmp_path / "coco")], capsys)
    assert code == 1
    assert "damaged-record" in stdout
    doc = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    assert len(doc["images"]) == 7
    code, stdout, err = run_cli(["export", "coco", str(dataset.train_files[0]), "--out",
                                 str(tmp_path / "strict"), "--strict"], capsys)
    assert code == 1 and "--strict" in err and not (tmp_path / "strict" / "annotations.json"
                                                     ).exists()


def test_export_is_lossy_for_features_coco_cannot_hold(tmp_path, capsys):
    image = make_image(32, 24)
    features = {"image/encoded": image, "image/source_id": "1", "image/height": 24,
                "image/width": 32, "image/object/bbox/ymin": [0.1], "image/object/bbox/xmin":
                [0.1], "image/object/bbox/ymax": [0.5], "image/object/bbox/xmax": [0.5],
                "image/object/class/label": [1], "image/object/class/text": ["cat"],
                "image/object/mask": [0.0] * (24 * 32)}
    path = tmp_path / "masks.tfrecord"
    write_records(path, [encode_example(features)])
    code, _, err = run_cli(["export", "coco", str(path), "--out", str(tmp_path / "out")],
                           capsys)
    assert code == 2 and "image/object/mask" in err and "--allow-lossy" in err
    assert not (tmp_path / "out" / "annotations.json").exists()
    code, stdout, _ = run_cli(["export", "coco", str(path), "--out", str(tmp_path / "out"),
                               "--allow-lossy"], capsys)
    assert code == 0 and "image/object/mask" in stdout


def test_export_takes_category_names_from_a_label_map(tmp_path):
    features = {"image/encoded": make_image(32, 24), "image/source_id": "7",
                "image/object/bbox/ymin": [0.25], "image/object/bbox/xmin": [0.25],
                "image/object/bbox/ymax": [0.5], "image/object/bbox/xmax": [0.5],
                "image/object/class/label": [2]}
    path = tmp_path / "plain.tfrecord"
    write_records(path, [encode_example(features)])
    label_map = tmp_path / "label_map.pbtxt"
    label_map.write_text('item { id: 1 name: "cat" }\nitem { id: 2 name: "dog" }\n')
    result = tfod_doctor.export("coco", str(path), tmp_path / "coco", label_map=label_map)
    doc = json.loads(result.annotations_file.read_text())
    assert doc["categories"] == [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
    assert doc["annotations"][0]["bbox"] == [8, 6, 8, 6]
    assert doc["images"][0]["id"] == 7
