"""The anchor analysis: anchors and feature maps as the OD API makes them, the best IoU of a
box with any anchor, and the A03x rules on the model zoo's configs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tfod_doctor.config.pipeline import read_pipeline
from tfod_doctor.model.anchors import model_anchors

ZOO = Path(__file__).parent / "data" / "zoo_configs"
SSD_MOBILENET = "ssd_mobilenet_v2_320x320_coco17_tpu-8.config"
SSD_RESNET_FPN = "ssd_resnet50_v1_fpn_640x640_coco17_tpu-8.config"
EFFICIENTDET = "ssd_efficientdet_d0_512x512_coco17_tpu-8.config"
FASTER_RCNN = "faster_rcnn_resnet50_v1_640x640_coco17_tpu-8.config"
CENTER_NET = "centernet_resnet101_v1_fpn_512x512_coco17_tpu-8.config"


def zoo(name: str):
    config, _ = read_pipeline(ZOO / name)
    return config


# -- the OD API's own anchors ------------------------------------------------------------------


def _od_api_anchors(name: str, shapes: list[tuple[int, int]], canvas: tuple[int, int]):
    """The anchors the OD API's generator, built as its builder builds it, makes (per layer)."""
    tf = pytest.importorskip("tensorflow", reason="TensorFlow is the oracle for the anchors")
    generators = pytest.importorskip(
        "object_detection.anchor_generators.multiple_grid_anchor_generator",
        reason="the OD API's package (tf-models-research-object-detection) is the oracle")
    from object_detection.anchor_generators import grid_anchor_generator as grid
    from object_detection.anchor_generators import multiscale_grid_anchor_generator as multi

    if name == SSD_MOBILENET:
        generator = generators.create_ssd_anchors(
            num_layers=6, min_scale=0.2, max_scale=0.95,
            aspect_ratios=[1.0, 2.0, 0.5, 3.0, 0.3333])
        lists = generator.generate(shapes, im_height=canvas[0], im_width=canvas[1])
    elif name == SSD_RESNET_FPN:
        generator = multi.MultiscaleGridAnchorGenerator(3, 7, 4.0, [1.0, 2.0, 0.5], 2)
        lists = generator.generate(shapes, im_height=canvas[0], im_width=canvas[1])
    elif name == EFFICIENTDET:
        generator = multi.MultiscaleGridAnchorGenerator(3, 7, 4.0, [1.0, 2.0, 0.5], 3)
        lists = generator.generate(shapes, im_height=canvas[0], im_width=canvas[1])
    else:
        generator = grid.GridAnchorGenerator(
            scales=[0.25, 0.5, 1.0, 2.0], aspect_ratios=[0.5, 1.0, 2.0],
            base_anchor_size=[256, 256], anchor_stride=[16, 16], anchor_offset=[0, 0])
        lists = generator.generate(shapes)
    with tf.device("/cpu:0"):
        return [np.asarray(boxes.get()) for boxes in lists]


@pytest.mark.parametrize("name, canvas, layers", [
    (SSD_MOBILENET, (300, 300), [(19, 19), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)]),
    (SSD_RESNET_FPN, (640, 640), [(80, 80), (40, 40), (20, 20), (10, 10), (5, 5)]),
    (EFFICIENTDET, (512, 512), [(64, 64), (32, 32), (16, 16), (8, 8), (4, 4)]),
    (FASTER_RCNN, (640, 640), [(40, 40)]),
])
def test_anchors_are_the_od_api_anchors(name, canvas, layers):
    config = zoo(name)
    ours = model_anchors(config.arch, config.arch_node, canvas)
    assert [layer.grid for layer in ours.layers] == layers
    theirs = _od_api_anchors(name, layers, canvas)
    assert [layer.count for layer in ours.layers] == [len(boxes) for boxes in theirs]
    normalized = name != FASTER_RCNN
    expected = np.concatenate(theirs)
    got = ours.corners(normalized=normalized)
    assert got.shape == expected.shape
    picks = np.random.default_rng(0).choice(len(expected), size=500, replace=False)
    scale = 1.0 if normalized else float(canvas[0])
    np.testing.assert_allclose(got[picks] / scale, expected[picks] / scale, atol=1e-5)


