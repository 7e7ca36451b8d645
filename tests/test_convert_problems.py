"""convert on bad input: bad annotations skipped and reported, --strict, malformed files, lossy
conversions, EXIF rotation and images TensorFlow cannot decode."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from convert_helpers import (
    CLASSES,
    COCO_IDS,
    assert_checks_clean,
    read_label_map,
    run_cli,
    tf_samples,
)
from PIL import Image

import tfod_doctor
from tfod_doctor.converters import ProblemKind, Skipped
from tfod_doctor.errors import UserError
from tfod_doctor.testing import (
    annotated_images,
    make_image,
    write_coco,
    write_csv,
    write_voc,
    write_yolo,
)
from tfod_doctor.testing.images import encode_image

pytestmark = pytest.mark.tf


def _broken_coco(tmp_path):
    """A COCO dataset with one of each bad annotation; returns it and the index of each."""
    images = annotated_images(8, CLASSES, seed=20, negative_rate=0)
    written = write_coco(tmp_path / "coco", images, COCO_IDS)
    doc = json.loads(written.source.read_text())
    anns = doc["annotations"]

    def first_of(image: int) -> int:
        return next(i for i, a in enumerate(anns) if a["image_id"] == doc["images"][image]["id"])

    bad = {"box-outside-image": first_of(0), "unknown-category": first_of(3),
           "malformed-annotation": first_of(4), "degenerate-box": first_of(5)}
    width = doc["images"][0]["width"]
    anns[bad["box-outside-image"]]["bbox"] = [width - 10, 5, 40, 20]
    anns[bad["unknown-category"]]["category_id"] = 99
    anns[bad["malformed-annotation"]]["bbox"] = [10, 10, "wide", 5]
    anns[bad["degenerate-box"]]["bbox"] = [10, 10, 0, 5]
    anns.append({"id": 999, "image_id": 424242, "category_id": 17, "bbox": [1, 1, 2, 2],
                 "area": 4, "iscrowd": 0})
    bad["unknown-image"] = len(anns) - 1
    missing = doc["images"][1]["file_name"]
    (written.images_dir / missing).unlink()
    unreadable = doc["images"][2]["file_name"]
    (written.images_dir / unreadable).write_bytes(b"not an image at all")
    written.source.write_text(json.dumps(doc))
    return written, doc, bad, (missing, unreadable)


def test_bad_annotations_are_skipped_reported_and_the_rest_converted(tmp_path, tf_oracle,
                                                                       capsys):
    written, doc, bad, (missing, unreadable) = _broken_coco(tmp_path)
    out = tmp_path / "out"
    code, stdout, _ = run_cli(["convert", "coco", str(written.source), "--out", str(out)],
                              capsys)
    assert code == 1
    for kind, index in bad.items():
        line = next(line for line in stdout.splitlines() if f": {kind} (" in line)
        assert line.strip().startswith(f"{written.source} annotations[{index}]")
    manifest = json.loads((out / "conversion.json").read_text())
    problems = {p["kind"]: p for p in manifest["problems"]}
    for kind, index in bad.items():
        assert (problems[kind]["file"], problems[kind]["index"]) == (str(written.source), index)
        assert problems[kind]["skipped"] == "annotation"
    assert problems["missing-image"]["image"] == missing
    assert problems["missing-image"]["item"] == "images[1]"
    assert problems["missing-image"]["skipped"] == "image"
    assert problems["unreadable-image"]["image"] == unreadable
    assert manifest["skipped"]["images"] == 2
    # Everything else made it, and TensorFlow reads it.
    samples = tf_samples(tf_oracle, sorted(out.glob("*.tfrecord")))
    assert len(samples) == len(doc["images"]) - 2
    for image in (0, 3, 4, 5):
        image_id = doc["images"][image]["id"]
        boxes = sum(a["image_id"] == image_id for a in doc["annotations"])
        assert len(samples[str(image_id)].boxes) == boxes - 1
    assert_checks_clean(out)


def test_strict_stops_at_the_first_problem_and_writes_nothing(tmp_path, capsys):
    written, *_ = _broken_coco(tmp_path)
    out = tmp_path / "out"
    code, _, err = run_cli(["convert", "coco", str(written.source), "--out", str(out),
                            "--strict"], capsys)
    assert code == 1
    assert "--strict" in err and "Traceback" not in err
    assert not list(out.glob("*")) if out.exists() else True
    with pytest.raises(UserError) as raised:
        tfod_doctor.convert("coco", written.source, out, strict=True)
    assert raised.value.exit_code == 1


def test_strict_passes_a_clean_dataset(tmp_path):
    written = write_coco(tmp_path / "coco", annotated_images(4, CLASSES, seed=21), COCO_IDS)
    result = tfod_doctor.convert("coco", written.source, tmp_path / "out", strict=True)
    assert result.exit_code == 0


def test_malformed_json_names_file_line_and_column(tmp_path, capsys):
    path = tmp_path / "instances.json"
    path.write_text('{\n  "images": [\n    {"id": 1, "file_name": "a.jpg",}\n  ]\n}\n')
    code, _, err = run_cli(["convert", "coco", str(path), "--out", str(tmp_path / "out")],
                           capsys)
    assert code == 2
    assert f"{path}:3:" in err and "not valid JSON" in err and "Traceback" not in err


def test_a_malformed_xml_file_is_reported_with_its_line_and_the_rest_converted(tmp_path,
                                                                                tf_oracle):
    images = annotated_images(4, CLASSES, seed=22, decimals=0, negative_rate=0)
    written = write_voc(tmp_path / "voc", images)
    bad = written.source / images[1].name.rsplit(".", 1)[0]
    bad = bad.with_suffix(".xml")
    lines = bad.read_text().splitlines()
    lines[6] = lines[6].replace("</source>", "</sauce>")
    bad.write_text("\n".join(lines))
    result = tfod_doctor.convert("voc", written.source, tmp_path / "out")
    (problem,) = [p for p in result.problems if not p.is_note]
    assert problem.kind is ProblemKind.MALFORMED_FILE
    assert problem.where.file == str(bad) and problem.where.line == 7
    assert len(tf_samples(tf_oracle, result.files)) == 3


def test_malformed_yaml_names_its_line(tmp_path, capsys):
    written = write_yolo(tmp_path / "yolo", {"train": annotated_images(2, CLASSES)}, CLASSES)
    written.source.write_text("path: .\ntrain: images/train\nnames: [cat, dog\n")
    code, _, err = run_cli(["convert", "yolo", str(written.source), "--out",
                            str(tmp_path / "out")], capsys)
    assert code == 2 and f"{written.source}:" in err and "not valid YAML" in err


def test_csv_rows_with_problems_are_reported_by_line(tmp_path):
    folder = tmp_path / "images"
    (folder / "train").mkdir(parents=True)
    (folder / "train" / "a.jpg").write_bytes(make_image(64, 48))
    (folder / "train" / "b.jpg").write_bytes(make_image(64, 48, seed=1))
    csv = folder / "train_labels.csv"
    csv.write_text(
        "filename,width,height,class,xmin,ymin,xmax,ymax\n"
        "a.jpg,64,48,cat,1,2,30,40\n"
        "a.jpg,64,48,dog,x,2,30,40\n"
        "b.jpg,64,48,dog,10,10,80,40\n"
        "b.jpg,64,48,dog,40,10,20,30\n"
        "b.jpg,64,48\n"
    )
    result = tfod_doctor.convert("csv", csv, tmp_path / "out")
    found = {(p.kind, p.where.line) for p in result.problems}
    assert found == {(ProblemKind.MALFORMED_ANNOTATION, 3), (ProblemKind.BOX_OUTSIDE_IMAGE, 4),
                     (ProblemKind.DEGENERATE_BOX, 5), (ProblemKind.MALFORMED_ANNOTATION, 6)}
    assert result.splits["train"].boxes == 1 and result.splits["train"].images == 2


def test_clip_boxes_clips_instead_of_skipping(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(make_image(64, 48))
    csv = tmp_path / "labels.csv"
    csv.write_text("filename,width,height,class,xmin,ymin,xmax,ymax\n"
                   "a.jpg,64,48,cat,10,10,70,40\n")
    result = tfod_doctor.convert("csv", csv, tmp_path / "out", images=folder, clip_boxes=True)
    assert result.exit_code == 0 and result.splits["train"].boxes == 1
    assert [p.kind for p in result.problems] == [ProblemKind.CLIPPED_BOX]


def test_lossy_coco_needs_allow_lossy_and_says_what_is_lost(tmp_path, capsys):
    images = annotated_images(4, CLASSES, seed=23, negative_rate=0)
    written = write_coco(tmp_path / "coco", images, COCO_IDS, polygons=True)
    out = tmp_path / "out"
    code, _, err = run_cli(["convert", "coco", str(written.source), "--out", str(out)], capsys)
    assert code == 2 and "segmentation polygons" in err and "--allow-lossy" in err
    assert not out.exists()
    code, stdout, _ = run_cli(["convert", "coco", str(written.source), "--out", str(out),
                               "--allow-lossy"], capsys)
    assert code == 0 and "segmentation polygons" in stdout
    lost = json.loads((out / "conversion.json").read_text())["lost"]
    boxes = sum(len(i.boxes) for i in images)
    assert lost == [{"what": "segmentation polygons", "count": boxes}]


def test_yolo_segmentation_lines_become_boxes_when_lossy_is_allowed(tmp_path, tf_oracle):
    written = write_yolo(tmp_path / "yolo", {"train": annotated_images(2, CLASSES, seed=24,
                                                                       negative_rate=0)},
                         CLASSES)
    label = sorted((tmp_path / "yolo" / "labels" / "train").glob("*.txt"))[0]
    label.write_text("1 0.1 0.2 0.5 0.2 0.3 0.6\n")
    with pytest.raises(UserError, match="segmentation polygons"):
        tfod_doctor.convert("yolo", written.source, tmp_path / "out")
    result = tfod_doctor.convert("yolo", written.source, tmp_path / "out", allow_lossy=True)
    samples = tf_samples(tf_oracle, result.files)
    key = f"images/train/{label.stem}" + next(
        k for k in written.expected if k.startswith(f"images/train/{label.stem}"))[-4:]
    assert samples[key].boxes == [pytest.approx((0.2, 0.1, 0.6, 0.5), abs=1e-6)]
    assert samples[key].texts == ["dog"]


def test_yolo_unknown_class_and_label_without_image(tmp_path):
    written = write_yolo(tmp_path / "yolo", {"train": annotated_images(3, CLASSES, seed=25,
                                                                       negative_rate=0)},
                         CLASSES)
    labels = tmp_path / "yolo" / "labels" / "train"
    first = sorted(labels.glob("*.txt"))[0]
    first.write_text(first.read_text() + "7 0.5 0.5 0.2 0.2\n")
    (labels / "ghost.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    result = tfod_doctor.convert("yolo", written.source, tmp_path / "out")
    kinds = {p.kind: p for p in result.problems}
    unknown = kinds[ProblemKind.UNKNOWN_CATEGORY]
    assert unknown.where.file == str(first)
    assert unknown.where.line == len(first.read_text().splitlines())
    assert kinds[ProblemKind.MISSING_IMAGE].where.file == str(labels / "ghost.txt")
    assert result.exit_code == 1


def _displayed_and_stored(width: int = 60, height: int = 40) -> tuple[Image.Image, bytes]:
    """An image as a viewer shows it (a white block top-left) and its bytes as a phone stores
    them: pixels turned, EXIF orientation 6 (turn 90° clockwise to display)."""
    shown = Image.new("RGB", (width, height), (20, 40, 160))
    shown.paste((255, 255, 255), (4, 4, 24, 20))
    stored = shown.transpose(Image.Transpose.ROTATE_90)
    return shown, encode_image(stored, "jpeg", exif_orientation=6, quality=95)


def _voc_with_exif(tmp_path, declared: tuple[int, int]):
    _, data = _displayed_and_stored()
    folder = tmp_path / "voc"
    folder.mkdir()
    (folder / "phone.jpg").write_bytes(data)
    (folder / "phone.xml").write_text(
        f"<annotation><filename>phone.jpg</filename><size><width>{declared[0]}</width>"
        f"<height>{declared[1]}</height><depth>3</depth></size><object><name>block</name>"
        "<bndbox><xmin>4</xmin><ymin>4</ymin><xmax>24</xmax><ymax>20</ymax></bndbox>"
        "</object></annotation>")
    return folder


def test_exif_rotation_is_baked_in_when_the_boxes_are_in_the_rotated_frame(tmp_path, tf_oracle):
    import tensorflow as tf

    folder = _voc_with_exif(tmp_path, (60, 40))
    result = tfod_doctor.convert("voc", folder, tmp_path / "out")
    assert result.images_rotated == 1 and result.exit_code == 0
    (sample,) = tf_samples(tf_oracle, result.files).values()
    assert (sample.height, sample.width) == (40, 60)
    pixels = tf.io.decode_image(sample.parsed["image/encoded"], channels=3).numpy()
    ymin, xmin, ymax, xmax = sample.boxes[0]
    inside = pixels[round(ymin * 40) + 2:round(ymax * 40) - 2,
                    round(xmin * 60) + 2:round(xmax * 60) - 2]
    assert inside.mean() > 230  # TensorFlow sees the white block inside the box
    # Without baking, TensorFlow would decode the stored 40×60 pixels: the box would be wrong.
    stored = tf.io.decode_image((folder / "phone.jpg").read_bytes(), channels=3).numpy()
    assert stored.shape[:2] == (60, 40)


def test_exif_frame_follows_the_declared_size(tmp_path):
    folder = _voc_with_exif(tmp_path, (40, 60))
    result = tfod_doctor.convert("voc", folder, tmp_path / "out")
    assert result.images_rotated == 0 and result.exit_code == 0
    (tmp_path / "b").mkdir()
    ignored = tfod_doctor.convert("voc", _voc_with_exif(tmp_path / "b", (60, 40)),
                                  tmp_path / "out2", exif="ignore")
    (problem,) = ignored.problems
    assert problem.kind is ProblemKind.SIZE_MISMATCH and problem.skipped is Skipped.IMAGE
    assert "EXIF" in problem.message


def test_images_tensorflow_cannot_decode_are_stored_as_png(tmp_path, tf_oracle):
    images = annotated_images(3, CLASSES, seed=26, formats=("gif",), negative_rate=0)
    written = write_coco(tmp_path / "coco", images, COCO_IDS)
    result = tfod_doctor.convert("coco", written.source, tmp_path / "out")
    assert result.images_reencoded == 3
    assert {p.kind for p in result.problems} == {ProblemKind.REENCODED_IMAGE}
    for sample in tf_samples(tf_oracle, result.files).values():
        assert sample.parsed["image/format"] == b"png"
        assert sample.decoded_shape == (sample.height, sample.width, 3)
    assert_checks_clean(result.out)


def test_reencode_jpeg_stores_every_image_as_jpeg(tmp_path, tf_oracle):
    images = annotated_images(3, CLASSES, seed=27, formats=("png",))
    written = write_coco(tmp_path / "coco", images, COCO_IDS)
    result = tfod_doctor.convert("coco", written.source, tmp_path / "out", reencode="jpeg",
                                 quality=90)
    for sample in tf_samples(tf_oracle, result.files).values():
        assert sample.parsed["image/format"] == b"jpeg"
        assert sample.parsed["image/encoded"][:3] == b"\xff\xd8\xff"


def test_truncated_jpeg_is_an_unreadable_image(tmp_path):
    images = annotated_images(3, CLASSES, seed=28, formats=("jpeg",), negative_rate=0)
    written = write_coco(tmp_path / "coco", images, COCO_IDS)
    cut = written.images_dir / images[0].name
    cut.write_bytes(cut.read_bytes()[: len(cut.read_bytes()) // 2])
    result = tfod_doctor.convert("coco", written.source, tmp_path / "out")
    (problem,) = result.problems
    assert problem.kind is ProblemKind.UNREADABLE_IMAGE and problem.image == images[0].name


def test_similar_class_names_are_noted(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(make_image(64, 48))
    csv = tmp_path / "labels.csv"
    csv.write_text("filename,width,height,class,xmin,ymin,xmax,ymax\n"
                   "a.jpg,64,48,Dog,1,1,20,20\na.jpg,64,48,dog,5,5,30,30\n")
    result = tfod_doctor.convert("csv", csv, tmp_path / "out", images=folder)
    assert [p.kind for p in result.problems] == [ProblemKind.SIMILAR_NAMES]
    assert result.exit_code == 0


def test_classes_option_fixes_the_order_and_rejects_others(tmp_path):
    images = annotated_images(4, CLASSES, seed=29, decimals=0, negative_rate=0)
    written = write_voc(tmp_path / "voc", images)
    result = tfod_doctor.convert("voc", written.source, tmp_path / "out",
                                 classes=["traffic light", "dog"])
    assert read_label_map(result.label_map) == {1: "traffic light", 2: "dog"}
    cats = sum(b.name == "cat" for i in images for b in i.boxes)
    unknown = [p for p in result.problems if p.kind is ProblemKind.UNKNOWN_CATEGORY]
    assert len(unknown) == cats > 0


def test_label_map_names_are_quoted_for_protobuf(tmp_path):
    names = ['say "cheese"', "back\\slash", "café", "it's"]
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(make_image(64, 48))
    csv = tmp_path / "labels.csv"
    rows = "".join(f'a.jpg,64,48,"{n.replace(chr(34), chr(34) * 2)}",1,1,20,20\n'
                   for n in names)
    csv.write_text("filename,width,height,class,xmin,ymin,xmax,ymax\n" + rows)
    result = tfod_doctor.convert("csv", csv, tmp_path / "out", images=folder)
    assert sorted(read_label_map(result.label_map).values()) == sorted(names)


def test_keep_category_ids(tmp_path, tf_oracle):
    written = write_coco(tmp_path / "coco", annotated_images(4, CLASSES, seed=30), COCO_IDS)
    result = tfod_doctor.convert("coco", written.source, tmp_path / "out",
                                 keep_category_ids=True)
    assert read_label_map(result.label_map) == {v: k for k, v in COCO_IDS.items()}
    labels = {label for s in tf_samples(tf_oracle, result.files).values() for label in s.labels}
    assert labels <= set(COCO_IDS.values())


def test_roboflow_umbrella_category_is_left_out(tmp_path):
    written = write_coco(tmp_path / "coco", annotated_images(3, CLASSES, seed=31), COCO_IDS)
    doc = json.loads(written.source.read_text())
    doc["categories"].insert(0, {"id": 0, "name": "pets-xyz", "supercategory": "none"})
    for category in doc["categories"][1:]:
        category["supercategory"] = "pets-xyz"
    written.source.write_text(json.dumps(doc))
    result = tfod_doctor.convert("coco", written.source, tmp_path / "out")
    assert "pets-xyz" not in read_label_map(result.label_map).values()
    assert ProblemKind.DROPPED_CATEGORY in {p.kind for p in result.problems}


def test_refuses_to_overwrite_an_earlier_conversion(tmp_path, capsys):
    written = write_coco(tmp_path / "coco", annotated_images(3, CLASSES, seed=32), COCO_IDS)
    out = tmp_path / "out"
    tfod_doctor.convert("coco", written.source, out)
    code, _, err = run_cli(["convert", "coco", str(written.source), "--out", str(out)], capsys)
    assert code == 2 and "--overwrite" in err
    code, _, _ = run_cli(["convert", "coco", str(written.source), "--out", str(out),
                          "--overwrite", "--num-shards", "2"], capsys)
    assert code == 0
    assert sorted(p.name for p in out.glob("*.tfrecord")) == [
        "train-00000-of-00002.tfrecord", "train-00001-of-00002.tfrecord"]


def test_missing_image_folder_is_one_clear_error(tmp_path, capsys):
    written = write_coco(tmp_path / "coco", annotated_images(3, CLASSES, seed=33), COCO_IDS)
    for path in written.images_dir.iterdir():
        path.rename(tmp_path / path.name)
    code, _, err = run_cli(["convert", "coco", str(written.source), "--out",
                            str(tmp_path / "out")], capsys)
    assert code == 2 and "--images" in err
    code, _, _ = run_cli(["convert", "coco", str(written.source), "--out",
                          str(tmp_path / "out"), "--images", str(tmp_path)], capsys)
    assert code == 0


def test_many_boxes_raise_max_number_of_boxes_in_the_reader_snippet(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "crowd.jpg").write_bytes(make_image(200, 200))
    rows = "".join(f"crowd.jpg,200,200,person,{i},{i},{i + 50},{i + 50}\n" for i in range(120))
    csv = tmp_path / "labels.csv"
    csv.write_text("filename,width,height,class,xmin,ymin,xmax,ymax\n" + rows)
    result = tfod_doctor.convert("csv", csv, tmp_path / "out", images=folder)
    assert "max_number_of_boxes: 120" in result.input_reader.read_text()


def test_the_package_exposes_convert_and_export_functions():
    import tfod_doctor.converters.coco as coco_module
    from tfod_doctor.converters import coco

    assert callable(tfod_doctor.convert) and callable(tfod_doctor.export)
    assert coco_module is coco and coco.FORMAT == "coco"


def test_grayscale_and_16_bit_images_convert_to_what_tensorflow_reads(tmp_path, tf_oracle):
    gray16 = Image.fromarray(np.arange(48 * 64, dtype=np.uint16).reshape(48, 64) * 20)
    buffer = io.BytesIO()
    gray16.save(buffer, "PNG")
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "deep.png").write_bytes(buffer.getvalue())
    csv = tmp_path / "labels.csv"
    csv.write_text("filename,width,height,class,xmin,ymin,xmax,ymax\n"
                   "deep.png,64,48,cat,1,1,20,20\n")
    kept = tfod_doctor.convert("csv", csv, tmp_path / "kept", images=folder)
    (sample,) = tf_samples(tf_oracle, kept.files).values()
    assert sample.decoded_shape == (48, 64, 3)
    converted = tfod_doctor.convert("csv", csv, tmp_path / "jpeg", images=folder,
                                    reencode="jpeg")
    (sample,) = tf_samples(tf_oracle, converted.files).values()
    assert sample.decoded_shape == (48, 64, 3)


def test_boxes_of_a_resized_image_are_scaled_to_it(tmp_path, tf_oracle):
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "small.jpg").write_bytes(make_image(320, 240))
    csv = tmp_path / "labels.csv"
    csv.write_text("filename,width,height,class,xmin,ymin,xmax,ymax\n"
                   "small.jpg,1280,960,cat,128,96,640,480\n")
    result = tfod_doctor.convert("csv", csv, tmp_path / "out", images=folder)
    assert [p.kind for p in result.problems] == [ProblemKind.RESCALED_BOXES]
    (sample,) = tf_samples(tf_oracle, result.files).values()
    assert sample.boxes == [pytest.approx((0.1, 0.1, 0.5, 0.5), abs=1e-6)]
    assert sample.parsed["image/object/area"].tolist() == pytest.approx([128 * 96])


def test_voc_devkit_layout(tmp_path, tf_oracle):
    images = annotated_images(3, CLASSES, seed=34, decimals=0)
    written = write_voc(tmp_path / "flat", images)
    devkit = tmp_path / "VOC2012"
    (devkit / "Annotations").mkdir(parents=True)
    (devkit / "JPEGImages").mkdir()
    for path in written.source.iterdir():
        target = "Annotations" if path.suffix == ".xml" else "JPEGImages"
        path.rename(devkit / target / path.name)
    result = tfod_doctor.convert("voc", devkit, tmp_path / "out")
    assert result.exit_code == 0, result.problems
    assert set(tf_samples(tf_oracle, result.files)) == set(written.expected)


def test_roboflow_style_data_yaml_with_parent_paths(tmp_path, tf_oracle):
    """Roboflow writes ``train: ../train/images`` beside train/ and valid/ folders."""
    root = tmp_path / "roboflow"
    train = annotated_images(3, CLASSES, seed=35)
    written = write_yolo(tmp_path / "ultra", {"train": train}, CLASSES)
    (root / "train").mkdir(parents=True)
    (tmp_path / "ultra" / "images" / "train").rename(root / "train" / "images")
    (tmp_path / "ultra" / "labels" / "train").rename(root / "train" / "labels")
    (root / "data.yaml").write_text(f"train: ../train/images\nval: ../train/images\n"
                                    f"nc: 3\nnames: {CLASSES}\n")
    result = tfod_doctor.convert("yolo", root / "data.yaml", tmp_path / "out")
    duplicates = [p for p in result.problems if p.kind is ProblemKind.DUPLICATE_IMAGE]
    assert len(duplicates) == 3 and result.exit_code == 0
    samples = tf_samples(tf_oracle, result.files)
    assert set(samples) == {f"train/images/{i.name}" for i in train}
    assert len(written.expected) == 3


def test_an_image_in_both_train_and_eval_sources_is_converted_once(tmp_path):
    images = annotated_images(3, CLASSES, seed=36, decimals=0, negative_rate=0)
    train = write_csv(tmp_path, images, "train")
    test = write_csv(tmp_path, images[:1], "test")
    result = tfod_doctor.convert("csv", train.source, tmp_path / "out", eval_source=test.source)
    (problem,) = result.problems
    assert problem.kind is ProblemKind.DUPLICATE_IMAGE and problem.image == images[0].name
    assert problem.where.file == str(test.source)
    assert "eval" not in result.splits and result.splits["train"].images == 3


def test_an_existing_label_map_keeps_its_ids(tmp_path, tf_oracle, capsys):
    images = annotated_images(5, CLASSES, seed=37, decimals=0, negative_rate=0)
    written = write_csv(tmp_path, images, "train")
    label_map = tmp_path / "label_map.pbtxt"
    label_map.write_text("item {\n  id: 4\n  name: 'dog'\n}\nitem {\n  id: 9\n  name: 'cat'\n}\n")
    out = tmp_path / "out"
    code, stdout, _ = run_cli(["convert", "csv", str(written.source), "--out", str(out),
                               "--label-map", str(label_map)], capsys)
    lights = sum(b.name == "traffic light" for i in images for b in i.boxes)
    assert code == (1 if lights else 0)
    assert stdout.count("unknown-category") == lights
    assert read_label_map(out / "label_map.pbtxt") == {4: "dog", 9: "cat"}
    for sample in tf_samples(tf_oracle, sorted(out.glob("*.tfrecord"))).values():
        assert sample.labels == [{"dog": 4, "cat": 9}[t] for t in sample.texts]


def test_a_broken_label_map_is_refused_with_its_line(tmp_path, capsys):
    written = write_csv(tmp_path, annotated_images(2, CLASSES, seed=38, decimals=0), "train")
    label_map = tmp_path / "label_map.pbtxt"
    label_map.write_text("item {\n  id: 1\n  name: 'dog'\n\nitem {\n  id: 2\n  name: 'cat'\n}\n")
    code, _, err = run_cli(["convert", "csv", str(written.source), "--out",
                            str(tmp_path / "out"), "--label-map", str(label_map)], capsys)
    assert code == 2 and f"{label_map}:" in err and "Traceback" not in err
