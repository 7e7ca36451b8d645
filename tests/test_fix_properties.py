"""``fix`` never loses a readable record; EXIF box turns agree with Pillow; bad input is a
clean message."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from tfod_doctor.api import fix
from tfod_doctor.cli import main
from tfod_doctor.records import Bytes, Floats, Ints, encode_example, salvage, write_records
from tfod_doctor.repair import MANIFEST
from tfod_doctor.repair.transforms import box_to_stored_frame
from tfod_doctor.testing.images import make_image

IMAGE = make_image(32, 24, "jpeg")
#: Record contents a fix may have to repair (and a clean one).
KINDS = ["clean", "pixels", "inverted", "nan", "float_labels", "no_source_id", "not_example"]


def record(kind: str, index: int) -> bytes:
    """One payload of ``kind``."""
    if kind == "not_example":
        return b"\xff\xfe not a tf.Example " + bytes([index % 256])
    box = [0.1, 0.2, 0.5, 0.6]
    if kind == "pixels":
        box = [2.4, 6.4, 12.0, 19.2]
    elif kind == "inverted":
        box = [0.5, 0.2, 0.1, 0.6]
    elif kind == "nan":
        box = [float("nan"), 0.2, 0.5, 0.6]
    labels = Floats([1.0]) if kind == "float_labels" else Ints([1])
    features = {
        "image/encoded": Bytes([IMAGE]), "image/format": Bytes(["jpeg"]),
        "image/height": Ints([24]), "image/width": Ints([32]),
        "image/object/bbox/ymin": Floats([box[0]]), "image/object/bbox/xmin": Floats([box[1]]),
        "image/object/bbox/ymax": Floats([box[2]]), "image/object/bbox/xmax": Floats([box[3]]),
        "image/object/class/label": labels,
    }
    if kind != "no_source_id":
        features["image/source_id"] = Bytes([f"img-{index}"])
    return encode_example(features)


def damage(data: bytes, rng: random.Random, cuts: int) -> bytes:
    """Flip a few bytes (bad CRCs, bad lengths) and maybe cut the end off."""
    raw = bytearray(data)
    for _ in range(cuts):
        raw[rng.randrange(len(raw))] ^= 0xFF
    if rng.random() < 0.3:
        raw = raw[: rng.randrange(len(raw) // 2, len(raw))]
    return bytes(raw)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=12),
       seed=st.integers(0, 10_000), cuts=st.integers(0, 3), drop=st.booleans())
def test_fix_never_loses_a_readable_record(tmp_path_factory, kinds, seed, cuts, drop):
    folder = tmp_path_factory.mktemp("prop")
    path = folder / "in" / "data.tfrecord"
    path.parent.mkdir()
    write_records(path, [record(kind, i) for i, kind in enumerate(kinds)])
    path.write_bytes(damage(path.read_bytes(), random.Random(seed), cuts))
    with salvage(str(path)) as found:
        readable = [(r.index, r.payload) for r in found]

    result = fix([str(path)], folder / "out", apply=True, drop_unfixable=drop, num_shards=2)

    lines = [json.loads(line) for line in (folder / "out" / MANIFEST).read_text().splitlines()]
    accounted = {line["index"] for line in lines if "index" in line}
    assert accounted == {index for index, _ in readable}
    dropped = [line for line in lines if "dropped" in line]
    assert all(line["dropped"] for line in dropped)  # every drop says why
    if not drop:
        assert not dropped
    written = [line for line in lines if "output" in line]
    out_payloads = {}
    for name in {line["output"] for line in written}:
        with salvage(str(folder / "out" / name)) as found:
            out_payloads[name] = [r.payload for r in found]
    assert sum(map(len, out_payloads.values())) == len(written) == result.records.records_out
    for line in written:
        assert line["output_index"] < len(out_payloads[line["output"]])
        if not line["changes"]:  # untouched records are copied byte for byte
            original = dict(readable)[line["index"]]
            assert out_payloads[line["output"]][line["output_index"]] == original


def _bright_spot(image: Image.Image) -> tuple[float, float]:
    """The centre of the white square, normalized ``(x, y)``."""
    pixels = np.asarray(image.convert("L"), dtype=np.float64)
    ys, xs = np.nonzero(pixels > 128)
    return (xs.mean() + 0.5) / image.width, (ys.mean() + 0.5) / image.height


@pytest.mark.parametrize("orientation", range(2, 9))
def test_boxes_turn_into_the_stored_frame_as_pillow_turns_the_pixels(orientation):
    stored = Image.new("RGB", (60, 40))
    stored.paste((255, 255, 255), (6, 4, 18, 12))  # a white square near the top left
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", exif=exif.tobytes(), quality=100)
    displayed = ImageOps.exif_transpose(Image.open(io.BytesIO(buffer.getvalue())))
    x, y = _bright_spot(displayed)
    box = box_to_stored_frame((y - 0.01, x - 0.01, y + 0.01, x + 0.01), orientation)
    sx, sy = _bright_spot(stored)
    assert abs((box[1] + box[3]) / 2 - sx) < 0.02 and abs((box[0] + box[2]) / 2 - sy) < 0.03


def test_cli_help_has_examples(capsys):
    with pytest.raises(SystemExit) as done:
        main(["fix", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "Examples:" in out and "--apply" in out and "--box-layout" in out


@pytest.mark.parametrize("args, message", [
    (["missing.tfrecord", "--out", "o"], "missing.tfrecord"),
    (["x.tfrecord", "--out", "o", "--rename", "nonsense"], "--rename takes OLD=NEW"),
])
def test_cli_bad_arguments_are_clean_messages(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.tfrecord").write_bytes(b"")
    with pytest.raises(SystemExit) as done:
        main(["fix", *args])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_file_that_is_no_tfrecord_is_reported_and_the_rest_fixed(tmp_path, capsys):
    good = tmp_path / "in" / "good.tfrecord"
    good.parent.mkdir()
    write_records(good, [record("pixels", 0)])
    photo = tmp_path / "in" / "photo.tfrecord"
    photo.write_bytes(IMAGE)
    with pytest.raises(SystemExit) as done:
        main(["fix", str(good), str(photo), "--out", str(tmp_path / "out"), "--apply"])
    assert done.value.code == 1
    out = capsys.readouterr().out
    assert "not a TFRecord file" in out and "JPEG" in out
    lines = [json.loads(line) for line in (tmp_path / "out" / MANIFEST).read_text().splitlines()]
    assert f"{photo} is not a TFRecord file" in out
    assert any(line.get("salvage", {}).get("error", "").startswith(f"{photo} is not a TFRecord")
               for line in lines)
    assert (tmp_path / "out" / "good-00000-of-00001.tfrecord").exists()


def test_plan_as_json(tmp_path, capsys):
    path = tmp_path / "in" / "data.tfrecord"
    path.parent.mkdir()
    write_records(path, [record("pixels", 0), record("inverted", 1), record("clean", 2)])
    with pytest.raises(SystemExit) as done:
        main(["fix", str(path), "--out", str(tmp_path / "out"), "--format", "json"])
    assert done.value.code == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["applied"] is False and plan["records_in"] == 3
    assert {(c["rule"], c["records"]) for c in plan["changes"]} == {("B005", 1), ("B006", 1)}
    assert not Path(tmp_path / "out").exists()


def test_fill_text_writes_names_from_the_ids(tmp_path, tf_oracle):
    path = tmp_path / "in" / "data.tfrecord"
    path.parent.mkdir()
    write_records(path, [record("clean", 0), record("clean", 1)])
    label_map = tmp_path / "in" / "label_map.pbtxt"
    label_map.write_text('item {\n  id: 1\n  name: "cat"\n}\n')
    plain = fix([str(path)], tmp_path / "plain", apply=True, label_map=label_map)
    assert plain.records.records_by_change == {}  # without --fill-text nothing changes
    fix([str(path)], tmp_path / "out", apply=True, label_map=label_map, fill_text=True)
    payloads, error = tf_oracle.tf_read_records(tmp_path / "out" / "data-00000-of-00001.tfrecord")
    assert error is None and len(payloads) == 2
    for payload in payloads:
        parsed = tf_oracle.tf_parse(payload)
        assert parsed["image/object/class/text"].tolist() == [b"cat"]
        assert parsed["image/object/class/label"].tolist() == [1]


def test_progress_counts_both_passes_up_to_the_total(tmp_path):
    path = tmp_path / "in" / "data.tfrecord"
    path.parent.mkdir()
    write_records(path, [record("pixels", i) for i in range(5)])
    totals, steps = [], []
    fix([str(path)], tmp_path / "out", apply=True, progress=steps.append,
        on_total=totals.append)
    assert totals == [2 * path.stat().st_size]
    assert sum(steps) == totals[0]


def test_a_dropped_box_takes_its_keypoints_and_mask_with_it(tmp_path):
    from tfod_doctor.records import FeatureView

    features = {
        "image/encoded": Bytes([IMAGE]), "image/format": Bytes(["jpeg"]),
        "image/height": Ints([24]), "image/width": Ints([32]),
        "image/source_id": Bytes(["a"]),
        "image/object/bbox/ymin": Floats([0.1, float("nan"), 0.3]),
        "image/object/bbox/xmin": Floats([0.1, 0.2, 0.3]),
        "image/object/bbox/ymax": Floats([0.5, 0.6, 0.7]),
        "image/object/bbox/xmax": Floats([0.5, 0.6, 0.7]),
        "image/object/class/label": Ints([1, 2, 3]),
        "image/object/keypoint/x": Floats([0.11, 0.12, 0.21, 0.22, 0.31, 0.32]),
        "image/object/keypoint/y": Floats([0.11, 0.12, 0.21, 0.22, 0.31, 0.32]),
        "image/object/mask": Bytes([b"m0", b"m1", b"m2"]),
    }
    path = tmp_path / "in" / "data.tfrecord"
    path.parent.mkdir()
    write_records(path, [encode_example(features)])
    fix([str(path)], tmp_path / "out", apply=True)
    with salvage(str(tmp_path / "out" / "data-00000-of-00001.tfrecord")) as found:
        (out,) = [FeatureView.from_payload(r.payload) for r in found]
    assert list(out["image/object/class/label"]) == [1, 3]
    assert [round(v, 2) for v in out["image/object/keypoint/x"]] == [0.11, 0.12, 0.31, 0.32]
    assert list(out["image/object/mask"]) == [b"m0", b"m2"]


def test_a_label_map_given_as_the_input_is_a_clean_message(tmp_path, capsys):
    label_map = tmp_path / "label_map.pbtxt"
    label_map.write_text('item {\n  id: 1\n  name: "cat"\n}\n')
    with pytest.raises(SystemExit) as done:
        main(["fix", str(label_map), "--out", str(tmp_path / "out")])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "has no train_input_reader" in err and "Traceback" not in err