FLEXIBLE = """
model { ssd { anchor_generator { flexible_grid_anchor_generator {
  anchor_grid { base_sizes: [16, 24, 32] aspect_ratios: [1.0, 2.0, 0.5]
                height_stride: 8 width_stride: 8 height_offset: 4 width_offset: 4 }
  anchor_grid { base_sizes: [64, 96] aspect_ratios: [1.0, 3.0]
                height_stride: 32 width_stride: 32 }
} } } }
"""

SSD_NON_SQUARE = """
model { ssd { anchor_generator { ssd_anchor_generator {
  num_layers: 6 min_scale: 0.15 max_scale: 0.9 aspect_ratios: [1.0, 2.0, 0.5]
  reduce_boxes_in_lowest_layer: false
} } } }
"""


def test_flexible_grid_and_non_square_ssd_anchors_are_the_od_api_anchors():
    pytest.importorskip("tensorflow", reason="TensorFlow is the oracle for the anchors")
    pytest.importorskip("object_detection.anchor_generators.flexible_grid_anchor_generator",
                        reason="the OD API's package (tf-models-research-object-detection) is "
                               "the oracle")
    from object_detection.anchor_generators import flexible_grid_anchor_generator as flexible
    from object_detection.anchor_generators import multiple_grid_anchor_generator as multiple

    from tfod_doctor.config.pipeline import parse_pipeline

    canvas = (256, 384)
    config, _ = parse_pipeline(FLEXIBLE, "flexible.config")
    ours = model_anchors(config.arch, config.arch_node, canvas)
    generator = flexible.FlexibleGridAnchorGenerator(
        [(16, 24, 32), (64, 96)], [(1.0, 2.0, 0.5), (1.0, 3.0)], [(8, 8), (32, 32)],
        [(4, 4), (0, 0)], normalize_coordinates=True)
    theirs = generator.generate([layer.grid for layer in ours.layers], im_height=canvas[0],
                                im_width=canvas[1])
    np.testing.assert_allclose(ours.corners(), np.concatenate([b.get() for b in theirs]),
                               atol=1e-5)
    config, _ = parse_pipeline(SSD_NON_SQUARE, "ssd.config")
    ours = model_anchors(config.arch, config.arch_node, canvas)
    assert [layer.grid for layer in ours.layers] == [(16, 24), (8, 12), (4, 6), (2, 3),
                                                     (1, 2), (1, 1)]
    generator = multiple.create_ssd_anchors(num_layers=6, min_scale=0.15, max_scale=0.9,
                                            aspect_ratios=[1.0, 2.0, 0.5],
                                            reduce_boxes_in_lowest_layer=False)
    theirs = generator.generate([layer.grid for layer in ours.layers], im_height=canvas[0],
                                im_width=canvas[1])
    np.testing.assert_allclose(ours.corners(), np.concatenate([b.get() for b in theirs]),
                               atol=1e-5)


# -- the best IoU of a box ---------------------------------------------------------------------


def _brute_force(boxes: np.ndarray, anchors) -> np.ndarray:
    """The best IoU of each box with every anchor, one by one (the definition)."""
    corners = anchors.corners(normalized=False)
    height, width = anchors.canvas
    if anchors.window == "clip":
        corners = np.clip(corners, 0, [height, width, height, width])
    elif anchors.window == "prune":
        inside = ((corners[:, 0] >= 0) & (corners[:, 1] >= 0) & (corners[:, 2] <= height)
                  & (corners[:, 3] <= width))
        corners = corners[inside]
    top = np.maximum(boxes[:, None, 0], corners[None, :, 0])
    left = np.maximum(boxes[:, None, 1], corners[None, :, 1])
    bottom = np.minimum(boxes[:, None, 2], corners[None, :, 2])
    right = np.minimum(boxes[:, None, 3], corners[None, :, 3])
    inter = np.maximum(bottom - top, 0) * np.maximum(right - left, 0)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    anchor_areas = (corners[:, 2] - corners[:, 0]) * (corners[:, 3] - corners[:, 1])
    union = areas[:, None] + anchor_areas[None, :] - inter
    return (inter / union).max(axis=1)


