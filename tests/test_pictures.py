"""Pictures of records (shared by the HTML report, the notebook view and ``tfod-doctor show``):
images decoded as TensorFlow decodes them, boxes where the OD API puts them."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from report_helpers import records_of

from tfod_doctor.cli import app, main
from tfod_doctor.records import (
    Bytes,
    FeatureView,
    Floats,
    Ints,
    NoRecordHere,
    RecordReader,
    encode_example,
    read_record_at,
)
from tfod_doctor.report.pictures import (
    BAD,
    PALETTE,
    DrawnBox,
    box_name,
    decode_image,
    draw_record,
    grid,
)
from tfod_doctor.testing import make_dataset, make_image
from tfod_doctor.testing.images import draw_image, encode_image


def _view(image: bytes, boxes: list[tuple[float, float, float, float]], labels: list[int],
          width: int = 200, height: int = 100) -> FeatureView:
    features = {
        "image/encoded": Bytes([image]),
        "image/width": Ints([width]),
        "image/height": Ints([height]),
        "image/object/bbox/ymin": Floats([b[0] for b in boxes]),
        "image/object/bbox/xmin": Floats([b[1] for b in boxes]),
        "image/object/bbox/ymax": Floats([b[2] for b in boxes]),
        "image/object/bbox/xmax": Floats([b[3] for b in boxes]),
        "image/object/class/label": Ints(labels),
        "image/object/class/text": Bytes([f"class{n}" for n in labels]),
    }
    return FeatureView.from_payload(encode_example(features))


def _grey(width: int = 200, height: int = 100) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (128, 128, 128)).save(buffer, "PNG")
    return buffer.getvalue()


def _near(pixel, colour, tolerance: int = 30) -> bool:
    return sum(abs(a - b) for a, b in zip(pixel[:3], colour, strict=True)) < tolerance


def test_boxes_are_drawn_where_the_od_api_puts_them():
    view = _view(_grey(), [(0.2, 0.1, 0.8, 0.5), (0.1, 0.6, 0.5, 0.9)], [1, 2])
    picture = draw_record(view, max_side=200)
    assert picture.size == (200, 100)
    # box 0: ymin 0.2 -> row 20, xmin 0.1 -> column 20, xmax 0.5 -> column 100
    assert _near(picture.getpixel((20, 50)), PALETTE[1])
    assert _near(picture.getpixel((100, 50)), PALETTE[1])
    assert _near(picture.getpixel((60, 79)), PALETTE[1])
    assert _near(picture.getpixel((60, 50)), (128, 128, 128))  # inside is left as it is
    assert _near(picture.getpixel((120, 30)), PALETTE[2])


def test_the_offending_boxes_are_red_and_the_others_are_not():
    view = _view(_grey(), [(0.2, 0.1, 0.8, 0.5), (0.1, 0.6, 0.5, 0.9)], [1, 2])
    picture = draw_record(view, max_side=200, bad={1})
    assert _near(picture.getpixel((120, 30)), BAD)
    assert _near(picture.getpixel((20, 50)), PALETTE[1])


def test_pixel_coordinates_pile_up_in_the_corner_as_training_sees_them():
    view = _view(_grey(), [(20.0, 40.0, 80.0, 160.0)], [1])
    picture = np.asarray(draw_record(view, max_side=200), dtype=int)
    coloured = np.abs(picture - np.array(PALETTE[1])).sum(axis=2) < 30
    _, columns = np.nonzero(coloured)
    assert coloured[99, 199]  # the box is a dot in the bottom-right corner
    assert columns.min() >= 195  # (its name tag sits just above it)


def test_labels_are_named_from_the_label_map_first():
    box = DrawnBox(0, 0, 1, 1, label=2, text="dgo")
    assert box_name(box, {1: "cat", 2: "dog"}) == "dog"
    assert box_name(box, None) == "dgo"
    assert box_name(DrawnBox(0, 0, 1, 1, label=7), {1: "cat"}) == "id 7?"
    assert box_name(DrawnBox(0, 0, 1, 1, label=7), None) == "id 7"


@pytest.mark.parametrize("fmt,mode", [("jpeg", "RGB"), ("jpeg", "CMYK"), ("jpeg", "L"),
                                      ("png", "RGBA"), ("png", "P"), ("png", "I;16"),
                                      ("bmp", "RGB"), ("gif", "P"), ("webp", "RGB")])
def test_every_image_mode_decodes_to_rgb_at_its_size(fmt, mode):
    image = decode_image(make_image(48, 32, fmt, mode))
    assert image is not None and image.mode == "RGB" and image.size == (48, 32)


@pytest.mark.tf
def test_images_are_not_rotated_by_exif_as_tensorflow_does_not(tf_oracle):
    import tensorflow as tf

    data = encode_image(draw_image(60, 30), "jpeg", exif_orientation=6)
    decoded = tf.io.decode_image(data).shape
    assert decode_image(data).size == (decoded[1], decoded[0]) == (60, 30)


def test_a_record_without_a_decodable_image_gets_a_placeholder_with_its_boxes():
    view = _view(b"\xff\xd8\xff not really a jpeg", [(0.1, 0.1, 0.9, 0.9)], [1], 300, 150)
    picture = draw_record(view, max_side=240)
    assert picture.size == (240, 120)
    assert _near(picture.getpixel((int(0.1 * 240), 60)), PALETTE[1])


def test_grid_puts_pictures_in_rows_with_captions():
    pictures = [Image.new("RGB", (100, 50), (200, 0, 0)) for _ in range(5)]
    sheet = grid(pictures, [f"record {i}" for i in range(5)], cell=100)
    assert sheet.size == (3 * 108 + 8, 2 * 128 + 8)
    with pytest.raises(ValueError):
        grid([], [])


# -- reading one record at a known offset ---------------------------------------------------------


@pytest.mark.tf
def test_read_record_at_reads_what_tensorflow_wrote(tmp_path, tf_oracle):
    dataset = make_dataset(tmp_path, writer="tf", n_train=6, n_eval=2)
    path = dataset.train_files[0]
    tf_payloads, error = tf_oracle.tf_read_records(path)
    assert error is None
    with open(path, "rb") as file:
        records = list(RecordReader(file, path.stat().st_size, str(path)))
        assert [r.payload for r in records] == tf_payloads
        for record in records:
            again = read_record_at(file, str(path), record.offset, record.index)
            assert again == record


def test_read_record_at_refuses_damage_unless_asked(tmp_path):
    dataset = make_dataset(tmp_path, ["bad_payload_crc"], n_train=6, n_eval=2)
    planted = dataset.planted_for("bad_payload_crc")[0]
    path = dataset.file(planted.file)
    start = int(planted.note.split()[-1]) - 12  # the defect notes TensorFlow's offset, start + 12
    with open(path, "rb") as file:
        with pytest.raises(NoRecordHere, match="fails its CRC"):
            read_record_at(file, planted.file, start)
        damaged = read_record_at(file, planted.file, start, verify_payload=False)
        samples = next(v for k, v in dataset.samples.items() if planted.file.endswith(k))
        sample = samples[planted.record]
        original = encode_example(sample.features())  # the payload as written, before the flip
        differ = [i for i, (a, b) in enumerate(zip(damaged.payload, original, strict=True))
                  if a != b]
        assert differ == [5]
        with pytest.raises(NoRecordHere, match="no record header"):
            read_record_at(file, planted.file, start + 1)
        with pytest.raises(NoRecordHere, match="ends before"):
            read_record_at(file, planted.file, path.stat().st_size - 3)


# -- tfod-doctor show -----------------------------------------------------------------------------


def _run(args: list[str]):
    return CliRunner().invoke(app, args, standalone_mode=False)


def test_show_index_draws_that_record(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dataset = make_dataset("ds", varied=True, n_train=8, n_eval=2)
    path = str(dataset.train_files[0])
    result = _run(["show", path, "--index", "2", "-o", "one.png"])
    assert result.exception is None and result.return_value == 0, result.output
    record = records_of([path])[2]
    expected = grid([draw_record(FeatureView.from_payload(record.payload), max_side=640)],
                    [f"{Path(path).name} · record 2"])
    written = Image.open("one.png").convert("RGB")
    assert written.size == expected.size
    assert np.array_equal(np.asarray(written), np.asarray(expected))


def test_show_names_boxes_from_a_label_map(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dataset = make_dataset("ds", n_train=4, n_eval=2)
    Path("renamed.pbtxt").write_text("".join(
        f"item {{\n  id: {i + 1}\n  name: 'label {name.upper()}'\n}}\n"
        for i, name in enumerate(dataset.classes)))
    path = str(dataset.train_files[0])
    result = _run(["show", path, "--index", "0", "--label-map", "renamed.pbtxt", "-o", "n.png"])
    assert result.exception is None, result.output
    view = FeatureView.from_payload(records_of([path])[0].payload)
    names = {i + 1: f"label {name.upper()}" for i, name in enumerate(dataset.classes)}
    caption = [f"{Path(path).name} · record 0"]
    written = np.asarray(Image.open("n.png").convert("RGB"))
    named = np.asarray(grid([draw_record(view, names, max_side=640)], caption))
    default = np.asarray(grid([draw_record(view, max_side=640)], caption))
    assert np.array_equal(written, named) and not np.array_equal(written, default)


def test_show_refuses_a_broken_label_map(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    dataset = make_dataset("ds", n_train=4, n_eval=2)
    Path("broken.pbtxt").write_text("item {\n  id: 1\n  name: ‘cat’\n}\n")
    with pytest.raises(SystemExit) as exit_:
        main(["show", str(dataset.train_files[0]), "--label-map", "broken.pbtxt"])
    assert exit_.value.code == 2
    assert "cannot use the label map broken.pbtxt" in capsys.readouterr().err


def test_show_offset_draws_the_record_a_finding_points_at(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dataset = make_dataset("ds", n_train=8, n_eval=2)
    path = str(dataset.train_files[0])
    record = records_of([path])[3]
    assert _run(["show", path, "--offset", str(record.offset), "-o", "at.png"]).return_value == 0
    assert _run(["show", path, "--index", "3", "-o", "index.png"]).return_value == 0
    at, index = (np.asarray(Image.open(n).convert("RGB")) for n in ("at.png", "index.png"))
    assert at.shape == index.shape
    picture_rows = at.shape[0] - 40  # the captions differ; the pictures do not
    assert np.array_equal(at[:picture_rows], index[:picture_rows])


def test_show_grid_lays_out_count_records_across_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_dataset("ds", n_train=6, n_eval=2)  # 3 + 3 train records, 2 eval
    result = _run(["show", "ds/data", "--grid", "--count", "7", "--size", "100",
                   "-o", "grid.png"])
    assert result.exception is None, result.output
    assert "7 record(s) from 3 file(s)" in result.output
    assert Image.open("grid.png").size == (3 * 108 + 8, 3 * 128 + 8)


@pytest.mark.parametrize("args,message", [
    (["show", "missing.tfrecord"], "does not exist"),
    (["show", "ds/data", "--index", "999"], "no record 999"),
    (["show", "ds/data", "--offset", "5"], "--offset needs exactly one record file"),
])
def test_show_refuses_bad_requests_cleanly(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    make_dataset("ds", n_train=4, n_eval=2)
    monkeypatch.setattr(sys, "argv", ["tfod-doctor", *args])
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