def _random_boxes(rng, canvas: tuple[int, int], n: int) -> np.ndarray:
    """Boxes of every size from 2 pixels to the whole input, anywhere in it."""
    height, width = canvas
    sizes = np.exp(rng.uniform(np.log(2), np.log(min(canvas)), size=(n, 2)))
    sizes *= np.exp(rng.uniform(-0.7, 0.7, size=(n, 2)))
    sizes = np.minimum(sizes, [height, width])
    top = rng.uniform(0, 1, n) * (height - sizes[:, 0])
    left = rng.uniform(0, 1, n) * (width - sizes[:, 1])
    return np.stack([top, left, top + sizes[:, 0], left + sizes[:, 1]], axis=1)


@pytest.mark.parametrize("name, canvas, window", [
    (SSD_MOBILENET, (300, 300), None),
    (SSD_RESNET_FPN, (320, 320), None),
    (EFFICIENTDET, (300, 200), None),
    (FASTER_RCNN, (320, 256), "clip"),
    (FASTER_RCNN, (320, 256), "prune"),
])
def test_best_iou_is_the_best_over_every_anchor(name, canvas, window):
    from dataclasses import replace

    from tfod_doctor.model.matching import best_iou

    config = zoo(name)
    anchors = model_anchors(config.arch, config.arch_node, canvas)
    if window is not None:
        anchors = replace(anchors, window=window)
    boxes = _random_boxes(np.random.default_rng(1), canvas, 1500)
    ours, index, runner_up = best_iou(boxes, anchors)
    np.testing.assert_allclose(ours, _brute_force(boxes, anchors), atol=1e-12)
    # The anchor named is one that reaches that IoU.
    corners = anchors.corners(normalized=False)
    if window is None:
        assert np.all(index >= 0)
        np.testing.assert_allclose(_brute_force_pairs(boxes, corners[index]), ours, atol=1e-12)
        # The runner-up is the best IoU with every other anchor.
        others = np.array([_brute_force_pairs(np.repeat(box[None], len(corners), 0),
                                              corners) for box in boxes[:150]])
        others[np.arange(150), index[:150]] = -1
        np.testing.assert_allclose(runner_up[:150], others.max(axis=1), atol=1e-12)


@pytest.mark.parametrize("name, canvas", [
    (SSD_MOBILENET, (300, 300)), (SSD_RESNET_FPN, (320, 320)), (EFFICIENTDET, (300, 200))])
def test_all_shapes_at_once_names_the_anchor_shape_by_shape_does(name, canvas):
    """SSD's anchors (kept as they are) are worked out every shape at once, with one candidate
    per shape; the shape-by-shape search (which Faster R-CNN's windows need) is the reference:
    the same IoU, runner-up and anchor, also for boxes centred exactly between two anchors."""
    from tfod_doctor.model import matching

    config = zoo(name)
    anchors = model_anchors(config.arch, config.arch_node, canvas)
    rng = np.random.default_rng(7)
    boxes = _random_boxes(rng, canvas, 2000)
    # Centred on the midpoint between two centres of the first layer: a tie along an axis.
    layer = anchors.layers[0]
    mid = (np.arange(4) + 0.5) * layer.stride[0] + layer.offset[0]
    side = layer.heights[0]
    ties = np.array([[c - side / 2, c - side / 2, c + side / 2, c + side / 2] for c in mid])
    boxes = np.concatenate([boxes, ties, [[-50.0, -50.0, canvas[0] + 50.0, canvas[1] + 50.0]]])
    fast = matching._best_of_all_shapes(boxes, anchors)
    slow = matching._best_shape_by_shape(boxes, anchors)
    np.testing.assert_allclose(fast[0], slow[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(fast[2], slow[2], rtol=0, atol=1e-12)
    clear = slow[2] < slow[0] - 1e-9
    assert clear.sum() > 300
    np.testing.assert_array_equal(fast[1][clear], slow[1][clear])
    # Where two anchors tie, the one named still reaches the best IoU.
    corners = anchors.corners(normalized=False)
    np.testing.assert_allclose(_brute_force_pairs(boxes, corners[fast[1]]), fast[0], atol=1e-12)


def _brute_force_pairs(boxes: np.ndarray, corners: np.ndarray) -> np.ndarray:
    top, left = np.maximum(boxes[:, 0], corners[:, 0]), np.maximum(boxes[:, 1], corners[:, 1])
    bottom = np.minimum(boxes[:, 2], corners[:, 2])
    right = np.minimum(boxes[:, 3], corners[:, 3])
    inter = np.maximum(bottom - top, 0) * np.maximum(right - left, 0)
    union = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
             + (corners[:, 2] - corners[:, 0]) * (corners[:, 3] - corners[:, 1]) - inter)
    return inter / union


# -- the rules on the model zoo's configs, through check ---------------------------------------


def _small_object_dataset(tmp_path: Path, config_name: str, *, side_px: float,
                          image: tuple[int, int] = (1280, 720), n_records: int = 12,
                          per_image: int = 6, edits: dict[str, str] | None = None,
                          shards: int = 1) -> Path:
    """Records of ``image``-sized pictures (width, height) holding ``per_image`` square-ish
    boxes of ``side_px`` pixels each, in two classes, and the zoo config pointed at them."""
    from tfod_doctor.records import encode_example, write_records
    from tfod_doctor.testing.images import make_image
    from tfod_doctor.testing.samples import Box, Sample

    width, height = image
    picture = make_image(width, height)
    rng = np.random.default_rng(7)
    payloads = []
    for index in range(n_records):
        boxes = []
        for k in range(per_image):
            top = rng.uniform(0, height - side_px - 1)
            left = rng.uniform(0, width - side_px - 1)
            label, text = (1, "bolt") if k % 2 == 0 else (2, "nut")
            boxes.append(Box(top / height, left / width, (top + side_px) / height,
                             (left + side_px * 1.2) / width, label, text))
        sample = Sample(picture, width, height, "jpeg", f"{index}.jpg", str(index), boxes)
        payloads.append(encode_example(sample.features()))
    for shard in range(shards):
        write_records(tmp_path / f"train-{shard}.tfrecord", payloads[shard::shards])
    write_records(tmp_path / "eval.tfrecord", payloads[:2])
    (tmp_path / "label_map.pbtxt").write_text(
        "item { id: 1 name: 'bolt' }\nitem { id: 2 name: 'nut' }\n")
    text = (ZOO / config_name).read_text()
    text = text.replace("num_classes: 90", "num_classes: 2")
    text = text.replace("PATH_TO_BE_CONFIGURED/label_map.txt", str(tmp_path / "label_map.pbtxt"))
    text = re.sub(r'"PATH_TO_BE_CONFIGURED/train2017[^"]*"', f'"{tmp_path / "train-*.tfrecord"}"',
                  text)
    text = re.sub(r'"PATH_TO_BE_CONFIGURED/val2017[^"]*"', f'"{tmp_path / "eval.tfrecord"}"',
                  text)
    for old, new in (edits or {}).items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "pipeline.config"
    path.write_text(text)
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _cli_json(config: Path, tmp_path: Path) -> tuple[int, dict]:
    """``tfod-doctor check CONFIG --format json -o report.json``: exit code and report."""
    from tfod_doctor.cli import main

    out = tmp_path / "report.json"
    with pytest.raises(SystemExit) as exited:
        main(["check", str(config), "--format", "json", "--output", str(out), "--workers", "1"])
    return exited.value.code, json.loads(out.read_text())


def test_small_objects_with_the_zoo_ssd_mobilenet_v2_say_how_many_are_never_matched(tmp_path):
    """The issue's case: 8-pixel objects in 1280x720 photos, the zoo's SSD MobileNet V2
    '320x320' config (its resizer says 300x300): 2 to 3 pixels after the resize, where the
    smallest anchors are 30 pixels, 16 apart."""
    config = _small_object_dataset(tmp_path, SSD_MOBILENET, side_px=8)
    code, report = _cli_json(config, tmp_path)
    assert code == 1  # warnings and more
    anchors = report["stats"]["model"]["anchors"]
    assert anchors["resizer"] == "fixed_shape_resizer 300x300"
    assert anchors["boxes"] == 12 * 6
    # force_match_for_each_row gives every box one anchor, with a poor IoU: no anchor of 30
    # px reaches 0.5 with a 2-pixel box.
    poor = [f for f in report["findings"] if f["rule"] == "A031"]
    assert {f["evidence"]["class"]: f["evidence"]["count"] for f in poor} == {
        "1 'bolt'": 36, "2 'nut'": 36}
    assert anchors["forced"] + anchors["never"] == 72
    first = poor[0]
    assert first["severity"] == "warning"
    assert first["location"]["line"] == _line_of(config, "ssd_anchor_generator")
    assert "300x300" in first["message"] and "<8 px: 36" in first["message"]
    assert "median 0.0" in first["message"]
    assert "larger" in first["hint"] and "min_scale" in first["hint"]
    # Without force_match_for_each_row, the same boxes are never matched: data loss.
    (tmp_path / "off").mkdir()
    config = _small_object_dataset(tmp_path / "off", SSD_MOBILENET, side_px=8, edits={
        "force_match_for_each_row: true": "force_match_for_each_row: false"})
    code, report = _cli_json(config, tmp_path / "off")
    never = [f for f in report["findings"] if f["rule"] == "A030"]
    assert {f["evidence"]["class"]: f["evidence"]["count"] for f in never} == {
        "1 'bolt'": 36, "2 'nut'": 36}
    assert never[0]["severity"] == "data-loss" and code == 1
    assert never[0]["location"]["line"] == _line_of(config, "force_match_for_each_row")
    assert "never matched" in never[0]["message"]
    assert "force_match_for_each_row is off" in never[0]["message"]


def test_large_objects_with_the_zoo_ssd_mobilenet_v2_stay_quiet(tmp_path):
    config = _small_object_dataset(tmp_path, SSD_MOBILENET, side_px=300)
    _, report = _cli_json(config, tmp_path)
    assert not [f for f in report["findings"] if f["rule"].startswith("A03")]
    assert report["stats"]["model"]["anchors"]["never"] == 0


@pytest.mark.parametrize("config_name", [SSD_RESNET_FPN, EFFICIENTDET, FASTER_RCNN])
def test_anchor_rules_on_zoo_configs_fire_on_tiny_boxes_and_not_on_medium_ones(
        config_name, tmp_path):
    (tmp_path / "tiny").mkdir()
    (tmp_path / "medium").mkdir()
    tiny = _small_object_dataset(tmp_path / "tiny", config_name, side_px=3)
    medium = _small_object_dataset(tmp_path / "medium", config_name, side_px=160)
    _, report = _cli_json(tiny, tmp_path / "tiny")
    fired = {f["rule"] for f in report["findings"]}
    assert fired & {"A030", "A031"}
    for finding in report["findings"]:
        if finding["rule"] == "A031":
            generator = ("first_stage_anchor_generator" if config_name == FASTER_RCNN
                         else "anchor_generator {")
            # The generator's own block, inside the line that names the field.
            assert finding["location"]["line"] == _line_of(tiny, generator) + 1
    _, report = _cli_json(medium, tmp_path / "medium")
    assert not [f for f in report["findings"] if f["rule"].startswith("A03")]


def test_center_net_zoo_config_reports_boxes_under_the_output_stride(tmp_path):
    (tmp_path / "tiny").mkdir()
    (tmp_path / "medium").mkdir()
    tiny = _small_object_dataset(tmp_path / "tiny", CENTER_NET, side_px=12)
    _, report = _cli_json(tiny, tmp_path / "tiny")
    found = [f for f in report["findings"] if f["rule"] == "A032"]
    assert {f["evidence"]["class"] for f in found} == {"1 'bolt'", "2 'nut'"}
    assert {f["location"]["line"] for f in found} == {
        _line_of(tiny, "keep_aspect_ratio_resizer")}
    # 12 px in 1280x720, resized to 512 wide: under 5 px, under two cells of stride 4.
    assert all(f["evidence"]["count"] == 36 for f in found)
    medium = _small_object_dataset(tmp_path / "medium", CENTER_NET, side_px=40)
    _, report = _cli_json(medium, tmp_path / "medium")
    assert not [f for f in report["findings"] if f["rule"].startswith("A03")]


def test_html_report_plots_box_sizes_against_the_anchors(tmp_path):
    """The HTML report draws the boxes after the resize against the anchor shapes, coloured by
    their best IoU."""
    import base64

    from tfod_doctor.cli import main

    config = _small_object_dataset(tmp_path, SSD_MOBILENET, side_px=8)
    page_path = tmp_path / "report.html"
    with pytest.raises(SystemExit):
        main(["check", str(config), "--format", "html", "--output", str(page_path),
              "--workers", "1"])
    page = page_path.read_text()
    title = "Box sizes after the resize, against the anchors"
    found = re.search(r'<h3>' + re.escape(title) + r'</h3><img src="data:image/svg\+xml;base64,'
                      r'([^"]+)"', page)
    assert found, "no anchor plot in the HTML report"
    svg = base64.b64decode(found.group(1)).decode()
    for text in ("best IoU with an anchor", "anchor shapes", "box width after the resize"):
        assert text in svg


def test_large_datasets_are_sampled_by_whole_records_the_same_in_any_order(tmp_path,
                                                                            monkeypatch):
    from tfod_doctor.api import check_plan
    from tfod_doctor.checks import box_sample
    from tfod_doctor.engine import finish
    from tfod_doctor.engine.local import run_sequential

    config = _small_object_dataset(tmp_path, SSD_MOBILENET, side_px=8, n_records=60, shards=4)
    monkeypatch.setattr(box_sample, "MAX_BOXES", 100)
    sections = []
    for order in (1, -1):
        plan, ctx = check_plan(config)
        merged = run_sequential(plan.items[::order], ctx)
        sections.append(finish(plan, merged, ctx).stats["model"]["anchors"])
    assert sections[0] == sections[1]
    anchors = sections[0]
    assert anchors["sampled"] and anchors["dataset_boxes"] == 62 * 6
    # Whole records, up to 100 boxes; the two eval records (12 boxes) may be among them.
    assert 100 - 6 - 12 <= anchors["boxes"] <= 100 and anchors["boxes"] % 6 == 0
    # Every 2-pixel box is never matched or poorly force-matched: scaled, that is every box of
    # the train split, up to rounding.
    assert abs(anchors["never"] + anchors["forced"] - 60 * 6) <= 2


@pytest.mark.parametrize("config_name, old, new", [
    (SSD_MOBILENET, "num_layers: 6", "num_layers: 1"),
    (SSD_MOBILENET, "height: 300", "height: 0"),
    (SSD_RESNET_FPN, "aspect_ratios: [1.0, 2.0, 0.5]", "anchor_scale: 4.0"),
    (FASTER_RCNN, "height_stride: 16", "height_stride: 0"),
])
def test_anchors_training_cannot_make_are_skipped_with_the_reason_not_a_crash(
        config_name, old, new, tmp_path):
    config = _small_object_dataset(tmp_path, config_name, side_px=8, edits={old: new})
    code, report = _cli_json(config, tmp_path)
    assert code in (0, 1)
    assert report["stats"]["model"]["anchors"]["skipped"]
    assert not [f for f in report["findings"] if f["rule"].startswith("A03")]


def test_the_anchor_analysis_is_the_same_with_worker_processes_and_pieces(tmp_path):
    from tfod_doctor.api import check_plan
    from tfod_doctor.engine import execute

    config = _small_object_dataset(tmp_path, SSD_MOBILENET, side_px=8, n_records=30, shards=3)
    sections = []
    for options in ({"workers": 1}, {"workers": 2, "split_bytes": 20_000}):
        plan, ctx = check_plan(config)
        report = execute(plan, ctx, **options)
        sections.append((report.stats["model"]["anchors"],
                         sorted(json.dumps(f.to_dict(), sort_keys=True) for f in report
                                if f.rule.startswith("A03"))))
    assert sections[0] == sections[1]
    assert sections[0][1], "the 2-pixel boxes are reported"


def test_boxes_without_an_image_size_are_skipped_when_the_resize_needs_it(tmp_path):
    """keep_aspect_ratio_resizer needs the image's size: records without image bytes or
    image/width and image/height cannot be resized, and say so."""
    from tfod_doctor.records import encode_example, write_records
    from tfod_doctor.testing.samples import Box, Sample

    config = _small_object_dataset(tmp_path, EFFICIENTDET, side_px=8)
    sample = Sample(b"", 0, 0, "jpeg", "x.jpg", "x", [Box(0.1, 0.1, 0.2, 0.2, 1, "bolt")])
    features = sample.features()
    for key in ("image/encoded", "image/width", "image/height"):
        del features[key]
    for path in tmp_path.glob("*.tfrecord"):
        write_records(path, [encode_example(features)])
    _, report = _cli_json(config, tmp_path)
    anchors = report["stats"]["model"]["anchors"]
    assert anchors["skipped"] and anchors["skipped_boxes"] == 1


# -- the matcher's verdict, against the OD API's own matcher -----------------------------------


@pytest.mark.parametrize("force", [True, False])
def test_which_boxes_are_matched_is_what_the_od_api_matcher_decides(force):
    """Per image: the OD API's IouSimilarity and ArgMaxMatcher on the anchors of the zoo's
    SSD MobileNet V2; a box it matches to no anchor is NEVER here, and only those."""
    tf = pytest.importorskip("tensorflow", reason="TensorFlow runs the OD API's matcher")
    pytest.importorskip("object_detection.matchers.argmax_matcher",
                        reason="the OD API's package (tf-models-research-object-detection) is "
                               "the oracle")
    from object_detection.core import box_list, region_similarity_calculator
    from object_detection.matchers import argmax_matcher

    from tfod_doctor.model.coverage import NEVER, match_status
    from tfod_doctor.model.matching import Matcher, best_iou

    config = zoo(SSD_MOBILENET)
    anchors = model_anchors(config.arch, config.arch_node, (300, 300))
    corners = tf.constant(anchors.corners(), dtype=tf.float32)
    rng = np.random.default_rng(3)
    images = []
    for _ in range(12):
        # Small, medium and a few crowded tiny boxes, apart from each other.
        tiny = _random_boxes(rng, (300, 300), 6)
        sides = rng.uniform(2, 12, size=(6, 2))
        tiny[:, 2:] = tiny[:, :2] + sides
        images.append(np.concatenate([tiny, _random_boxes(rng, (300, 300), 3)]))
    boxes = np.concatenate(images)
    record = np.repeat(np.arange(len(images)), [len(b) for b in images])
    iou, anchor, runner_up = best_iou(boxes, anchors)
    matcher = Matcher("argmax_matcher", 0.5, 0.5, force, None)
    status = match_status(iou, anchor, np.zeros(len(boxes), dtype=np.int64), record, matcher,
                          runner_up)
    theirs = []
    od_matcher = argmax_matcher.ArgMaxMatcher(0.5, 0.5, force_match_for_each_row=force)
    for image in images:
        gt = box_list.BoxList(tf.constant(image / 300.0, dtype=tf.float32))
        similarity = region_similarity_calculator.IouSimilarity().compare(
            gt, box_list.BoxList(corners))
        matched = set(od_matcher.match(similarity).matched_row_indices().numpy().tolist())
        theirs += [row in matched for row in range(len(image))]
    ours = (status != NEVER).tolist()
    crowded = _overlapping(images)
    # Boxes that overlap another box of their image may lose an above-threshold anchor to it,
    # which is not modelled; every other box must agree.
    disagree = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
                if a != b and not crowded[i]]
    assert not disagree
    assert any(not matched for matched in theirs), "some tiny boxes are never matched"


def _overlapping(images: list[np.ndarray]) -> list[bool]:
    flags = []
    for image in images:
        top = np.maximum(image[:, None, 0], image[None, :, 0])
        left = np.maximum(image[:, None, 1], image[None, :, 1])
        bottom = np.minimum(image[:, None, 2], image[None, :, 2])
        right = np.minimum(image[:, None, 3], image[None, :, 3])
        touching = (bottom > top) & (right > left)
        np.fill_diagonal(touching, False)
        flags += touching.any(axis=1).tolist()
    return flags
